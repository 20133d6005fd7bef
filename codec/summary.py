"""What a file holds, from its container alone: ``irr info`` and ``codec.info``.

Torch-free (bitstream and the model registry only), so ``irr info`` starts in a fraction of a
second; decoding is ``codec.api``'s.
"""

from __future__ import annotations

from numbers import Integral

from bitstream.container import DEFAULT_MAX_PIXELS, Header, unpack
from bitstream.errors import InputError
from codec import registry


def check_data(data: object) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"data must be the bytes of an .irr file, got {type(data).__name__}")


def check_max_pixels(max_pixels: object) -> None:
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, Integral) or max_pixels < 1:
        raise InputError(f"max_pixels must be a positive integer, got {max_pixels!r}")


def thumbnail_size(h: Header) -> tuple[int, int]:
    """(height, width) of a file's thumbnail (``--thumbnail``, Pillow's ``draft``): the stored LR, or
    for a scale-1 file, which stores none, the image halved (rounded up) as a level file's LR is."""
    return (-(-h.height // 2), -(-h.width // 2)) if h.scale == 1 else h.lr_size


def info(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict:
    """The header and chunk sizes of a file, as a JSON-ready dict (validates the whole container)."""
    check_max_pixels(max_pixels)
    check_data(data)
    f = unpack(data, max_pixels=max_pixels)
    h = f.header
    kind = registry.kind_of(h.model_name) if h.model_name in registry.MODEL_KINDS or h.model_name == registry.DIRECT else "unknown"
    detail = {"level": "coded (quantised at the level-1 band steps; the residual modelled as Gaussian)"
              if f.detail_stream is not None else "not stored (modelled as Gaussian: its mean at temperature 0)",
              "rescaler": "never stored (the rescaler's z, modelled as N(0, I))", "none": "none (no network)",
              "unknown": "unknown model"}[kind]
    return {
        "container_version": f"1.{f.minor}",
        "kind": kind,
        "network": {"level": "learned transform level (INN)", "rescaler": "invertible rescaler (IRN)",
                    "none": "none", "unknown": "unknown"}[kind],
        "detail": detail,
        "width": h.width, "height": h.height, "channels": h.channels, "bit_depth": h.bit_depth,
        "scale": h.scale, "quality": h.quality, "lossless_lr": h.lossless_lr, "lr_step": h.lr_step / 256,
        "lr_width": h.lr_size[1], "lr_height": h.lr_size[0],
        "thumbnail_width": thumbnail_size(h)[1], "thumbnail_height": thumbnail_size(h)[0],
        "model": h.model_name, "model_revision": h.model_revision, "weights_sha256": h.weights_sha256.hex(),
        "temperature": h.temperature_milli / 1000, "seed": h.seed,
        "entropy_model": h.entropy_model, "tables_sha256": h.tables_sha256.hex(),
        "bytes": len(data), "bpp": 8 * len(data) / (h.width * h.height),
        "lr_stream_bytes": len(f.lr_stream),
        "detail_stream_bytes": len(f.detail_stream) if f.detail_stream is not None else 0,
        "alpha_stream_bytes": len(f.alpha_stream) if f.alpha_stream is not None else 0,
        "icc_profile_bytes": len(f.icc_profile) if f.icc_profile is not None else 0,
        "exif_bytes": len(f.exif) if f.exif is not None else 0,
        "xmp_bytes": len(f.xmp) if f.xmp is not None else 0,
        "text_records": len(f.text),
        "dpi": None if f.dpi_milli is None else [f.dpi_milli[0] / 1000, f.dpi_milli[1] / 1000],
        "unknown_chunks": [k.decode() for k, _ in f.unknown_chunks],
    }
