"""The public encode/decode API. Data flows one way: pixels -> network -> entropy -> bitstream."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from bitstream.container import DEFAULT_MAX_PIXELS, DIRECT_MINOR, Header, IrrFile, max_stream_bytes, pack, unpack
from bitstream.errors import ChecksumError, FormatError, InputError, WeightsMismatchError
from codec import models, resources
from codec.pixels import ImageLike, Pixels, load, to_pil
from codec.tiling import MARGIN, TILE, tiled_to_uint8
from entropy import coder
from entropy.contexts import LOSSLESS_STEP

DEFAULT_QUALITY = 75
DEFAULT_SCALE: int | None = None  # chosen per quality by the rate ladder
SCALES = (1, 2, 4)
DEFAULT_TEMPERATURE = 0.0
LOSSLESS_QUALITY = 100


def quality_to_step(quality: int) -> float:
    """LR quantiser step for a quality in 1..100: doubles every 12.5 points; 100 is lossless."""
    if not 1 <= quality <= 100:
        raise InputError(f"quality must be in 1..100, got {quality}")
    return 2.0 ** ((100 - quality) / 12.5)


# The rate ladder, (quality below which, scale), first match wins; otherwise scale 1. Measured on
# held-out training photos, never on eval/ (`python -m bench.ladder`, bench/results/ladder.json):
# with the r1 rescalers, the w97-laplace-1 coder and RDO, x4 wins below ~0.034 bpp and storing the
# image itself wins above 0.048; x2 leads in between by at most ~0.3 dB: not worth its network pass.
LADDER: tuple[tuple[int, int], ...] = ((13, 4),)


def scale_for_quality(quality: int) -> int:
    """The scale the rate ladder picks for a quality (used when no scale is given)."""
    for below, scale in LADDER:
        if quality < below:
            return scale
    return 1


def stored_step(quality: int, scale: int, auto: bool) -> float:
    """Quantiser step of the stored image. On the ladder the step shrinks with the scale, so that a
    quality keeps about the same rate whichever scale it lands on; an explicit scale uses the plain
    step, so ``--scale 2 -q 100`` still stores its LR losslessly."""
    step = quality_to_step(quality)
    return max(1.0, step / scale) if auto else step


@dataclass(frozen=True)
class EncodeSettings:
    quality: int = DEFAULT_QUALITY
    scale: int | None = DEFAULT_SCALE  # None: the rate ladder's choice
    temperature: float = DEFAULT_TEMPERATURE
    seed: int = 0

    @property
    def resolved_scale(self) -> int:
        return scale_for_quality(self.quality) if self.scale is None else self.scale

    @property
    def step(self) -> float:
        return stored_step(self.quality, self.resolved_scale, auto=self.scale is None)


def _resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"device must be auto, cpu or cuda, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device cuda was asked for, but no CUDA device is available")
    return torch.device(device)


def _pad_to_multiple(rgb: np.ndarray, scale: int) -> np.ndarray:
    """Edge-replicate the bottom and right so both sides are multiples of ``scale`` (cropped on decode)."""
    h, w = rgb.shape[:2]
    pad_h, pad_w = -h % scale, -w % scale
    if pad_h or pad_w:
        rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return rgb


@torch.no_grad()
def _downscale(rgb: np.ndarray, scale: int, tile: int | None = TILE, progress: bool = False) -> np.ndarray:
    """INN forward pass: (H, W, 3) uint8 -> the 8-bit LR (ceil(H/s), ceil(W/s), 3), tiled on the CPU."""
    net, _ = models.load_model(models.DEFAULT_MODEL[scale], models.latest_revision(models.DEFAULT_MODEL[scale]))
    x = torch.from_numpy(np.array(_pad_to_multiple(rgb, scale))).permute(2, 0, 1)[None]  # uint8
    size = tile * scale if tile else max(x.shape[2:])
    return tiled_to_uint8(net, x, 1 / scale, align=scale, tile=size, margin=MARGIN * scale, progress=progress)


def encode(image: ImageLike, *, quality: int = DEFAULT_QUALITY, scale: int | None = DEFAULT_SCALE,
           lossless: bool = False, temperature: float = DEFAULT_TEMPERATURE, seed: int = 0,
           keep_metadata: bool = True, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """Encode an image (path, PIL image or (H, W[, C]) uint8 array) to ``.irr`` bytes.

    Args:
        quality: 1..100, higher is better; 100 (or ``lossless=True``) stores the LR losslessly
            (with scale 1, or no scale, that is the image itself: truly lossless).
        scale: the rescaling factor of the stored LR: 2 or 4 (the invertible rescaler), 1 (the image
            itself, no network), or None to let the rate ladder choose by quality (see ``LADDER``).
        temperature: default latent temperature written to the header (decoders may override).
        seed: seed of the latent draw, written to the header so every decode is reproducible.
        keep_metadata: carry the ICC profile and EXIF (False drops them, as cwebp does by default).
    """
    if scale is not None and scale not in SCALES:
        raise InputError(f"scale must be 1, 2 or 4 (or None to choose by quality), got {scale}")
    if lossless:
        quality = LOSSLESS_QUALITY
    quality_to_step(quality)  # validates
    if not 0 <= temperature <= 65.535 or not math.isfinite(temperature):
        raise InputError(f"temperature must be in 0..65, got {temperature}")
    if not 0 <= seed < 2**32:
        raise InputError(f"seed must be in 0..2^32-1, got {seed}")
    pixels = load(image, max_pixels)
    if not keep_metadata:
        pixels = Pixels(pixels.array)
    return encode_pixels(pixels, EncodeSettings(quality, scale, temperature, seed))


def encode_pixels(pixels: Pixels, settings: EncodeSettings) -> bytes:
    """Encode normalised pixels (see :mod:`codec.pixels`) with validated settings."""
    scale = settings.resolved_scale
    a = pixels.array
    h, w, channels = a.shape
    if scale == 1:  # the image itself: no network, no latent
        lr = np.ascontiguousarray(a[..., :1] if channels == 1 else a[..., :3])
        model_name, revision, weights_hash = models.DIRECT, 0, models.DIRECT_HASH
    else:
        rgb = np.repeat(a, 3, axis=2) if channels == 1 else a[..., :3]
        lr = _downscale(rgb, scale)
        if channels == 1:  # a gray image's LR stays gray: one plane, replicated again on decode
            lr = np.round(lr.astype(np.float64).mean(axis=2, keepdims=True)).astype(np.uint8)
        model_name = models.DEFAULT_MODEL[scale]
        revision = models.latest_revision(model_name)
        _, weights_hash = models.load_model(model_name, revision)
    lr_step = min(65535, int(round(settings.step * 256)))
    tables, tables_hash = models.load_tables(models.DEFAULT_ENTROPY_MODEL)
    layout = coder.ImageLayout(lr.shape[0], lr.shape[1], lr.shape[2], lr_step)
    lr_stream, lr_decoded = coder.encode(lr, layout, tables)
    alpha_stream, alpha_crc = None, 0
    if channels == 4:
        alpha = np.ascontiguousarray(a[..., 3:])
        alpha_stream, _ = coder.encode(alpha, coder.ImageLayout(h, w, 1, LOSSLESS_STEP), tables)
        alpha_crc = zlib.crc32(alpha.tobytes())
    header = Header(
        width=w, height=h, channels=channels, scale=scale, quality=settings.quality,
        lr_step=lr_step, model_name=model_name, model_revision=revision, weights_sha256=weights_hash,
        temperature_milli=int(round(settings.temperature * 1000)), seed=settings.seed,
        entropy_model=models.DEFAULT_ENTROPY_MODEL, tables_sha256=tables_hash,
        lr_crc32=zlib.crc32(lr_decoded.tobytes()), alpha_crc32=alpha_crc,
    )
    return pack(IrrFile(header, lr_stream, alpha_stream, pixels.icc_profile, pixels.exif,
                        minor=DIRECT_MINOR if scale == 1 else 0))


@dataclass
class Decoded:
    """A decoded image: (H, W, C) uint8 pixels and the metadata the file carried."""

    array: np.ndarray
    icc_profile: bytes | None
    exif: bytes | None
    header: Header


def _entropy_decode(stream: bytes, layout: coder.ImageLayout, expected_crc: int, what: str,
                    tables_id: str, tables_hash: bytes) -> np.ndarray:
    tables, digest = models.load_tables(tables_id)
    if digest != tables_hash:
        raise WeightsMismatchError(f"entropy tables {tables_id} installed here differ from the encoder's")
    pixels = coder.decode(stream, layout, tables, max_stream_bytes(layout.n_symbols))
    if zlib.crc32(pixels.tobytes()) != expected_crc:
        raise ChecksumError(f"decoded {what} does not match its checksum: the file is corrupt")
    return pixels


@dataclass
class Stored:
    """What a file stores, entropy-decoded and verified: the LR (h, w, 1|3) and the alpha plane."""

    header: Header
    lr: np.ndarray
    alpha: np.ndarray | None
    icc_profile: bytes | None
    exif: bytes | None


def read_stored(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Stored:
    """Parse, check weights and tables, entropy-decode the LR (and alpha) and verify their CRCs."""
    f = unpack(data, max_pixels=max_pixels)
    h = f.header
    resources.check_decode_fits(h, len(f.lr_stream) + len(f.alpha_stream or b""))
    if h.scale == 1:
        if (h.model_name, h.model_revision, h.weights_sha256) != (models.DIRECT, 0, models.DIRECT_HASH):
            raise FormatError(f"a scale-1 file names no network, but this one names {h.model_name!r}")
    else:
        models.check_weights(h.model_name, h.model_revision, h.weights_sha256)
    lr_h, lr_w = h.lr_size
    lr_layout = coder.ImageLayout(lr_h, lr_w, 1 if h.channels == 1 else 3, h.lr_step)
    lr = _entropy_decode(f.lr_stream, lr_layout, h.lr_crc32, "LR image", h.entropy_model, h.tables_sha256)
    alpha = None
    if f.alpha_stream is not None:
        alpha_layout = coder.ImageLayout(h.height, h.width, 1, LOSSLESS_STEP)
        alpha = _entropy_decode(f.alpha_stream, alpha_layout, h.alpha_crc32, "alpha plane",
                                h.entropy_model, h.tables_sha256)
    return Stored(h, lr, alpha, f.icc_profile, f.exif)


def thumbnail_of(s: Stored) -> Decoded:
    """The stored LR (with the alpha plane subsampled to its size); a scale-1 file's is the image."""
    out = s.lr
    if s.alpha is not None:
        out = np.concatenate([s.lr, s.alpha[:: s.header.scale, :: s.header.scale]], axis=2)
    return Decoded(out, s.icc_profile, s.exif, s.header)


