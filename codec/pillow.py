"""Pillow plugin: ``import codec.pillow`` and ``Image.open("x.irr")`` / ``im.save("x.irr", quality=75)`` work.

Registration happens when this module is imported (as Pillow's own plugins do); ``import codec``
alone leaves Pillow's global registry untouched. ``Image.open`` reads only the header; decoding
runs at ``load()``. ``im.draft(mode, size)`` with a size no larger than the stored LR makes
``load()`` return that LR without running the network.
"""

from __future__ import annotations

from typing import IO

from PIL import Image, ImageFile

from bitstream.container import SIGNATURE, unpack
from bitstream.errors import IrrError
from codec import api

FORMAT = "IRR"
MIME = "image/x-irr"


def _accept(prefix: bytes) -> bool:
    return prefix[:8] == SIGNATURE


class IrrImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "irr learned image codec"

    def _open(self) -> None:
        assert self.fp is not None
        self._data = self.fp.read()
        try:
            header = unpack(self._data, header_only=True).header
        except IrrError as e:
            raise SyntaxError(f"not a valid .irr file: {e}") from None
        self._mode = {1: "L", 3: "RGB", 4: "RGBA"}[header.channels]
        self._size = (header.width, header.height)
        self._lr_size = header.lr_size[::-1]
        self._thumbnail = False
        self.info["irr_quality"] = header.quality
        self.info["irr_scale"] = header.scale
        self.tile = []

    def draft(self, mode: str | None, size: tuple[int, int] | None):
        if size is None or self._im is not None:
            return None
        if size[0] <= self._lr_size[0] and size[1] <= self._lr_size[1]:
            self._thumbnail = True
            self._size = self._lr_size
            return self.mode, (0, 0, *self._lr_size)
        return None

    def load(self):
        if self._im is None:
            try:
                decoded = api.decode_file(self._data, thumbnail=self._thumbnail, device="cpu")
            except IrrError as e:
                raise OSError(f"cannot decode .irr: {e}") from None
            for key, value in (("icc_profile", decoded.icc_profile), ("exif", decoded.exif)):
                if value is not None:
                    self.info[key] = value
            self.load_prepare()
            self.frombytes(decoded.array.tobytes())
            self._data = b""
        return Image.Image.load(self)


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    options = im.encoderinfo
    try:
        data = api.encode(im, quality=options.get("quality", api.DEFAULT_QUALITY),
                          scale=options.get("scale", api.DEFAULT_SCALE), lossless=options.get("lossless", False),
                          temperature=options.get("temperature", api.DEFAULT_TEMPERATURE), seed=options.get("seed", 0),
                          keep_metadata=options.get("keep_metadata", True), detail=options.get("detail"))
    except IrrError as e:
        raise OSError(f"cannot encode .irr: {e}") from None
    fp.write(data)


Image.register_open(FORMAT, IrrImageFile, _accept)
Image.register_save(FORMAT, _save)
Image.register_extension(FORMAT, ".irr")
Image.register_mime(FORMAT, MIME)
