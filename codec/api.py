"""The public encode/decode API. Data flows one way: pixels -> network -> entropy -> bitstream."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from bitstream.container import (DEFAULT_MAX_PIXELS, DIRECT_MINOR, LEVEL_MINOR, Header, IrrFile, max_stream_bytes,
                                 pack, unpack)
from bitstream.errors import ChecksumError, FormatError, InputError, WeightsMismatchError
from codec import models, resources
from codec.pixels import ImageLike, Pixels, load, to_pil
from codec.tiling import MARGIN, TILE, tiled_to_uint8
from codec.transform import LevelTransform
from entropy import coder
from entropy.contexts import LOSSLESS_STEP
from entropy import pyramid

DEFAULT_QUALITY = 75
DEFAULT_SCALE: int | None = None  # the learned level
SCALES = (1, 2, 4)
DEFAULT_TEMPERATURE = 0.0
LOSSLESS_QUALITY = 100


def quality_to_step(quality: int) -> float:
    """Quantiser step of an explicit scale (1, 2 or 4) for a quality in 1..100: doubles every 12.5
    points; 100 is lossless."""
    _check_quality(quality)
    return 2.0 ** ((100 - quality) / 12.5)


def _check_quality(quality: int) -> None:
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
        raise InputError(f"quality must be an integer in 1..100, got {quality!r}")
    if not 1 <= quality <= 100:
        raise InputError(f"quality must be in 1..100, got {quality}")


# The default path's quality scale, in JPEG's habit: the step is proportional to libjpeg's table
# scaling (5000 / q below 50, 200 - 2q from 50), so "-q 75" lands where JPEG's quality 75 does in
# PSNR, at a fraction of its bytes. LEVEL_STEP_AT_50 is measured on held-out training photos
# (``irr tools calibrate-quality``), never on eval/. Below LEVEL_KNEE_QUALITY JPEG's curve
# would pass the header's largest step (8.8 bits: 255) within a few qualities and make them all
# equal; there the step instead climbs geometrically to MAX_STEP at q = 1, so every q is its own.
# Measured 2026-12-02 (bench/results/quality.json): constants 17.45..29.34 meet both conditions on 4
# of the 6 held-out photos (no constant meets them on all: each photo trades PSNR for bytes against
# JPEG differently); 22.63 is the largest that keeps all 6 at or above JPEG's PSNR.
LEVEL_STEP_AT_50 = 22.63
LEVEL_KNEE_QUALITY = 15
MAX_STEP = 255.0
MIN_STEP = 1.0 + 1 / 256
# Below this quality the default path stores only the LR and models all of the detail (the
# IRN mode: no ZDAT chunk); measured where that stops paying (``irr tools calibrate-quality``:
# from q 30 up the stored detail's PSNR gain beats what its extra rate buys along the curve).
DETAIL_FROM_QUALITY = 30


def _jpeg_scaled_step(quality: int) -> float:
    scaling = 5000 / quality if quality < 50 else 200 - 2 * quality
    return LEVEL_STEP_AT_50 * scaling / 100


def level_step(quality: int) -> float:
    """Quantiser step of the learned-level path for a quality in 1..99 (strictly falling in q)."""
    _check_quality(quality)
    if quality >= LEVEL_KNEE_QUALITY:
        return min(MAX_STEP, max(MIN_STEP, _jpeg_scaled_step(quality)))
    knee = min(MAX_STEP, _jpeg_scaled_step(LEVEL_KNEE_QUALITY))
    return knee * (MAX_STEP / knee) ** ((LEVEL_KNEE_QUALITY - quality) / (LEVEL_KNEE_QUALITY - 1))


@dataclass(frozen=True)
class EncodeSettings:
    quality: int = DEFAULT_QUALITY
    scale: int | None = DEFAULT_SCALE  # None: the learned level (or, lossless, the image itself)
    temperature: float = DEFAULT_TEMPERATURE
    seed: int = 0
    detail: bool | None = None  # learned level: store the detail? None: by quality (DETAIL_FROM_QUALITY)
    network_revision: int | None = None  # None: the latest shipped
    entropy_model: str | None = None  # learned level: None is models.LEVEL_ENTROPY_MODEL

    @property
    def stores_detail(self) -> bool:
        return self.quality >= DETAIL_FROM_QUALITY if self.detail is None else self.detail

    @property
    def mode(self) -> str:
        """"level" (the default lossy path), "direct" (scale 1: no network) or "rescaler" (scale 2 or 4)."""
        if self.scale is None:
            return "direct" if self.quality == LOSSLESS_QUALITY else "level"
        return "direct" if self.scale == 1 else "rescaler"

    @property
    def lr_step(self) -> int:
        """The header's 8.8 fixed-point quantiser step."""
        step = level_step(self.quality) if self.mode == "level" else quality_to_step(self.quality)
        return min(65535, int(round(step * 256)))


