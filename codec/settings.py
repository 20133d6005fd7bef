"""Every option of encode and decode, checked in one place: the quality scale, the encode and
decode settings objects and their validation (each error names the argument)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from bitstream.container import DEFAULT_MAX_PIXELS, Header
from bitstream.errors import InputError
from codec import models
from codec.summary import check_data, check_max_pixels  # noqa: F401 (the checks of a file's bytes, torch-free)

from codec.defaults import DEFAULT_QUALITY, DEFAULT_SCALE, DEFAULT_TEMPERATURE, LOSSLESS_QUALITY, SCALES  # noqa: F401


def quality_to_step(quality: int) -> float:
    """Quantiser step of an explicit scale (1, 2 or 4) for a quality in 1..100: doubles every 12.5
    points; 100 is lossless."""
    check_quality(quality)
    return 2.0 ** ((100 - quality) / 12.5)


def check_quality(quality: int) -> None:
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
# Measured 2026-12-04 on the 22 photos now held out (6 subjects; bench/results/quality.json), with
# w97-adaptive-2: 20.75 meets both conditions on 17 of the 22 (no constant meets them on all: each
# photo trades PSNR for bytes against JPEG differently; the previous 22.63, measured on 6 photos,
# meets them on 13 and leaves one photo 0.14 dB under JPEG's PSNR) and keeps all 22 at or above it.
LEVEL_STEP_AT_50 = 20.75
LEVEL_KNEE_QUALITY = 15
MAX_STEP = 255.0
MIN_STEP = 1.0 + 1 / 256
# Below this quality the default path stores only the LR and models all of the detail (the
# IRN mode: no ZDAT chunk); measured where that stops paying (``irr tools calibrate-quality``:
# from q 20 up the stored detail's PSNR gain beats what its extra rate buys along the curve; on the
# 6 photos held out before, from q 30).
DETAIL_FROM_QUALITY = 20


def _jpeg_scaled_step(quality: int, step_at_50: float) -> float:
    scaling = 5000 / quality if quality < 50 else 200 - 2 * quality
    return step_at_50 * scaling / 100


def level_step(quality: int, step_at_50: float = LEVEL_STEP_AT_50) -> float:
    """Quantiser step of the learned-level path for a quality in 1..99 (strictly falling in q)."""
    check_quality(quality)
    if quality >= LEVEL_KNEE_QUALITY:
        return min(MAX_STEP, max(MIN_STEP, _jpeg_scaled_step(quality, step_at_50)))
    knee = min(MAX_STEP, _jpeg_scaled_step(LEVEL_KNEE_QUALITY, step_at_50))
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
    step_at_50: float = LEVEL_STEP_AT_50  # the quality scale's constant: only calibration varies it
    progress: bool = False  # a bar over the network's tiles on large images (never changes the file)

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
        step = level_step(self.quality, self.step_at_50) if self.mode == "level" else quality_to_step(self.quality)
        return min(65535, int(round(step * 256)))

    @classmethod
    def checked(cls, quality: int = DEFAULT_QUALITY, scale: int | None = DEFAULT_SCALE, lossless: bool = False,
                temperature: float = DEFAULT_TEMPERATURE, seed: int = 0, detail: bool | None = None,
                network_revision: int | None = None, entropy_model: str | None = None,
                progress: bool = False) -> EncodeSettings:
        """The settings of :func:`codec.api.encode`'s arguments, each checked (``InputError``)."""
        check_encode_options(quality, scale, lossless, temperature, seed)
        check_bool("progress", progress)
        if detail is not None and not isinstance(detail, bool):
            raise InputError(f"detail must be True, False or None, got {detail!r}")
        if network_revision is not None and (isinstance(network_revision, bool) or not isinstance(network_revision, int)):
            raise InputError(f"network_revision must be an integer or None, got {network_revision!r}")
        settings = cls(LOSSLESS_QUALITY if lossless else quality, scale, temperature, seed, detail, network_revision,
                       entropy_model, progress=progress)
        if entropy_model is not None and (settings.mode != "level" or entropy_model not in models.LEVEL_ENTROPY_MODELS):
            raise InputError(f"entropy_model must be one of {', '.join(models.LEVEL_ENTROPY_MODELS)} for the learned "
                             f"level (scale None, lossy), got {entropy_model!r}")
        return settings


# ``DecodeSettings.tile``'s default: each mode's own tile (the learned level's is its encoder's).
MODE_TILE = "auto"


