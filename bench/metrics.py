"""Distortion and rate measures, defined as in ../shared/data/ANCHORS.md."""

from __future__ import annotations

import math

import numpy as np


def bpp(n_bytes: int, width: int, height: int) -> float:
    """Bits per pixel of a whole file, headers included."""
    return 8.0 * n_bytes / (width * height)


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB over all samples of two 8-bit images (no border crop); inf when identical."""
    if reference.shape != decoded.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {decoded.shape}")
    mse = np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


MS_SSIM_MIN_SIDE = 161  # pytorch-msssim's 5 scales with an 11-tap window need a side > (11 - 1) * 2^4


def ms_ssim(reference: np.ndarray, decoded: np.ndarray) -> float:
    """MS-SSIM over RGB as pytorch-msssim computes it (data_range 255); NaN for images too small."""
    if min(reference.shape[:2]) < MS_SSIM_MIN_SIDE:
        return math.nan
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    def tensor(a: np.ndarray) -> torch.Tensor:
        a = a[..., None] if a.ndim == 2 else a
        return torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)[None]

    return float(_ms_ssim(tensor(reference), tensor(decoded), data_range=255))
