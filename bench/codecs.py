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
JPEG2000_BPPS = (0.08, 0.12, 0.18, 0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0)  # target bpp (ANCHORS.md)
JXL_QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 95)
IRR_QUALITIES = (3, 8, 15, 22, 30, 40, 55, 70, 80, 88, 94, 98)  # the default path: ~0.03 to ~4 bpp on photos
IRR_SCALE1_QUALITIES = (16, 24, 32, 40, 48, 56, 64, 72, 80, 86, 92)  # scale 1's own step scale, over the same rates
IRR_RESCALER_QUALITIES = (10, 25, 40, 55, 70, 85, 100)  # 100 is the lossless-LR ceiling


@dataclass(frozen=True)
class Codec:
    key: str
    name: str
    description: str
    parameter: str
    sweep: tuple[float, ...]
    encode: Callable[[Image.Image, float], bytes]  # an RGB image; its info['icc_profile'] reaches Pillow
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


def _jpeg2000_encode(image: Image.Image, target_bpp: float) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG2000", irreversible=True, no_jp2=True, quality_mode="rates", quality_layers=[24 / target_bpp])
    return buf.getvalue()


def _jxl_encode(image: Image.Image, quality: float) -> bytes:
    import pillow_jxl  # noqa: F401  (registers "JXL" with Pillow; imported at use, not at import)

    buf = io.BytesIO()
    image.save(buf, "JXL", quality=quality, effort=7)
    return buf.getvalue()


def _jxl_decode(data: bytes) -> np.ndarray:
    import pillow_jxl  # noqa: F401

    return _pil_decode(data)


BPG_ARGS = ("-f", "444", "-c", "ycbcr", "-b", "8", "-e", "x265", "-m", "8")  # ANCHORS.md, as CompressAI benchmarks BPG


def _bpg_encode(image: Image.Image, qp: float) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.png", Path(tmp) / "out.bpg"
        Image.fromarray(np.asarray(image)).save(src)  # bare pixels: no ICC profile reaches bpgenc
        subprocess.run(["bpgenc", "-q", str(int(qp)), *BPG_ARGS, "-o", str(dst), str(src)], check=True,
                       capture_output=True)
        return dst.read_bytes()


def _bpg_decode(data: bytes) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.bpg", Path(tmp) / "out.png"
        src.write_bytes(data)
        subprocess.run(["bpgdec", "-o", str(dst), str(src)], check=True, capture_output=True)
        return _pil_decode(dst.read_bytes())


def _irr_encoder(scale: int | None, **options) -> Callable[[Image.Image, int], bytes]:
    def encode(image: Image.Image, quality: int) -> bytes:
        import codec

        return codec.encode(np.asarray(image), quality=int(quality), scale=scale, **options)  # pixels only

    return encode


def _irr_decode(data: bytes) -> np.ndarray:
    import codec

    return codec.decode_array(data, device="cpu")