def _revision(model_name: str, asked: int | None) -> int:
    if asked is None:
        return models.latest_revision(model_name)
    models.weights_path(model_name, asked)  # refuses a revision this irr does not have
    return asked


def _resolve_device(device: str | torch.device) -> torch.device:
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise InputError(f"device must be 'auto', 'cpu', 'cuda' or a torch.device, got {device!r}")
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
           keep_metadata: bool = True, max_pixels: int = DEFAULT_MAX_PIXELS, detail: bool | None = None,
           network_revision: int | None = None, entropy_model: str | None = None) -> bytes:
    """Encode an image (path, PIL image or (H, W[, C]) uint8 array) to ``.irr`` bytes.

    Args:
        quality: 1..100, higher is better (JPEG's scale: see :func:`level_step`); 100 (or
            ``lossless=True``) is lossless: the image itself, or with scale 2 or 4 the rescaler's LR.
        scale: None (default) codes through irr's learned level, the INN; 1 stores the image with
            the wavelet coder alone (no network); 2 or 4 store only the LR of the invertible
            rescaler (pure rescaling: the detail is never stored).
        temperature: default decode temperature written to the header (decoders may override):
            the spread of the Gaussian that models what the quantiser discarded; 0 is its mean.
        seed: seed of that draw, written to the header so every decode is reproducible.
        keep_metadata: carry the ICC profile and EXIF (False drops them, as cwebp does by default).
        max_pixels: refuse larger inputs (the default is Pillow's ``Image.MAX_IMAGE_PIXELS``).
        detail: learned level only: store its detail (True), or only the LR with all detail
            modelled (False, the IRN mode); None lets the quality decide (``DETAIL_FROM_QUALITY``).
        network_revision: the revision of the network to code with (None: the latest shipped).
        entropy_model: learned level only: the entropy model to code with, one of
            ``models.LEVEL_ENTROPY_MODELS`` (None: the newest; an older one for ablations).
    """
    check_encode_options(quality, scale, lossless, temperature, seed, keep_metadata, max_pixels)
    if detail is not None and not isinstance(detail, bool):
        raise InputError(f"detail must be True, False or None, got {detail!r}")
    if network_revision is not None and (isinstance(network_revision, bool) or not isinstance(network_revision, int)):
        raise InputError(f"network_revision must be an integer or None, got {network_revision!r}")
    if lossless:
        quality = LOSSLESS_QUALITY
    settings = EncodeSettings(quality, scale, temperature, seed, detail, network_revision, entropy_model)
    if entropy_model is not None and (settings.mode != "level" or entropy_model not in models.LEVEL_ENTROPY_MODELS):
        raise InputError(f"entropy_model must be one of {', '.join(models.LEVEL_ENTROPY_MODELS)} for the learned "
                         f"level (scale None, lossy), got {entropy_model!r}")
    pixels = load(image, max_pixels)
    if not keep_metadata:
        pixels = Pixels(pixels.array)
    return encode_pixels(pixels, settings)


