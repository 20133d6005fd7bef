"""Scale 2 or 4: only the invertible rescaler's 8-bit LR is stored (pure rescaling, container 1.0);
the decoder draws its latent z from N(0, T^2 I) and runs the inverse pass."""

from __future__ import annotations

import numpy as np
import torch

from bitstream.container import Header, IrrFile
from codec import models
from codec.modes import Encoded, encode_image, read_lr, refuse_detail, verify_network
from codec.network import InvertibleRescaler
from codec.pixels import mean_gray
from codec.settings import DecodeSettings, EncodeSettings, resolve_revision
from codec.tiling import MARGIN, TILE, tiled_to_uint8
from entropy.tables import EntropyTables


def encode(image: np.ndarray, settings: EncodeSettings) -> Encoded:
    scale = settings.scale
    name = models.DEFAULT_MODEL[scale]
    revision = resolve_revision(name, settings.network_revision)
    lr = lr_of(image, scale, revision, settings.progress)
    _, weights_hash = models.load_model(name, revision)
    tables, tables_hash = models.load_tables(models.RESCALER_ENTROPY_MODEL)
    stream, crc = encode_image(lr, settings.lr_step, tables)
    return Encoded(scale, name, revision, weights_hash, models.RESCALER_ENTROPY_MODEL, tables, tables_hash, stream, crc, 0)


def verify(f: IrrFile) -> None:
    verify_network(f.header)
    refuse_detail(f)


def read(f: IrrFile, tables: EntropyTables, detail: bool, workers: int = 1) -> np.ndarray:
    return read_lr(f, tables, workers)


def thumbnail(stored: np.ndarray, header: Header) -> np.ndarray:
    return stored


@torch.no_grad()
def reconstruct(stored: np.ndarray, header: Header, settings: DecodeSettings) -> np.ndarray:
    """Inverse pass from the 8-bit LR; z is drawn whole on the CPU, so tiling never changes it."""
    net, _ = models.load_model(header.model_name, header.model_revision)
    temperature, seed = settings.draw(header)
    return restore(net, stored, temperature, seed, settings)


def lr_of(image: np.ndarray, scale: int, revision: int | None = None, progress: bool = False) -> np.ndarray:
    """The 8-bit LR a ``scale`` file stores for an (H, W, 1|3|4) image: the colour planes' forward
    pass; a gray image's LR stays gray, one plane (replicated again on decode)."""
    gray = image.shape[2] == 1
    lr = downscale(np.repeat(image, 3, axis=2) if gray else image[..., :3], scale, progress=progress, revision=revision)
    return mean_gray(lr) if gray else lr


@torch.no_grad()
def restore(net: InvertibleRescaler, lr: np.ndarray, temperature: float, seed: int,
            settings: DecodeSettings) -> np.ndarray:
    """The inverse pass from an 8-bit (h, w, 1|3) LR: (h * scale, w * scale, 3) uint8."""
    x = network_input(net, lr, temperature, seed)
    on_device = models.to_device(net, settings.device, settings.dtype)
    return tiled_to_uint8(on_device.inverse, x, net.scale, tile=settings.tile_or(TILE) or max(x.shape[2:]),
                          device=settings.device, dtype=settings.dtype, progress=settings.progress)


def network_input(net: InvertibleRescaler, lr: np.ndarray, temperature: float, seed: int) -> torch.Tensor:
    """(1, 3 * scale^2, h, w) CPU float32: the LR in [0, 1] (gray replicated) followed by its z."""
    if lr.shape[2] == 1:
        lr = np.repeat(lr, 3, axis=2)
    x = torch.from_numpy(np.array(lr)).permute(2, 0, 1)[None].float() / 255
    return torch.cat([x, net.draw_latent(1, x.shape[2], x.shape[3], temperature, seed)], dim=1)


def _pad_to_multiple(rgb: np.ndarray, scale: int) -> np.ndarray:
    """Edge-replicate the bottom and right so both sides are multiples of ``scale`` (cropped on decode)."""
    h, w = rgb.shape[:2]
    pad_h, pad_w = -h % scale, -w % scale
    if pad_h or pad_w:
        rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return rgb


@torch.no_grad()
def downscale(rgb: np.ndarray, scale: int, tile: int | None = TILE, progress: bool = False,
              revision: int | None = None) -> np.ndarray:
    """The shipped rescaler's forward pass (``revision``, default the latest): (H, W, 3) uint8 ->
    the 8-bit LR (ceil(H/s), ceil(W/s), 3), tiled on the CPU."""
    name = models.DEFAULT_MODEL[scale]
    net, _ = models.load_model(name, models.latest_revision(name) if revision is None else revision)
    x = torch.from_numpy(np.array(_pad_to_multiple(rgb, scale))).permute(2, 0, 1)[None]  # uint8
    size = tile * scale if tile else max(x.shape[2:])
    return tiled_to_uint8(net, x, 1 / scale, align=scale, tile=size, margin=MARGIN * scale, progress=progress)
