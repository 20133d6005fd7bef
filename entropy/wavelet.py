"""Reversible integer transforms: YCoCg-R colour and the LeGall 5/3 lifting wavelet (JPEG 2000's).

Integers in, integers out, exactly invertible for any size (odd and 1-pixel sides included), so
the lossless path is bit-exact and the lossy path's reconstruction is identical on every machine.
"""

from __future__ import annotations

import numpy as np

Bands = list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per level, finest first: (HL, LH, HH)


def ycocg_forward(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) int -> (3, H, W) int32 planes Y, Co, Cg (YCoCg-R, lossless)."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    co = r - b
    t = b + (co >> 1)
    cg = g - t
    y = t + (cg >> 1)
    return np.stack([y, co, cg])


def ycocg_inverse(planes: np.ndarray) -> np.ndarray:
    """Exact inverse of :func:`ycocg_forward`: (3, H, W) -> (H, W, 3) int32."""
    y, co, cg = planes
    t = y - (cg >> 1)
    g = cg + t
    b = t - (co >> 1)
    r = b + co
    return np.stack([r, g, b], axis=-1)


def _lift_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One 5/3 lifting step along axis 0: x (n, ...) -> low (ceil(n/2), ...), high (floor(n/2), ...)."""
    even, odd = x[0::2], x[1::2]
    n_high = odd.shape[0]
    if n_high == 0:
        return even.copy(), odd.copy()
    right = even[1 : n_high + 1] if even.shape[0] > n_high else np.concatenate([even[1:], even[-1:]])
    high = odd - ((even[:n_high] + right) >> 1)
    left_h = np.concatenate([high[:1], high[:-1]])
    right_h = high if even.shape[0] == n_high else np.concatenate([high, high[-1:]])
    left_h = left_h if even.shape[0] == n_high else np.concatenate([left_h, high[-1:]])
    low = even + ((left_h + right_h + 2) >> 2)
    return low, high


def _lift_inverse(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    n_high = high.shape[0]
    if n_high == 0:
        return low.copy()
    left_h = np.concatenate([high[:1], high[:-1]])
    right_h = high if low.shape[0] == n_high else np.concatenate([high, high[-1:]])
    left_h = left_h if low.shape[0] == n_high else np.concatenate([left_h, high[-1:]])
    even = low - ((left_h + right_h + 2) >> 2)
    right = even[1 : n_high + 1] if even.shape[0] > n_high else np.concatenate([even[1:], even[-1:]])
    odd = high + ((even[:n_high] + right) >> 1)
    x = np.empty((low.shape[0] + n_high, *low.shape[1:]), dtype=low.dtype)
    x[0::2], x[1::2] = even, odd
    return x


def dwt2(plane: np.ndarray, levels: int) -> tuple[np.ndarray, Bands]:
    """Multi-level 2-D 5/3 transform of an int32 plane: (coarsest LL, [(HL, LH, HH) finest first])."""
    bands: Bands = []
    ll = plane.astype(np.int32)
    for _ in range(levels):
        low_w, high_w = (a.T for a in _lift_forward(ll.T))  # along width
        ll, lh = _lift_forward(low_w)  # along height
        hl, hh = _lift_forward(high_w)
        bands.append((hl, lh, hh))
    return ll, bands


def idwt2(ll: np.ndarray, bands: Bands) -> np.ndarray:
    """Exact inverse of :func:`dwt2`."""
    for hl, lh, hh in reversed(bands):
        low_w = _lift_inverse(ll, lh)
        high_w = _lift_inverse(hl, hh)
        ll = _lift_inverse(low_w.T, high_w.T).T
    return ll


def levels_for(height: int, width: int, max_levels: int = 5) -> int:
    """Decompose while both sides of the low band stay at least 8 samples."""
    levels = 0
    while levels < max_levels and min(height, width) >= 16:
        height, width = (height + 1) // 2, (width + 1) // 2
        levels += 1
    return levels
