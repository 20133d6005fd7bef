"""The metadata irr carries beside the pixels: what an input gives, what each output format takes.

Kinds (``--metadata`` and ``encode(metadata=...)`` select among them): ``icc`` (the ICC profile),
``exif``, ``xmp`` (the XMP packet), ``text`` (PNG text chunks; a JPEG comment as ``Comment``) and
``dpi``. Each is carried byte for byte where the format has a place for it; an output format that
has none drops it and :func:`save_options` says which were dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, PngImagePlugin

from bitstream.errors import InputError

KINDS = ("icc", "exif", "xmp", "text", "dpi")
NAMES = {"icc": "ICC profile", "exif": "EXIF", "xmp": "XMP", "text": "text", "dpi": "resolution (dpi)"}
XMP_PNG_KEY = "XML:com.adobe.xmp"  # where PNG keeps XMP (an iTXt chunk), as Pillow reads it
MAX_DPI_MILLI = 2**32  # the container's u32 holds dpi x 1000


@dataclass(frozen=True)
class Metadata:
    icc_profile: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    text: tuple[tuple[str, str], ...] = ()
    dpi: tuple[float, float] | None = None

    def only(self, kinds: frozenset[str]) -> Metadata:
        """This metadata with every kind outside ``kinds`` removed."""
        return Metadata(*(value if kind in kinds else empty
                          for kind, value, empty in zip(KINDS, self._values(), (None, None, None, (), None))))

    def present(self) -> list[str]:
        """The kinds this metadata holds, in ``KINDS`` order."""
        return [kind for kind, value in zip(KINDS, self._values()) if value]

    def _values(self) -> tuple:
        return self.icc_profile, self.exif, self.xmp, self.text, self.dpi


def kinds_of(spec: str | Iterable[str]) -> frozenset[str]:
    """``"all"``, ``"none"``, ``"icc,exif"`` or an iterable of kinds -> the set of kinds to keep."""
    if isinstance(spec, str):
        named = {"all": KINDS, "none": ()}
        words = named[spec] if spec in named else [w.strip() for w in spec.split(",") if w.strip()]
    elif isinstance(spec, Iterable):
        words = list(spec)
    else:
        raise InputError(f"metadata must be 'all', 'none' or kinds among {', '.join(KINDS)}, got {spec!r}")
    unknown = [w for w in words if w not in KINDS]
    if unknown:
        raise InputError(f"unknown metadata kind {unknown[0]!r}; choose among all, none, {', '.join(KINDS)}")
    return frozenset(words)


def read(im: Image.Image, icc_profile: bytes | None, exif: bytes | None) -> Metadata:
    """An opened image's metadata; ``exif`` as the caller normalised it (orientation applied)."""
    xmp = im.info.get("xmp")
    text = dict(getattr(im, "text", None) or {})  # PNG's tEXt/iTXt/zTXt records
    if isinstance(text.get(XMP_PNG_KEY), str) and not xmp:
        xmp = text[XMP_PNG_KEY]
    text.pop(XMP_PNG_KEY, None)
    comment = None if hasattr(im, "text") else im.info.get("comment")  # JPEG COM, GIF comment (PNG's are text)
    if comment and "Comment" not in text:
        text["Comment"] = comment.decode("utf-8", "replace") if isinstance(comment, bytes) else str(comment)
    return Metadata(icc_profile or None, exif or None, (xmp.encode() if isinstance(xmp, str) else bytes(xmp)) if xmp else None,
                    tuple((str(k), str(v)) for k, v in text.items()), _dpi(im.info.get("dpi")))


def _dpi(value: object) -> tuple[float, float] | None:
    """A positive, finite resolution, or None (Pillow reports 0 or nonsense for some files)."""
    try:
        x, y = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    ok = all(math.isfinite(v) and 0 < round(v * 1000) < MAX_DPI_MILLI for v in (x, y))
    return (x, y) if ok else None


def to_container(m: Metadata) -> dict:
    """The container fields (``IrrFile``) that hold ``m``."""
    dpi = None if m.dpi is None else (round(m.dpi[0] * 1000), round(m.dpi[1] * 1000))
    return {"icc_profile": m.icc_profile, "exif": m.exif, "xmp": m.xmp, "text": m.text, "dpi_milli": dpi}


def from_container(f) -> Metadata:
    """The metadata an ``IrrFile`` carries."""
    dpi = None if f.dpi_milli is None else (f.dpi_milli[0] / 1000, f.dpi_milli[1] / 1000)
    return Metadata(f.icc_profile, f.exif, f.xmp, tuple(f.text), dpi)


def to_info(m: Metadata) -> dict:
    """``Image.info`` entries as Pillow's own readers set them (text records under their keys)."""
    info: dict = {key: value for key, value in (("icc_profile", m.icc_profile), ("exif", m.exif), ("xmp", m.xmp),
                                                ("dpi", m.dpi)) if value}
    for key, value in m.text:
        info.setdefault(key, value)
    return info


# Pillow format -> the kinds it can hold.
HOLDS = {"PNG": ("icc", "exif", "xmp", "text", "dpi"), "JPEG": ("icc", "exif", "xmp", "text", "dpi"),
         "WEBP": ("icc", "exif", "xmp"), "TIFF": ("icc", "exif", "xmp", "dpi"), "BMP": ("dpi",), "PPM": ()}


def save_options(m: Metadata, fmt: str) -> tuple[dict, list[str]]:
    """Pillow ``save`` keywords that write ``m`` in ``fmt``, and the kinds ``fmt`` cannot hold."""
    holds = HOLDS[fmt]
    dropped = [kind for kind in m.present() if kind not in holds]
    if fmt == "JPEG" and any(key != "Comment" for key, _ in m.text):
        dropped.append("text")  # JPEG has one comment, nothing else
    kept = m.only(frozenset(holds))
    options: dict = {k: v for k, v in (("icc_profile", kept.icc_profile), ("exif", kept.exif), ("dpi", kept.dpi)) if v}
    if kept.xmp and fmt in ("JPEG", "WEBP"):
        options["xmp"] = kept.xmp
    elif kept.xmp and fmt == "TIFF":  # one tag set: Pillow's TIFF writer takes tiffinfo over exif
        tags = Image.Exif()
        if kept.exif:
            tags.load(kept.exif)
        tags[700] = kept.xmp
        options.pop("exif", None)
        options["tiffinfo"] = tags
    if fmt == "JPEG" and kept.text:
        options["comment"] = dict(kept.text).get("Comment", "")
    if fmt == "PNG" and (kept.text or kept.xmp):
        info = PngImagePlugin.PngInfo()
        for key, value in kept.text:
            info.add_itxt(key, value)
        if kept.xmp:
            info.add_itxt(XMP_PNG_KEY, kept.xmp.decode("utf-8", "replace"))
        options["pnginfo"] = info
    return options, sorted(set(dropped), key=KINDS.index)


def dropped_note(dropped: list[str], extension: str) -> str:
    """The output line's note for metadata an output format cannot hold ('' when none)."""
    if not dropped:
        return ""
    return f" ({', '.join(NAMES[k] for k in dropped)} not written: {extension} has no place for it)"