def finish(s: Stored, rgb: np.ndarray) -> Decoded:
    """Crop the network's output to the image size, back to gray if it was, and re-attach alpha."""
    h = s.header
    rgb = rgb[: h.height, : h.width]
    if h.channels == 1:
        rgb = np.round(rgb.astype(np.float64).mean(axis=2, keepdims=True)).astype(np.uint8)
    out = rgb if s.alpha is None else np.concatenate([rgb, s.alpha], axis=2)
    return Decoded(np.ascontiguousarray(out), s.icc_profile, s.exif, h)


def decode_options(temperature: float | None, header: Header, device: str | torch.device,
                   dtype: torch.dtype) -> tuple[float, torch.device]:
    """Validate decode options; returns the temperature to use and the device."""
    t = header.temperature_milli / 1000 if temperature is None else temperature
    if not 0 <= t <= 65.535 or not math.isfinite(t):
        raise InputError(f"temperature must be in 0..65, got {t}")
    dev = _resolve_device(device)
    if dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise InputError(f"dtype must be float32, float16 or bfloat16, got {dtype}")
    if dtype != torch.float32 and dev.type != "cuda":
        raise InputError(f"{dtype} decoding is for CUDA devices; the CPU decodes in float32")
    return t, dev


def decode_file(data: bytes, *, device: str | torch.device = "auto", temperature: float | None = None,
                seed: int | None = None, thumbnail: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                dtype: torch.dtype = torch.float32, tile: int | None = TILE, progress: bool = False) -> Decoded:
    """Decode ``.irr`` bytes; see :func:`decode`."""
    s = read_stored(data, max_pixels)
    if thumbnail:
        return thumbnail_of(s)
    h = s.header
    t, dev = decode_options(temperature, h, device, dtype)
    if h.scale == 1:
        return finish(s, s.lr)
    net, _ = models.load_model(h.model_name, h.model_revision)
    rgb = _upscale(net, s.lr, t, h.seed if seed is None else seed, dev, dtype, tile, progress)
    return finish(s, rgb)


