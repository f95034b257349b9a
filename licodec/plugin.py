"""Pillow plugin: ``Image.open("x.lic")`` and ``image.save("x.lic", quality=75)`` after ``import licodec``.

A thin adapter over :mod:`licodec.api`, after Pillow's own format plugins:
``_open`` reads only the header; decoding waits for ``load()``. ``Image.open``
applies Pillow's own ``MAX_IMAGE_PIXELS`` check to the header's size, and a damaged
file raises a :class:`~licodec.errors.CorruptBitstreamError`, which is an ``OSError``
as Pillow's own decoders raise.
"""

from __future__ import annotations

from PIL import Image, ImageFile

from licodec.api import compress, decompress
from licodec.bitstream import looks_like_lic, read_header
from licodec.errors import LicodecError


def _accept(prefix: bytes) -> bool:
    return looks_like_lic(prefix)


class LicImageFile(ImageFile.ImageFile):
    format = "LIC"
    format_description = "licodec learned image compression"

    def _open(self) -> None:
        data = self.fp.read()
        try:
            header = read_header(data)
        except LicodecError as exc:
            raise SyntaxError(str(exc)) from None  # Pillow's "not this format" signal, inside the plugin only
        self._data = data
        self._size = (header.width_px, header.height_px)
        self._mode = header.colour_mode
        self.info["licodec_model"] = header.model_name
        self.info["quality"] = header.quality
        self.tile = []

    def load(self):
        if self._data is not None:
            decoded = decompress(self._data, max_pixels=None)  # Image.open checked the size as Pillow does
            self._data = None
            self.im = decoded.im
            self._mode = decoded.mode
            self.readonly = 0
        return Image.Image.load(self)


def _save(image: Image.Image, fp, filename) -> None:
    options = image.encoderinfo
    fp.write(compress(image, quality=options.get("quality", 75), model=options.get("model")))


def register() -> None:
    Image.register_open(LicImageFile.format, LicImageFile, _accept)
    Image.register_save(LicImageFile.format, _save)
    Image.register_extension(LicImageFile.format, ".lic")
    Image.register_mime(LicImageFile.format, "image/x-licodec")


__all__ = ["LicImageFile", "register"]
