"""Decoded images as the bytes of an output format chosen by extension (``irr decode -o x.EXT``).

Nothing changes without a word: a gray image in a format without a gray mode is written as RGB
(said), alpha or colour that a format cannot hold is refused, metadata a format has no place for
is named in the output line, and a JPEG output says it is lossy and at which quality (WebP is
written lossless).
"""

from __future__ import annotations

import io

from PIL import Image

from bitstream.errors import IrrError
from codec import metadata
from codec.metadata import Metadata

# Output extension -> (Pillow format, the modes it holds as they are).
OUTPUT_FORMATS = {".png": ("PNG", ("L", "RGB", "RGBA")), ".tif": ("TIFF", ("L", "RGB", "RGBA")),
                  ".tiff": ("TIFF", ("L", "RGB", "RGBA")), ".webp": ("WEBP", ("RGB", "RGBA")),
                  ".bmp": ("BMP", ("L", "RGB")), ".jpg": ("JPEG", ("L", "RGB")), ".jpeg": ("JPEG", ("L", "RGB")),
                  ".ppm": ("PPM", ("RGB",)), ".pgm": ("PPM", ("L",)), ".pnm": ("PPM", ("L", "RGB"))}
ALPHA_FORMATS = "PNG, TIFF or WebP"
DEFAULT_JPEG_QUALITY = 95  # where a JPEG output's quality is not given: visually lossless, not Pillow's 75


def encoded(im: Image.Image, carried: Metadata, extension: str, quality: int | None = None) -> tuple[bytes, str]:
    """The bytes of ``im`` as ``extension`` with the metadata the format holds, and the output
    line's note (what was converted, lossy or dropped; '' when nothing). ``quality``: a JPEG
    output's (None: ``DEFAULT_JPEG_QUALITY``)."""
    fmt, modes = OUTPUT_FORMATS[extension]
    if quality is not None and fmt != "JPEG":
        raise IrrError(f"--jpeg-quality applies to .jpg outputs; {extension} is written lossless")
    notes = []
    if im.mode not in modes:
        if im.mode == "RGBA":
            raise IrrError(f"{extension} cannot hold this image's alpha channel; write {ALPHA_FORMATS}")
        if im.mode == "RGB":
            raise IrrError(f"{extension} holds gray images and this one is in colour; write .ppm or .pnm")
        im = im.convert("RGB")
        notes.append(f"gray written as RGB: {extension} has no gray mode")
    options, dropped = metadata.save_options(carried, fmt)
    if fmt == "JPEG":
        options["quality"] = DEFAULT_JPEG_QUALITY if quality is None else quality
        notes.append(f"JPEG quality {options['quality']}: lossy, write .png for the exact decode")
    elif fmt == "WEBP":
        options["lossless"] = True
    buf = io.BytesIO()
    try:
        im.save(buf, fmt, **options)
    except ValueError as e:  # Pillow's JPEG writer: a metadata block over 64 KB ("XMP data is too long")
        raise IrrError(f"{extension} cannot hold this file's metadata ({e}); write .png, or re-encode with "
                       "--metadata to leave it out") from None
    note = "; ".join(notes)
    return buf.getvalue(), (f" ({note})" if note else "") + metadata.dropped_note(dropped, extension)