@torch.no_grad()
def _upscale(net, lr: np.ndarray, temperature: float, seed: int, device: torch.device,
             dtype: torch.dtype = torch.float32, tile: int | None = TILE, progress: bool = False) -> np.ndarray:
    """Inverse pass from the 8-bit LR; z is drawn whole on the CPU, so tiling never changes it."""
    x = network_input(net, lr, temperature, seed)
    on_device = models.to_device(net, device, dtype)
    return tiled_to_uint8(on_device.inverse, x, net.scale, tile=tile or max(x.shape[2:]),
                          device=device, dtype=dtype, progress=progress)


def network_input(net, lr: np.ndarray, temperature: float, seed: int) -> torch.Tensor:
    """(1, 3 * scale^2, h, w) CPU float32: the LR in [0, 1] (gray replicated) followed by its z."""
    if lr.shape[2] == 1:
        lr = np.repeat(lr, 3, axis=2)
    x = torch.from_numpy(np.array(lr)).permute(2, 0, 1)[None].float() / 255
    return torch.cat([x, net.draw_latent(1, x.shape[2], x.shape[3], temperature, seed)], dim=1)


def decode(data: bytes, *, device: str | torch.device = "auto", temperature: float | None = None,
           seed: int | None = None, thumbnail: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
           dtype: torch.dtype = torch.float32, progress: bool = False) -> Image.Image:
    """Decode ``.irr`` bytes to a PIL image (mode L, RGB or RGBA; ICC and EXIF in ``info``).

    Args:
        device: "auto" (CUDA when present), "cpu" or "cuda".
        temperature: latent temperature (0 = the mean of z); None uses the file's default.
        seed: seed of the latent draw; None uses the file's.
        thumbnail: return the stored LR image without running the network.
        max_pixels: refuse files declaring more pixels than this (decompression-bomb guard).
        dtype: the network's precision; float16 or bfloat16 on CUDA only (the LR stays bit-exact).
        progress: show a progress bar over the network's tiles on large images.
    """
    d = decode_file(data, device=device, temperature=temperature, seed=seed, thumbnail=thumbnail,
                    max_pixels=max_pixels, dtype=dtype, progress=progress)
    im = to_pil(d.array)
    if d.icc_profile is not None:
        im.info["icc_profile"] = d.icc_profile
    if d.exif is not None:
        im.info["exif"] = d.exif
    return im


