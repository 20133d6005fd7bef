"""The learned level's split in floating point, for training: YCoCg and one 9/7 level, the same
lifting as ``entropy.wavelet`` without its rounding (even sides only)."""

from __future__ import annotations

import torch
from torch import Tensor

from codec.level import LOW_CHANNELS
from entropy.wavelet import CDF97, FRACTION_BITS

FRACTION = float(1 << FRACTION_BITS["9/7"])  # coefficients are in 1/16 pixel units


def rgb_to_ycocg(x: Tensor) -> Tensor:
    """(B, 3, H, W) RGB -> Y, Co, Cg: YCoCg-R without its rounding."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    co = r - b
    t = b + co / 2
    cg = g - t
    return torch.cat([t + cg / 2, co, cg], dim=1)


def ycocg_to_rgb(y: Tensor) -> Tensor:
    luma, co, cg = y[:, 0:1], y[:, 1:2], y[:, 2:3]
    t = luma - cg / 2
    b = t - co / 2
    return torch.cat([b + co, cg + t, b], dim=1)


def _lift_forward(x: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """One 9/7 lifting pass along ``dim`` of an even length, mirrored at the ends as entropy.wavelet."""
    even, odd = x.narrow(dim, 0, x.shape[dim] // 2 * 2).unflatten(dim, (-1, 2)).unbind(dim + 1)
    for i, a in enumerate(CDF97):
        if i % 2 == 0:
            odd = odd + a * (even + torch.cat([even.narrow(dim, 1, even.shape[dim] - 1), even.narrow(dim, -1, 1)], dim))
        else:
            even = even + a * (torch.cat([odd.narrow(dim, 0, 1), odd.narrow(dim, 0, odd.shape[dim] - 1)], dim) + odd)
    return even, odd


def _lift_inverse(even: Tensor, odd: Tensor, dim: int) -> Tensor:
    for i, a in reversed(list(enumerate(CDF97))):
        if i % 2 == 0:
            odd = odd - a * (even + torch.cat([even.narrow(dim, 1, even.shape[dim] - 1), even.narrow(dim, -1, 1)], dim))
        else:
            even = even - a * (torch.cat([odd.narrow(dim, 0, 1), odd.narrow(dim, 0, odd.shape[dim] - 1)], dim) + odd)
    return torch.stack([even, odd], dim + 1).flatten(dim, dim + 1)


def dwt_level(x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
    """(B, C, H, W), H and W even -> LL and (HL, LH, HH), each (B, C, H/2, W/2)."""
    low_w, high_w = _lift_forward(x, 3)  # along the width
    ll, lh = _lift_forward(low_w, 2)
    hl, hh = _lift_forward(high_w, 2)
    return ll, (hl, lh, hh)


def idwt_level(ll: Tensor, bands: tuple[Tensor, Tensor, Tensor]) -> Tensor:
    hl, lh, hh = bands
    return _lift_inverse(_lift_inverse(ll, lh, 2), _lift_inverse(hl, hh, 2), 3)


def split(rgb: Tensor) -> tuple[Tensor, Tensor]:
    """(B, 3, H, W) RGB in pixel units -> (low (B, 3, h, w), high (B, 9, h, w)) in coefficient units."""
    ll, (hl, lh, hh) = dwt_level(rgb_to_ycocg(rgb) * FRACTION)
    return ll, interleave_high(hl, lh, hh)


def merge(low: Tensor, high: Tensor) -> Tensor:
    """Inverse of :func:`split`."""
    return ycocg_to_rgb(idwt_level(low, deinterleave_high(high)) / FRACTION)


def interleave_high(hl: Tensor, lh: Tensor, hh: Tensor) -> Tensor:
    """Three (B, 3, h, w) bands -> (B, 9, h, w) ordered plane by plane: Y's HL, LH, HH, then Co's, Cg's."""
    return torch.stack([hl, lh, hh], dim=2).flatten(1, 2)


def deinterleave_high(high: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    hl, lh, hh = high.unflatten(1, (LOW_CHANNELS, 3)).unbind(2)
    return hl, lh, hh
