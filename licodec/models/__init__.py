"""Learned codecs: transforms composed with entropy models, registered by stable name."""

from licodec.models.base import LearnedCodec
from licodec.models.config import SHIPPED_CONFIG, TINY, CodecConfig
from licodec.models.registry import (
    ARCHITECTURES,
    DEFAULT_MODEL,
    SHIPPED,
    build_coding_tables,
    create_model,
    load_model,
    load_weights,
    save_weights,
)

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_MODEL",
    "SHIPPED",
    "SHIPPED_CONFIG",
    "TINY",
    "CodecConfig",
    "LearnedCodec",
    "build_coding_tables",
    "create_model",
    "load_model",
    "load_weights",
    "save_weights",
]