def available() -> tuple[dict[str, Codec], dict[str, str]]:
    """The codecs this machine can run, by key, and the ones it cannot, with the reason."""
    codecs = [
        Codec("jpeg", "JPEG 4:2:0", "Pillow JPEG (libjpeg-turbo), quality=q, subsampling=2 (4:2:0), optimize=False",
              "quality", JPEG_QUALITIES, _pil_encoder("JPEG", subsampling=2), _pil_decode),
        Codec("jpeg444", "JPEG 4:4:4", "Pillow JPEG (libjpeg-turbo), quality=q, subsampling=0 (4:4:4), optimize=False",
              "quality", JPEG_QUALITIES, _pil_encoder("JPEG", subsampling=0), _pil_decode),
        Codec("jpeg2000", "JPEG 2000 (OpenJPEG)",
              "Pillow JPEG2000 (OpenJPEG), irreversible 9/7, quality_mode='rates', one layer at 24/bpp, no_jp2",
              "target bpp", JPEG2000_BPPS, _jpeg2000_encode, _pil_decode),
        Codec("hevc444", "HEVC-intra 4:4:4 (x265 via pillow-heif)",
              "pillow-heif HEIF, chroma=444, enc_params={'x265:qp': qp} (constant QP; decoder libde265)",
              "x265:qp", HEVC_QPS, _heif_encode, _heif_decode),
        Codec("webp", "WebP", "Pillow WebP (libwebp), lossy 4:2:0, quality=q, method=6",
              "quality", JPEG_QUALITIES, _pil_encoder("WEBP", method=6), _pil_decode),
        Codec("avif", "AVIF 4:2:0", "Pillow built-in AVIF, quality=q, speed=6, subsampling 4:2:0",
              "quality", JPEG_QUALITIES, _pil_encoder("AVIF", speed=6), _pil_decode),
        Codec("avif444", "AVIF 4:4:4", "Pillow built-in AVIF, quality=q, speed=6, subsampling 4:4:4",
              "quality", JPEG_QUALITIES, _pil_encoder("AVIF", speed=6, subsampling="4:4:4"), _pil_decode),
        Codec("jxl", "JPEG XL (libjxl)", "pillow-jxl-plugin (libjxl), lossy, quality=q, effort=7",
              "quality", JXL_QUALITIES, _jxl_encode, _jxl_decode),
        Codec("bpg444", "BPG 4:4:4 (libbpg)", f"bpgenc -q qp {' '.join(BPG_ARGS)}; bpgdec to PNG",
              "qp", HEVC_QPS, _bpg_encode, _bpg_decode),
        Codec("irr", "irr", "irr codec.encode(quality=q): the learned level (INN), decode on CPU",
              "quality", IRR_QUALITIES, _irr_encoder(None), _irr_decode),
        Codec("irr0", "irr, untrained level (r0)", "irr codec.encode(quality=q, network_revision=0): the learned "
              "level before training, i.e. the 9/7 level itself (the ablation of training)",
              "quality", IRR_QUALITIES, _irr_encoder(None, network_revision=0), _irr_decode),
        Codec("irrlr1", "irr, level r1", "irr codec.encode(quality=q, network_revision=1): the previous learned "
              "level (two coupling blocks of 32 channels; the default r2 has one of 16)",
              "quality", IRR_QUALITIES, _irr_encoder(None, network_revision=1), _irr_decode),
        Codec("irrl2", "irr, entropy model w97-laplace-2", "irr codec.encode(quality=q, entropy_model='w97-laplace-2'): "
              "the learned level with the entropy model before w97-adaptive-1", "quality", IRR_QUALITIES,
              _irr_encoder(None, entropy_model="w97-laplace-2"), _irr_decode),
        Codec("irra1", "irr, entropy model w97-adaptive-1", "irr codec.encode(quality=q, entropy_model='w97-adaptive-1'): "
              "the learned level with the entropy model before w97-adaptive-2 (the ablation of the written-symbol refit)",
              "quality", IRR_QUALITIES, _irr_encoder(None, entropy_model="w97-adaptive-1"), _irr_decode),
        Codec("irra2", "irr, entropy model w97-adaptive-2", "irr codec.encode(quality=q, entropy_model='w97-adaptive-2'): "
              "the learned level with the entropy model before w97-adaptive-3 (the ablation of its planes read apart "
              "and its map refitted on level r2's written symbols)",
              "quality", IRR_QUALITIES, _irr_encoder(None, entropy_model="w97-adaptive-2"), _irr_decode),
        Codec("irr1", "irr scale 1 (no network)", "irr codec.encode(quality=q, scale=1): the wavelet coder alone",
              "quality", IRR_SCALE1_QUALITIES, _irr_encoder(1), _irr_decode),
        Codec("irr2", "irr x2 rescaler", "irr codec.encode(quality=q, scale=2): the shipped rescaler's LR, no detail stored",
              "quality", IRR_RESCALER_QUALITIES, _irr_encoder(2), _irr_decode),
        Codec("irr4", "irr x4 rescaler", "irr codec.encode(quality=q, scale=4): the shipped rescaler's LR, no detail stored",
              "quality", IRR_RESCALER_QUALITIES, _irr_encoder(4), _irr_decode),
    ]
    missing = {key: reason for key, reason in _unavailable().items()}
    return {c.key: c for c in codecs if c.key not in missing}, missing


def _unavailable() -> dict[str, str]:
    """Codecs whose library or program this machine lacks, and what is missing."""
    from PIL import features

    missing = {}
    if not (shutil.which("bpgenc") and shutil.which("bpgdec")):
        missing["bpg444"] = "bpgenc/bpgdec (libbpg) are not on PATH; its anchors: --merge ../shared/data/anchors_eval"
    if not features.check("jpg_2000"):
        missing["jpeg2000"] = "this Pillow was built without OpenJPEG"
    if not features.check("avif"):
        missing["avif"] = missing["avif444"] = "this Pillow was built without libavif"
    for key, module, package in (("jxl", "pillow_jxl", "pillow-jxl-plugin"), ("hevc444", "pillow_heif", "pillow-heif")):
        try:
            __import__(module)
        except ImportError:
            missing[key] = f"the Python package {package} is not installed"
    return missing
