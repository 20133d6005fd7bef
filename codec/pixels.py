"""What users bring, turned into what the codec stores: 8-bit gray, RGB or RGBA pixels plus metadata.

Documented conversions (README, "Input images"):
- 1-bit, gray and gray+alpha stay gray (with alpha); palette images become RGB or RGBA;
  CMYK, YCbCr, LAB and HSV become RGB through Pillow.
- 16-bit and 32-bit integer images are read as 16-bit (0..65535) and float images on [0, 1], both
  rounded to 8 bits (irr stores 8 bits per sample); samples outside those ranges are refused, never
  clipped. Animations and multi-page files are refused (an MPO photo's first picture is taken).
- A CMYK image with a CMYK profile, or gray with alpha with a gray profile, is converted to sRGB
  through its profile (irr stores RGB there, which the profile cannot describe); a profile that
  does not describe what irr stores is dropped with a ``MetadataWarning``.
- EXIF orientation is applied to the pixels and the orientation tag reset to 1 in place, so every
  decoder shows the photo upright; the ICC profile, the EXIF block and the rest of
  ``codec.metadata`` (XMP, text, dpi) are otherwise carried byte for byte (as the input file holds them; formats that keep EXIF as tags, such as TIFF, give the
  block Pillow writes from those tags).
"""

from __future__ import annotations

import dataclasses
import io
import math
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from bitstream.errors import InputError, LimitError
from codec import metadata
from codec.metadata import Metadata

# What the batch CLI, training and benchmarks pick up from a folder.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".gif",
                            ".heic", ".avif"})


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (and below it with ``recursive``), sorted; FileNotFoundError if none."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images in {folder}")
    return files


@dataclass
class Pixels:
    """An (H, W, C) uint8 array with C in {1, 3, 4}, and the metadata to carry along."""

    array: np.ndarray
    metadata: Metadata = Metadata()


ImageLike = Image.Image | np.ndarray | str | Path | io.IOBase | Pixels


def load(image: ImageLike, max_pixels: int) -> Pixels:
    """Normalise a path, a PIL image or an (H, W[, C]) uint8 array; raises ``InputError``."""
    if isinstance(image, np.ndarray):
        return Pixels(_from_array(image, max_pixels))
    if isinstance(image, Pixels):
        return Pixels(_from_array(image.array, max_pixels), image.metadata)
    if isinstance(image, (str, Path, io.IOBase)):
        try:
            with _irr_pixel_limit(), Image.open(image) as im:
                _check_size(im.size, max_pixels)
                im.load()
                return _from_pil(im, max_pixels)
        except FileNotFoundError:
            raise InputError(f"no such file: {image}") from None
        except Image.DecompressionBombError as e:
            raise LimitError(str(e)) from None
        except IsADirectoryError:
            raise InputError(f"is a directory: {image}") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            name = image if isinstance(image, (str, Path)) else "from stream"
            raise InputError(f"cannot read image {name}: {e}") from None
    if isinstance(image, Image.Image):
        _check_size(image.size, max_pixels)
        return _from_pil(image, max_pixels)
    raise InputError(f"cannot encode a {type(image).__name__}; pass a path, a PIL image or a uint8 array")


_PILLOW_LIMIT = threading.Lock()