def decode_array(data: bytes, **kwargs) -> np.ndarray:
    """Like :func:`decode`, returning an (H, W, C) uint8 array."""
    return decode_file(data, **kwargs).array


def decode_tensor(data: bytes, **kwargs) -> torch.Tensor:
    """Like :func:`decode`, returning a (C, H, W) float32 tensor in [0, 1]."""
    return torch.from_numpy(decode_array(data, **kwargs)).permute(2, 0, 1).float() / 255


def info(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict:
    """The header and chunk sizes of a file, as a JSON-ready dict (validates the whole container)."""
    f = unpack(data, max_pixels=max_pixels)
    h = f.header
    return {
        "container_version": f"1.{f.minor}",
        "width": h.width, "height": h.height, "channels": h.channels, "bit_depth": h.bit_depth,
        "scale": h.scale, "quality": h.quality, "lossless_lr": h.lossless_lr, "lr_step": h.lr_step / 256,
        "lr_width": h.lr_size[1], "lr_height": h.lr_size[0],
        "model": h.model_name, "model_revision": h.model_revision, "weights_sha256": h.weights_sha256.hex(),
        "temperature": h.temperature_milli / 1000, "seed": h.seed,
        "entropy_model": h.entropy_model, "tables_sha256": h.tables_sha256.hex(),
        "bytes": len(data), "bpp": 8 * len(data) / (h.width * h.height),
        "lr_stream_bytes": len(f.lr_stream),
        "alpha_stream_bytes": len(f.alpha_stream) if f.alpha_stream is not None else 0,
        "icc_profile_bytes": len(f.icc_profile) if f.icc_profile is not None else 0,
        "exif_bytes": len(f.exif) if f.exif is not None else 0,
        "unknown_chunks": [k.decode() for k, _ in f.unknown_chunks],
    }