def check_encode_options(quality: int, scale: int | None, lossless: bool, temperature: float, seed: int,
                         keep_metadata: bool = True, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Type and range checks of every encode option; raises ``InputError`` naming the argument."""
    if scale is not None and (isinstance(scale, bool) or scale not in SCALES):
        raise InputError(f"scale must be 1, 2 or 4 (or None for the learned level), got {scale!r}")
    _check_quality(quality)
    for name, value in (("lossless", lossless), ("keep_metadata", keep_metadata)):
        if not isinstance(value, bool):
            raise InputError(f"{name} must be True or False, got {value!r}")
    check_temperature(temperature)
    _check_seed(seed)
    check_max_pixels(max_pixels)


def _check_data(data: bytes) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"data must be the bytes of an .irr file, got {type(data).__name__}")


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise InputError(f"seed must be an integer in 0..2^32-1, got {seed!r}")


def check_temperature(temperature: float) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating, np.integer)):
        raise InputError(f"temperature must be a number in 0..65, got {temperature!r}")
    if not math.isfinite(temperature) or not 0 <= temperature <= 65.535:
        raise InputError(f"temperature must be in 0..65, got {temperature}")


def check_max_pixels(max_pixels: int) -> None:
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
        raise InputError(f"max_pixels must be a positive integer, got {max_pixels!r}")


def encode_pixels(pixels: Pixels, settings: EncodeSettings) -> bytes:
    """Encode normalised pixels (see :mod:`codec.pixels`) with validated settings."""
    a = pixels.array
    h, w, channels = a.shape
    mode, lr_step = settings.mode, settings.lr_step
    detail_stream, minor = None, 0
    if mode == "level":
        image = np.ascontiguousarray(a[..., :1] if channels == 1 else a[..., :3])
        model_name, scale = models.LEVEL_MODEL, 2
        revision = _revision(model_name, settings.network_revision)
        net, weights_hash = models.load_model(model_name, revision)
        entropy_model = settings.entropy_model or models.LEVEL_ENTROPY_MODEL
        tables, tables_hash = models.load_tables(entropy_model)
        layout = coder.ImageLayout(h, w, image.shape[2], lr_step)
        # Detail that is not stored is not coded either (the LR's symbols never depend on it).
        parts = ("lr", "detail") if settings.stores_detail else ("lr",)
        coded = coder.encode_parts(image, layout, tables, parts, LevelTransform(net, lr_step))
        lr_stream, lr_crc, minor = coded.payloads[0], coded.crcs[0], LEVEL_MINOR
        detail_stream = coded.payloads[1] if settings.stores_detail else None
    else:
        scale = 1 if mode == "direct" else settings.scale
        if scale == 1:  # the image itself: no network, no latent
            lr = np.ascontiguousarray(a[..., :1] if channels == 1 else a[..., :3])
            model_name, revision, weights_hash = models.DIRECT, 0, models.DIRECT_HASH
            minor = DIRECT_MINOR
        else:
            rgb = np.repeat(a, 3, axis=2) if channels == 1 else a[..., :3]
            lr = _downscale(rgb, scale)
            if channels == 1:  # a gray image's LR stays gray: one plane, replicated again on decode
                lr = np.round(lr.astype(np.float64).mean(axis=2, keepdims=True)).astype(np.uint8)
            model_name = models.DEFAULT_MODEL[scale]
            revision = _revision(model_name, settings.network_revision)
            _, weights_hash = models.load_model(model_name, revision)
        entropy_model = models.RESCALER_ENTROPY_MODEL
        tables, tables_hash = models.load_tables(entropy_model)
        layout = coder.ImageLayout(lr.shape[0], lr.shape[1], lr.shape[2], lr_step)
        lr_stream, lr_decoded = coder.encode(lr, layout, tables)
        lr_crc = zlib.crc32(lr_decoded.tobytes())
    alpha_stream, alpha_crc = None, 0
    if channels == 4:
        alpha = np.ascontiguousarray(a[..., 3:])
        alpha_stream, _ = coder.encode(alpha, coder.ImageLayout(h, w, 1, LOSSLESS_STEP), tables)
        alpha_crc = zlib.crc32(alpha.tobytes())
    header = Header(
        width=w, height=h, channels=channels, scale=scale, quality=settings.quality,
        lr_step=lr_step, model_name=model_name, model_revision=revision, weights_sha256=weights_hash,
        temperature_milli=int(round(settings.temperature * 1000)), seed=settings.seed,
        entropy_model=entropy_model, tables_sha256=tables_hash, lr_crc32=lr_crc, alpha_crc32=alpha_crc,
    )
    return pack(IrrFile(header, lr_stream, alpha_stream, pixels.icc_profile, pixels.exif, minor=minor,
                        detail_stream=detail_stream))


@dataclass
class Decoded:
    """A decoded image: (H, W, C) uint8 pixels and the metadata the file carried."""

    array: np.ndarray
    icc_profile: bytes | None
    exif: bytes | None
    header: Header


@dataclass
class Stored:
    """What a file stores, entropy-decoded and verified: the LR (h, w, 1|3), or for a learned-level
    file its quantised pyramid, and the alpha plane."""

    header: Header
    lr: np.ndarray | None
    alpha: np.ndarray | None
    icc_profile: bytes | None
    exif: bytes | None
    pyramid: tuple[list, list[dict]] | None = None  # learned level: (planes_q, steps) of entropy.coder

    @property
    def kind(self) -> str:
        return models.kind_of(self.header.model_name)


def _tables(h: Header) -> coder.EntropyTables:
    tables, digest = models.load_tables(h.entropy_model)
    if digest != h.tables_sha256:
        raise WeightsMismatchError(f"entropy tables {h.entropy_model} installed here differ from the encoder's")
    return tables


def read_stored(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, detail: bool = True) -> Stored:
    """Parse, check weights and tables, entropy-decode the LR (and alpha) and verify their CRCs.

    ``detail=False`` leaves a learned-level file's detail undecoded (enough for its thumbnail).
    """
    check_max_pixels(max_pixels)
    _check_data(data)
    f = unpack(data, max_pixels=max_pixels)
    h = f.header
    kind = models.kind_of(h.model_name)
    streams = len(f.lr_stream) + len(f.alpha_stream or b"") + len(f.detail_stream or b"")
    resources.check_decode_fits(h, kind, streams)
    if kind == "none":
        if h.scale != 1 or (h.model_revision, h.weights_sha256) != (0, models.DIRECT_HASH):
            raise FormatError(f"a file that names no network must be scale 1 with no weights, not scale {h.scale}")
    else:
        models.check_weights(h.model_name, h.model_revision, h.weights_sha256)
        if h.scale != models.scale_of(h.model_name):
            raise FormatError(f"{h.model_name} files are scale {models.scale_of(h.model_name)}, this one says {h.scale}")
    if h.scale == 1 and kind != "none":
        raise FormatError(f"a scale-1 file names no network, but this one names {h.model_name!r}")
    if f.detail_stream is not None and kind != "level":
        raise FormatError("only learned-level files carry a ZDAT chunk")
    tables = _tables(h)
    lr, pyramid = None, None
    if kind == "level":
        layout = coder.ImageLayout(h.height, h.width, 1 if h.channels == 1 else 3, h.lr_step)
        planes_q, steps, crcs = coder.decode_symbols([f.lr_stream, f.detail_stream if detail else None], layout,
                                                     tables, ("lr", "detail"))
        if crcs[0] != h.lr_crc32:
            raise ChecksumError("decoded LR image does not match its checksum: the file is corrupt")
        pyramid = (planes_q, steps)
    else:
        lr_h, lr_w = h.lr_size
        lr_layout = coder.ImageLayout(lr_h, lr_w, 1 if h.channels == 1 else 3, h.lr_step)
        lr = _entropy_decode(f.lr_stream, lr_layout, h.lr_crc32, "LR image", tables)
    alpha = None
    if f.alpha_stream is not None:
        alpha_layout = coder.ImageLayout(h.height, h.width, 1, LOSSLESS_STEP)
        alpha = _entropy_decode(f.alpha_stream, alpha_layout, h.alpha_crc32, "alpha plane", tables)
    return Stored(h, lr, alpha, f.icc_profile, f.exif, pyramid)


def _entropy_decode(stream: bytes, layout: coder.ImageLayout, expected_crc: int, what: str,
                    tables: coder.EntropyTables) -> np.ndarray:
    pixels = coder.decode(stream, layout, tables, max_stream_bytes(layout.n_symbols))
    if zlib.crc32(pixels.tobytes()) != expected_crc:
        raise ChecksumError(f"decoded {what} does not match its checksum: the file is corrupt")
    return pixels


def thumbnail_of(s: Stored) -> Decoded:
    """The stored LR (with the alpha plane subsampled to its size); a scale-1 file's is the image."""
    out = pyramid.thumbnail(*s.pyramid) if s.pyramid is not None else s.lr
    if s.alpha is not None:
        out = np.concatenate([out, s.alpha[:: s.header.scale, :: s.header.scale][: out.shape[0], : out.shape[1]]], axis=2)
    return Decoded(out, s.icc_profile, s.exif, s.header)


def finish(s: Stored, rgb: np.ndarray) -> Decoded:
    """Crop the network's output to the image size, back to gray if it was, and re-attach alpha."""
    h = s.header
    rgb = rgb[: h.height, : h.width]
    if h.channels == 1 and rgb.shape[2] != 1:
        rgb = np.round(rgb.astype(np.float64).mean(axis=2, keepdims=True)).astype(np.uint8)
    out = rgb if s.alpha is None else np.concatenate([rgb, s.alpha], axis=2)
    return Decoded(np.ascontiguousarray(out), s.icc_profile, s.exif, h)


def decode_options(temperature: float | None, header: Header, device: str | torch.device,
                   dtype: torch.dtype) -> tuple[float, torch.device]:
    """Validate decode options; returns the temperature to use and the device."""
    t = header.temperature_milli / 1000 if temperature is None else temperature
    check_temperature(t)
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
    check_decode_arguments(data, seed, thumbnail, tile, progress)
    s = read_stored(data, max_pixels, detail=not thumbnail)
    if thumbnail:
        return thumbnail_of(s)
    t, dev = decode_options(temperature, s.header, device, dtype)
    return decode_stored(s, t, s.header.seed if seed is None else seed, dev, dtype, tile, progress)


def check_decode_arguments(data: bytes, seed: int | None, thumbnail: bool, tile: int | None, progress: bool) -> None:
    _check_data(data)
    if seed is not None:
        _check_seed(seed)
    for name, value in (("thumbnail", thumbnail), ("progress", progress)):
        if not isinstance(value, bool):
            raise InputError(f"{name} must be True or False, got {value!r}")
    if tile is not None and (isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 8):
        raise InputError(f"tile must be an integer of at least 8, or None, got {tile!r}")


def decode_stored(s: Stored, temperature: float, seed: int, device: torch.device, dtype: torch.dtype = torch.float32,
                  tile: int | None = TILE, progress: bool = False) -> Decoded:
    """The image of a verified file: the inverse pass of its network (none at scale 1)."""
    h = s.header
    if s.kind == "none":
        return finish(s, s.lr)
    net, _ = models.load_model(h.model_name, h.model_revision)
    if s.kind == "level":
        planes_q, steps = s.pyramid
        s.pyramid = None  # synthesise consumes it
        level = LevelTransform(models.to_device(net, device, dtype), h.lr_step, temperature, seed, device, dtype,
                               tile or LEVEL_WHOLE)
        return finish(s, pyramid.synthesise(planes_q, steps, level))
    return finish(s, _upscale(net, s.lr, temperature, seed, device, dtype, tile, progress))


LEVEL_WHOLE = 1 << 20  # a tile side no image reaches: one pass


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
    check_max_pixels(max_pixels)
    _check_data(data)
    f = unpack(data, max_pixels=max_pixels)
    h = f.header
    kind = models.kind_of(h.model_name) if h.model_name in models.MODEL_KINDS or h.model_name == models.DIRECT else "unknown"
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
        "model": h.model_name, "model_revision": h.model_revision, "weights_sha256": h.weights_sha256.hex(),
        "temperature": h.temperature_milli / 1000, "seed": h.seed,
        "entropy_model": h.entropy_model, "tables_sha256": h.tables_sha256.hex(),
        "bytes": len(data), "bpp": 8 * len(data) / (h.width * h.height),
        "lr_stream_bytes": len(f.lr_stream),
        "detail_stream_bytes": len(f.detail_stream) if f.detail_stream is not None else 0,
        "alpha_stream_bytes": len(f.alpha_stream) if f.alpha_stream is not None else 0,
        "icc_profile_bytes": len(f.icc_profile) if f.icc_profile is not None else 0,
        "exif_bytes": len(f.exif) if f.exif is not None else 0,
        "unknown_chunks": [k.decode() for k, _ in f.unknown_chunks],
    }
