"""The codecs a rate-distortion run compares, each with its quality sweep (ANCHORS.md settings).

Each codec maps a quality parameter to whole-file bytes and back to 8-bit RGB pixels. irr goes
through its public API only.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

JPEG_QUALITIES = (5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95)
HEVC_QPS = (47, 42, 37, 32, 27, 22, 17, 12)
IRR_QUALITIES = (10, 25, 40, 55, 70, 85, 100)  # fixed-scale sweeps: 100 is the lossless-LR ceiling
IRR_LADDER_QUALITIES = (4, 10, 16, 24, 32, 40, 48, 56, 64, 72, 80)  # the ladder: ~0.02 to ~4 bpp on photos


@dataclass(frozen=True)
class Codec:
    key: str
    name: str
    description: str
    parameter: str
    sweep: tuple[int, ...]
    encode: Callable[[Image.Image, int], bytes]  # an RGB image; its info['icc_profile'] reaches Pillow
    decode: Callable[[bytes], np.ndarray]


def _pil_decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def _pil_encoder(fmt: str, **options) -> Callable[[Image.Image, int], bytes]:
    def encode(image: Image.Image, quality: int) -> bytes:
        buf = io.BytesIO()
        image.save(buf, fmt, quality=quality, **options)
        return buf.getvalue()

    return encode


def _heif_encode(image: Image.Image, qp: int) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()  # at use, not at import: Pillow's registry is global state
    buf = io.BytesIO()
    image.save(buf, "HEIF", chroma=444, enc_params={"x265:qp": str(qp)})
    return buf.getvalue()


def _heif_decode(data: bytes) -> np.ndarray:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return _pil_decode(data)


def _bpg_encode(image: Image.Image, qp: int) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.png", Path(tmp) / "out.bpg"
        image.save(src)
        subprocess.run(["bpgenc", "-f", "444", "-e", "x265", "-q", str(qp), "-o", str(dst), str(src)], check=True, capture_output=True)
        return dst.read_bytes()


def _bpg_decode(data: bytes) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.bpg", Path(tmp) / "out.png"
        src.write_bytes(data)
        subprocess.run(["bpgdec", "-o", str(dst), str(src)], check=True, capture_output=True)
        return _pil_decode(dst.read_bytes())


def _irr_encoder(scale: int | None) -> Callable[[Image.Image, int], bytes]:
    def encode(image: Image.Image, quality: int) -> bytes:
        import codec

        return codec.encode(np.asarray(image), quality=quality, scale=scale)  # pixels only, no metadata

    return encode


def _irr_decode(data: bytes) -> np.ndarray:
    import codec

    return codec.decode_array(data, device="cpu")


def available() -> dict[str, Codec]:
    """Every codec this machine can run, by key (bpg only when bpgenc/bpgdec are on PATH)."""
    codecs = [
        Codec("jpeg", "JPEG 4:2:0", "Pillow JPEG (libjpeg-turbo), quality=q, subsampling=2 (4:2:0), optimize=False",
              "quality", JPEG_QUALITIES, _pil_encoder("JPEG", subsampling=2), _pil_decode),
        Codec("jpeg444", "JPEG 4:4:4", "Pillow JPEG (libjpeg-turbo), quality=q, subsampling=0 (4:4:4), optimize=False",
              "quality", JPEG_QUALITIES, _pil_encoder("JPEG", subsampling=0), _pil_decode),
        Codec("hevc444", "HEVC-intra 4:4:4 (x265, BPG stand-in)",
              "pillow-heif HEIF, chroma=444, enc_params={'x265:qp': qp} (constant QP; decoder libde265)",
              "x265:qp", HEVC_QPS, _heif_encode, _heif_decode),
        Codec("webp", "WebP", "Pillow WebP (libwebp), lossy 4:2:0, quality=q, method=6",
              "quality", JPEG_QUALITIES, _pil_encoder("WEBP", method=6), _pil_decode),
        Codec("avif", "AVIF 4:2:0", "Pillow built-in AVIF, quality=q, speed=6, subsampling 4:2:0",
              "quality", JPEG_QUALITIES, _pil_encoder("AVIF", speed=6), _pil_decode),
        Codec("avif444", "AVIF 4:4:4", "Pillow built-in AVIF, quality=q, speed=6, subsampling 4:4:4",
              "quality", JPEG_QUALITIES, _pil_encoder("AVIF", speed=6, subsampling="4:4:4"), _pil_decode),
        Codec("irr", "irr", "irr codec.encode(quality=q) (the rate ladder picks the scale), decode on CPU",
              "quality", IRR_LADDER_QUALITIES, _irr_encoder(None), _irr_decode),
        Codec("irr2", "irr x2", "irr codec.encode(quality=q, scale=2), decode at the file's temperature on CPU",
              "quality", IRR_QUALITIES, _irr_encoder(2), _irr_decode),
        Codec("irr4", "irr x4", "irr codec.encode(quality=q, scale=4), decode at the file's temperature on CPU",
              "quality", IRR_QUALITIES, _irr_encoder(4), _irr_decode),
    ]
    if shutil.which("bpgenc") and shutil.which("bpgdec"):
        codecs.append(Codec("bpg", "BPG 4:4:4", "bpgenc -f 444 -e x265 -q qp; bpgdec", "qp", HEVC_QPS, _bpg_encode, _bpg_decode))
    return {c.key: c for c in codecs}
