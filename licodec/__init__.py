"""licodec: learned image compression that writes real, portable files.

>>> import licodec
>>> data = licodec.compress("photo.png", quality=75)   # bytes of a .lic file
>>> image = licodec.decompress(data)                    # a PIL image
"""

from licodec import plugin as _plugin
from licodec.api import compress, compress_to_size, compress_with, decompress, load_model
from licodec.errors import (
    CodecUnavailableError,
    CorruptBitstreamError,
    ImageTooLargeError,
    InvalidImageError,
    LicodecError,
    TargetUnreachableError,
    UnknownModelError,
    UnsupportedFormatVersionError,
    WeightsMismatchError,
)
from licodec.options import CompressOptions

__version__ = "0.5.0"

_plugin.register()

__all__ = [
    "CodecUnavailableError",
    "CompressOptions",
    "CorruptBitstreamError",
    "ImageTooLargeError",
    "InvalidImageError",
    "LicodecError",
    "TargetUnreachableError",
    "UnknownModelError",
    "UnsupportedFormatVersionError",
    "WeightsMismatchError",
    "compress",
    "compress_to_size",
    "compress_with",
    "decompress",
    "load_model",
]
