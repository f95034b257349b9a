"""licodec: learned image compression that writes real, portable files.

>>> import licodec
>>> data = licodec.compress("photo.png", quality=75)   # bytes of a .lic file
>>> image = licodec.decompress(data)                    # a PIL image
"""

from licodec import plugin as _plugin
from licodec.api import compress, decompress, load_model
from licodec.errors import (
    CodecUnavailableError,
    CorruptBitstreamError,
    InvalidImageError,
    LicodecError,
    UnknownModelError,
    UnsupportedFormatVersionError,
    WeightsMismatchError,
)

__version__ = "0.4.0"

_plugin.register()

__all__ = [
    "compress",
    "decompress",
    "load_model",
    "LicodecError",
    "CorruptBitstreamError",
    "UnsupportedFormatVersionError",
    "UnknownModelError",
    "WeightsMismatchError",
    "InvalidImageError",
    "CodecUnavailableError",
]
