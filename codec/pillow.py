"""Pillow plugin: ``import codec.pillow`` and ``Image.open("x.irr")`` / ``im.save("x.irr", quality=75)`` work.

Registration happens when this module is imported (as Pillow's own plugins do); ``import codec``
alone leaves Pillow's global registry untouched. ``Image.open`` parses the container (header and
metadata in ``info``; a damaged file still opens if its header is sound, and ``verify()`` reports
it); decoding runs at ``load()``. ``save()`` takes the encoder's options and ``icc_profile``,
``exif``, ``xmp``. ``im.draft(mode, size)`` with a size no larger than the stored LR makes
``load()`` return that LR without running the network.
"""

from __future__ import annotations

import dataclasses
from typing import IO

from PIL import Image, ImageFile

from bitstream.container import DEFAULT_MAX_PIXELS, SIGNATURE, unpack
from bitstream.errors import IrrError
from codec import api, metadata
from codec.summary import thumbnail_size
from codec.pixels import Pixels, load

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
        self._damage: IrrError | None = None
        try:
            f = unpack(self._data)  # the whole container (chunk CRCs, IEND): metadata known at open
            header = f.header
            self.info.update(metadata.to_info(metadata.from_container(f)))
        except IrrError as e:
            self._damage = e  # the header may still be readable: open, and let verify()/load() report
            try:
                header = unpack(self._data, header_only=True).header
            except IrrError as e:
                raise SyntaxError(f"not a valid .irr file: {e}") from None
        self._mode = {1: "L", 3: "RGB", 4: "RGBA"}[header.channels]
        self._size = (header.width, header.height)
        self._lr_size = thumbnail_size(header)[::-1]
        self._thumbnail = False
        self.info["irr_quality"] = header.quality
        self.info["irr_scale"] = header.scale
        self.tile = []

    def verify(self) -> None:
        """Check the whole container (every chunk's CRC, the order, IEND and the end of the file)
        without decoding pixels, as PNG's ``verify`` does; SyntaxError names what is wrong."""
        if self._damage is not None:
            raise SyntaxError(f"broken .irr file: {self._damage}")

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
            self.load_prepare()
            self.frombytes(decoded.array.tobytes())
            self._data = b""
        return Image.Image.load(self)


# save() keywords: the encoder's options, and metadata that replaces the image's own (as Pillow's
# JPEG, PNG and WebP writers take icc_profile= and exif=); anything else is refused, not ignored.
ENCODE_OPTIONS = ("quality", "scale", "lossless", "temperature", "seed", "metadata", "detail", "target_bytes",
                  "target_psnr")
METADATA_OPTIONS = ("icc_profile", "exif", "xmp")


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    options = dict(im.encoderinfo)
    unknown = sorted(set(options) - set(ENCODE_OPTIONS) - set(METADATA_OPTIONS))
    try:
        if unknown:
            raise IrrError(f"unknown save option {unknown[0]!r}; irr takes {', '.join(ENCODE_OPTIONS + METADATA_OPTIONS)}")
        pixels = load(im, DEFAULT_MAX_PIXELS)
        given = {k: options[k] for k in METADATA_OPTIONS if k in options}
        if isinstance(given.get("exif"), Image.Exif):
            given["exif"] = given["exif"].tobytes()
        carried = dataclasses.replace(pixels.metadata, **{k: v or None for k, v in given.items()})
        data = api.encode(Pixels(pixels.array, carried), quality=options.get("quality"),
                          target_bytes=options.get("target_bytes"), target_psnr=options.get("target_psnr"),
                          scale=options.get("scale", api.DEFAULT_SCALE), lossless=options.get("lossless", False),
                          temperature=options.get("temperature", api.DEFAULT_TEMPERATURE), seed=options.get("seed", 0),
                          metadata=options.get("metadata", "all"), detail=options.get("detail"))
    except IrrError as e:
        raise OSError(f"cannot encode .irr: {e}") from None
    fp.write(data)


Image.register_open(FORMAT, IrrImageFile, _accept)
Image.register_save(FORMAT, _save)
Image.register_extension(FORMAT, ".irr")
Image.register_mime(FORMAT, MIME)