def plane_workers() -> int:
    """Threads for the planes' work besides the network's (a decode's entropy decoding and wavelets,
    an encode's shift choice): torch's intra-op thread count (``torch.set_num_threads``,
    ``OMP_NUM_THREADS``), so one setting bounds the whole codec."""
    return torch.get_num_threads()


@dataclass(frozen=True)
class DecodeSettings:
    """How to decode: where the network runs, the latent draw, and the limits."""

    device: torch.device
    temperature: float | None = None  # None: the file's
    seed: int | None = None  # None: the file's
    thumbnail: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    dtype: torch.dtype = torch.float32
    tile: int | str | None = MODE_TILE  # LR-grid samples per tile side; None: the whole image at once
    progress: bool = False

    @classmethod
    def checked(cls, device: str | torch.device = "auto", temperature: float | None = None, seed: int | None = None,
                thumbnail: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS, dtype: torch.dtype = torch.float32,
                tile: int | str | None = MODE_TILE, progress: bool = False) -> DecodeSettings:
        """The settings of :func:`codec.api.decode`'s arguments, each checked (``InputError``)."""
        if temperature is not None:
            check_temperature(temperature)
        if seed is not None:
            check_seed(seed)
        for name, value in (("thumbnail", thumbnail), ("progress", progress)):
            check_bool(name, value)
        check_max_pixels(max_pixels)
        if tile != MODE_TILE and tile is not None and (
                isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 8):
            raise InputError(f"tile must be an integer of at least 8, or None, got {tile!r}")
        if dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise InputError(f"dtype must be float32, float16 or bfloat16, got {dtype}")
        dev = resolve_device(device)
        if dtype != torch.float32 and dev.type != "cuda":
            raise InputError(f"{dtype} decoding is for CUDA devices; the CPU decodes in float32")
        return cls(dev, temperature, seed, thumbnail, max_pixels, dtype, tile, progress)

    def draw(self, header: Header) -> tuple[float, int]:
        """The latent temperature and seed of a file: these settings', else the file's own."""
        t = header.temperature_milli / 1000 if self.temperature is None else self.temperature
        check_temperature(t)
        return t, header.seed if self.seed is None else self.seed

    def tile_or(self, own: int | None) -> int | None:
        """The tile side to use where the mode's own is ``own``."""
        return own if self.tile == MODE_TILE else self.tile


def resolve_revision(model_name: str, asked: int | None) -> int:
    if asked is None:
        return models.latest_revision(model_name)
    models.weights_path(model_name, asked)  # refuses a revision this irr does not have
    return asked


def resolve_device(device: str | torch.device) -> torch.device:
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


def check_encode_options(quality: int, scale: int | None, lossless: bool, temperature: float, seed: int) -> None:
    """Type and range checks of every encode option; raises ``InputError`` naming the argument."""
    if scale is not None and (isinstance(scale, bool) or scale not in SCALES):
        raise InputError(f"scale must be 1, 2 or 4 (or None for the learned level), got {scale!r}")
    check_quality(quality)
    check_bool("lossless", lossless)
    check_temperature(temperature)
    check_seed(seed)


def check_targets(target_bytes: object, target_psnr: object, quality: object, lossless: object) -> None:
    """At most one rate target, in range, and not beside a quality or ``lossless`` it would overrule."""
    if target_bytes is not None and (isinstance(target_bytes, bool) or not isinstance(target_bytes, (int, np.integer))
                                     or target_bytes < 1):
        raise InputError(f"target_bytes must be a positive integer, got {target_bytes!r}")
    if target_psnr is not None and (isinstance(target_psnr, bool) or not isinstance(target_psnr, (int, float, np.number))
                                    or not 0 < target_psnr < 100):
        raise InputError(f"target_psnr must be a number of dB in (0, 100), got {target_psnr!r}")
    given = [name for name, value in (("target_bytes", target_bytes), ("target_psnr", target_psnr),
                                      ("quality", quality)) if value is not None] + (["lossless"] if lossless is True else [])
    if len(given) > 1 and given[0].startswith("target"):
        raise InputError(f"{given[0]} and {given[1]} cannot both be given: the target picks the quality")


def check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise InputError(f"seed must be an integer in 0..2^32-1, got {seed!r}")


def check_temperature(temperature: float) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating, np.integer)):
        raise InputError(f"temperature must be a number in 0..65, got {temperature!r}")
    if not math.isfinite(temperature) or not 0 <= temperature <= 65.535:
        raise InputError(f"temperature must be in 0..65, got {temperature}")


def check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise InputError(f"{name} must be True or False, got {value!r}")