@contextmanager
def _irr_pixel_limit():
    """Pillow's own bomb check off while irr reads an input, so that ``max_pixels`` (checked from
    the header before any decoding) is the one limit, above Pillow's or below it. Pillow's limit
    is process-global; the lock keeps concurrent readers from restoring it out of order."""
    with _PILLOW_LIMIT:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    w, h = size
    if w < 1 or h < 1:
        raise InputError(f"image has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise LimitError(f"image of {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels}")


def _from_array(a: np.ndarray, max_pixels: int) -> np.ndarray:
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise InputError(f"array of shape {a.shape} is not (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)")
    if a.dtype != np.uint8:
        raise InputError(f"array dtype must be uint8, got {a.dtype}")
    _check_size((a.shape[1], a.shape[0]), max_pixels)
    return np.ascontiguousarray(a)


def _from_pil(im: Image.Image, max_pixels: int) -> Pixels:
    frames = getattr(im, "n_frames", 1)
    if frames > 1 and im.format != "MPO":  # an MPO's first picture is the photo, the rest previews
        raise InputError(f"the image has {frames} frames (animation or pages); irr stores one still image: "
                         "extract the frame to code first")
    icc = im.info.get("icc_profile")
    exif = im.getexif()
    raw = im.info.get("exif")  # the file's own EXIF bytes, where the format keeps them as a block
    exif_bytes = bytes(raw) if raw else (exif.tobytes() if len(exif) else None)
    source = im  # its text, XMP and dpi: a transposed copy no longer has them
    if exif.get(0x0112, 1) != 1:
        im = ImageOps.exif_transpose(im)
        exif_bytes = _orientation_reset(exif_bytes) if raw else _rewritten_with_orientation_1(exif)
    carried = metadata.read(source, icc, exif_bytes)
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return Pixels(_from_array(_eight_bits(im), max_pixels), carried)
    im, converted = _in_profile_space(im, icc)
    if converted:
        carried = dataclasses.replace(carried, icc_profile=None)  # the pixels are sRGB now
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("RGBa", "La"):
        im = im.convert("RGBA" if mode == "RGBa" else "LA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGB")
    if im.mode == "LA":
        gray = np.asarray(im.getchannel("L"))
        alpha = np.asarray(im.getchannel("A"))
        a = np.stack([gray, gray, gray, alpha], axis=-1)
    else:
        a = np.asarray(im)
    stored = _SPACE[1 if a.ndim == 2 else a.shape[2]]
    if carried.icc_profile and _profile_space(carried.icc_profile) not in (None, stored):
        warnings.warn(f"the ICC profile ({_profile_space(carried.icc_profile)}) does not describe the {stored} "
                      "pixels irr stores; it was dropped", MetadataWarning, stacklevel=4)
        carried = dataclasses.replace(carried, icc_profile=None)
    return Pixels(_from_array(a, max_pixels), carried)


class MetadataWarning(UserWarning):
    """Metadata irr could not carry as it was (the CLI prints it as an ``irr: warning:`` line)."""


_SPACE = {1: "GRAY", 3: "RGB", 4: "RGB"}  # the ICC colour space of what irr stores, by channels


def _profile_space(icc: bytes) -> str | None:
    """An ICC profile's data colour space ('RGB', 'GRAY', 'CMYK', ...); None where the bytes have no
    ICC header (carried as they are: irr cannot tell what they describe)."""
    return icc[16:20].decode("ascii", "replace").strip() if len(icc) >= 128 and icc[36:40] == b"acsp" else None


def _in_profile_space(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bool]:
    """CMYK and gray-with-alpha images whose profile describes their own colour space become sRGB
    through that profile (littleCMS, Pillow's ImageCms), as a viewer would show them: irr stores
    them as RGB, which their profile cannot describe. (False: nothing converted.)"""
    space = _profile_space(icc) if icc else None
    if not ((im.mode == "CMYK" and space == "CMYK") or (im.mode in ("LA", "La") and space == "GRAY")):
        return im, False
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        colour = im if im.mode == "CMYK" else im.convert("LA").getchannel("L")
        rgb = ImageCms.profileToProfile(colour, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im, False  # a profile littleCMS cannot read: dropped with a warning by the caller
    if im.mode != "CMYK":
        rgb.putalpha(im.convert("LA").getchannel("A"))
    return rgb, True


def _eight_bits(im: Image.Image) -> np.ndarray:
    """Deep samples to 8 bits by a rule that does not depend on the data: integers are 16-bit
    (0..65535, rounded to 0..255), floats are on [0, 1]; samples outside their range are refused
    rather than clipped."""
    arr = np.asarray(im, dtype=np.float64)
    floating = im.mode == "F"
    high = 1.0 if floating else 65535.0
    if not np.isfinite(arr).all() or arr.min(initial=0) < 0 or arr.max(initial=0) > high:
        kind = "floating-point samples outside [0, 1]" if floating else "integer samples outside 0..65535"
        raise InputError(f"the image has {kind} (from {arr.min():g} to {arr.max():g}); irr reads floats on "
                         "[0, 1] and integers as 16-bit: convert it to 8 or 16 bits first")
    return np.round(arr * (255.0 / high)).astype(np.uint8)


def _rewritten_with_orientation_1(exif: Image.Exif) -> bytes:
    exif[0x0112] = 1
    return exif.tobytes()


def _orientation_reset(raw: bytes) -> bytes:
    """``raw`` with IFD0's orientation tag set to 1 in place: every other byte as it was.

    Walks the TIFF structure (an optional "Exif\\0\\0" prefix, the byte order, IFD0's entries); a
    block that cannot be walked is rewritten by Pillow instead, so the tag is never left stale.
    """
    head = 6 if raw.startswith(b"Exif\x00\x00") else 0
    order = {b"II": "little", b"MM": "big"}.get(raw[head : head + 2])
    if order is not None and len(raw) >= head + 8:
        ifd = head + int.from_bytes(raw[head + 4 : head + 8], order)
        count = int.from_bytes(raw[ifd : ifd + 2], order) if len(raw) >= ifd + 2 else 0
        for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(raw) - 11), 12):
            tag, kind = int.from_bytes(raw[entry : entry + 2], order), int.from_bytes(raw[entry + 2 : entry + 4], order)
            if tag == 0x0112 and kind == 3:  # SHORT, stored in the entry itself
                out = bytearray(raw)
                out[entry + 8 : entry + 10] = (1).to_bytes(2, order)
                return bytes(out)
    exif = Image.Exif()
    exif.load(raw)
    return _rewritten_with_orientation_1(exif)


def load_rgb(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file as Pillow converts it (no orientation, no profile):
    the offline tools' photos."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB over all samples of two 8-bit images of one shape; inf when identical."""
    if reference.shape != decoded.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {decoded.shape}")
    mse = float(np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def mean_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W, 1): how a gray image comes back from a network that works in RGB."""
    return np.round(rgb.astype(np.float64).mean(axis=2, keepdims=True)).astype(np.uint8)


def bicubic_round_trip(rgb: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The rescaling baseline of ANCHORS.md: Pillow's bicubic thumbnail (w // scale, h // scale)
    and that thumbnail's bicubic enlargement back to (w, h), both uint8."""
    h, w = rgb.shape[:2]
    small = Image.fromarray(rgb).resize((w // scale, h // scale), Image.BICUBIC, reducing_gap=None)
    return np.asarray(small), np.asarray(small.resize((w, h), Image.BICUBIC))


def jpeg_round_trip(array: np.ndarray, quality: int) -> np.ndarray:
    """(H, W, 3) uint8 through Pillow's JPEG at ``quality`` (4:2:0, as a chat app recompresses)."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG", quality=quality)
    with Image.open(buf) as im:
        return np.array(im.convert("RGB"))


def to_pil(array: np.ndarray) -> Image.Image:
    """(H, W, C) uint8 -> PIL image of mode L, RGB or RGBA."""
    if array.shape[2] == 1:
        return Image.fromarray(array[..., 0], "L")
    return Image.fromarray(array, "RGB" if array.shape[2] == 3 else "RGBA")
