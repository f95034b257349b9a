"""Errors a user can cause. Everything else that escapes is a bug."""

from __future__ import annotations


class LicodecError(Exception):
    """Something the user can fix; the CLI prints it as one line and exits 1."""


class CorruptBitstreamError(LicodecError, OSError):
    """The data is truncated, altered, or was never a .lic file.

    Also an :class:`OSError`, what Pillow's own decoders raise for a broken file, so
    code that already catches broken images (through the Pillow plugin too) keeps working.
    """


class UnsupportedFormatVersionError(LicodecError, OSError):
    """The file was written by a licodec whose format this one cannot read (an :class:`OSError` too, as above)."""


class ImageTooLargeError(LicodecError):
    """A file describes more pixels than the decoder's limit: refused before any memory is spent on them."""


class UnknownModelError(LicodecError):
    """A model name that is not in the registry, or a model without shipped weights."""


class WeightsMismatchError(LicodecError):
    """The file was written with other weights than the ones installed under its model name."""


class InvalidImageError(LicodecError):
    """The input could not be read as an image, or is of a kind licodec refuses."""


class TargetUnreachableError(LicodecError):
    """A size target below the smallest file the model can write for this image."""

    def __init__(self, max_bytes: int, smallest_bytes: int) -> None:
        super().__init__(f"cannot fit in {max_bytes} bytes: the smallest file (quality 1) takes {smallest_bytes} bytes")
        self.smallest_bytes = smallest_bytes


class CodecUnavailableError(LicodecError):
    """An optional codec library is not installed."""

    def __init__(self, codec: str, package: str | None = None) -> None:
        hint = f"; try 'pip install {package}'" if package else " on this machine"
        super().__init__(f"{codec} support is not installed{hint}")
        self.codec = codec
