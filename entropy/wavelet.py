"""Integer transforms: YCoCg-R colour and two lifting wavelets, LeGall 5/3 and CDF 9/7.

Integers in, integers out, exactly invertible for any size (odd and 1-pixel sides included), so
the lossless path is bit-exact and the lossy path's reconstruction is identical on every machine:
no floating point is involved anywhere.
"""

from __future__ import annotations

import numpy as np

try:
    from entropy import _lifting as native
except ImportError:  # built without a C compiler: the numpy path
    native = None

Bands = list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per level, finest first: (HL, LH, HH)


def ycocg_forward(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) int -> (3, H, W) int32 planes Y, Co, Cg (YCoCg-R, lossless)."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    co = r - b
    t = b + (co >> 1)
    cg = g - t
    y = t + (cg >> 1)
    return np.stack([y, co, cg])


def ycocg_planes(pixels: np.ndarray, reference: bool = False) -> np.ndarray:
    """(H, W, 3 or 4) uint8 -> (C, H, W) int32: Y, Co, Cg, and alpha as it is. The C pass
    (``entropy/_lifting.c``, one pass over the pixels) gives the numpy path's integers; ``reference``
    takes the latter."""
    h, w, channels = pixels.shape
    if native is not None and not reference:
        planes = np.empty((channels, h, w), np.int32)
        native.ycocg_forward(np.ascontiguousarray(pixels, dtype=np.uint8), planes, h * w, channels)
        return planes
    planes = ycocg_forward(pixels[..., :3])
    return np.concatenate([planes, pixels[None, ..., 3].astype(np.int32)]) if channels == 4 else planes


def ycocg_inverse(planes: np.ndarray) -> np.ndarray:
    """Exact inverse of :func:`ycocg_forward`: (3, H, W) -> (H, W, 3) int32."""
    return np.stack(list(ycocg_channels(planes)), axis=-1)


def ycocg_channels(planes: np.ndarray):
    """The inverse one channel at a time: yields R, G, B (H, W) int32 (a big image's temporaries stay small)."""
    y, co, cg = planes
    t = y - (cg >> 1)
    b = t - (co >> 1)
    yield b + co
    yield cg + t
    yield b


def _odd_neighbours(even: np.ndarray, n_odd: int) -> np.ndarray:
    """even[i] + even[i + 1] for each odd sample i, mirrored at the end."""
    right = even[1 : n_odd + 1] if even.shape[0] > n_odd else np.concatenate([even[1:], even[-1:]])
    return even[:n_odd] + right


def _even_neighbours(odd: np.ndarray, n_even: int) -> np.ndarray:
    """odd[i - 1] + odd[i] for each even sample i, mirrored at both ends."""
    left, right = np.concatenate([odd[:1], odd[:-1]]), odd
    if n_even > odd.shape[0]:
        left, right = np.concatenate([left, odd[-1:]]), np.concatenate([odd, odd[-1:]])
    return left + right


# Each wavelet is a list of lifting steps: (updates the odd samples?, kind, constant), applied to
# the sum of each sample's two neighbours of the other parity. 5/3: JPEG 2000's reversible filter.
# 9/7: the CDF 9/7 lifting factors (Daubechies-Sweldens) in 16-bit fixed point, each step rounded to
# an integer, so the transform is integer-exact everywhere; its subband gains are left unnormalised
# (the quantiser steps absorb them).
_Q = 16
CDF97 = (-1.586134342059924, -0.052980118572961, 0.882911075530934, 0.443506852043971)
FIXED_POINT, PREDICT_53, UPDATE_53 = 0, 1, 2
_LIFTING = {
    "5/3": ((True, PREDICT_53, 0), (False, UPDATE_53, 0)),
    "9/7": tuple((i % 2 == 0, FIXED_POINT, int(round(a * (1 << _Q)))) for i, a in enumerate(CDF97)),
}
# The lossy 9/7 path works on samples with this many fractional bits, so the lifting steps' rounding
# stays far below the quantiser's noise (integer 9/7 on plain integers costs ~1 dB at high rates).
FRACTION_BITS = {"5/3": 0, "9/7": 4}
_NATIVE_STEPS = {name: np.array(steps, dtype=np.int64).tobytes() for name, steps in _LIFTING.items()}


def _step(kind: int, c: int, n: np.ndarray) -> np.ndarray:
    """A lifting step's value for neighbour sums ``n`` (int32). The 9/7 product is taken in int64 and
    the result kept in int32 (coefficients stay far below 2^31: 8-bit samples with 4 fraction bits
    and the 9/7 gains), half the memory."""
    if kind == PREDICT_53:
        return -(n >> 1)
    if kind == UPDATE_53:
        return (n + 2) >> 2
    return ((c * n.astype(np.int64) + (1 << (_Q - 1))) >> _Q).astype(np.int32)


def _lift_forward(x: np.ndarray, wavelet: str, axis: int, reference: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One lifting pass of a 2-D int32 array along ``axis``: low (the ceil half), high (the floor half).

    The C pass (``entropy/_lifting.c``) gives the numpy path's integers; ``reference`` takes the latter."""
    if native is not None and not reference:
        x = np.ascontiguousarray(x, dtype=np.int32)
        n, m = x.shape
        halves = [((n + 1) // 2, m), (n // 2, m)] if axis == 0 else [(n, (m + 1) // 2), (n, m // 2)]
        low, high = (np.empty(shape, np.int32) for shape in halves)
        native.forward(x, low, high, n, m, axis, _NATIVE_STEPS[wavelet])
        return low, high
    if axis == 1:
        return tuple(a.T for a in _lift_forward(x.T, wavelet, 0, reference=True))
    even, odd = x[0::2], x[1::2]
    if odd.shape[0] == 0:
        return even.copy(), odd.copy()
    for on_odd, kind, c in _LIFTING[wavelet]:
        if on_odd:
            odd = odd + _step(kind, c, _odd_neighbours(even, odd.shape[0]))
        else:
            even = even + _step(kind, c, _even_neighbours(odd, even.shape[0]))
    return even, odd


def _lift_inverse(low: np.ndarray, high: np.ndarray, wavelet: str, axis: int, reference: bool = False,
                  shift: int = 0, out: np.ndarray | None = None) -> np.ndarray:
    """Exact inverse of :func:`_lift_forward`, rounded off its last ``shift`` bits (as
    ``(x + 2^(shift-1)) >> shift``), into ``out`` (int32, C-contiguous) when given."""
    if out is not None and (out.dtype != np.int32 or not out.flags.c_contiguous):
        raise ValueError("out must be a C-contiguous int32 array")
    if native is not None and not reference:
        low, high = (np.ascontiguousarray(a, dtype=np.int32) for a in (low, high))
        n, m = (low.shape[0] + high.shape[0], low.shape[1]) if axis == 0 else (low.shape[0], low.shape[1] + high.shape[1])
        x = np.empty((n, m), np.int32) if out is None else out
        native.inverse(low, high, x, n, m, axis, _NATIVE_STEPS[wavelet], shift)
        return x
    return _round_off(_lift_inverse_reference(low, high, wavelet, axis), shift, out)


def _round_off(x: np.ndarray, shift: int, out: np.ndarray | None) -> np.ndarray:
    """``x`` rounded off its last ``shift`` bits, ``(x + 2^(shift-1)) >> shift``, into ``out`` when given."""
    if shift:
        x = (x + (1 << (shift - 1))) >> shift
    if out is None:
        return x
    out[...] = x
    return out


def _lift_inverse_reference(low: np.ndarray, high: np.ndarray, wavelet: str, axis: int) -> np.ndarray:
    if axis == 1:
        return _lift_inverse_reference(low.T, high.T, wavelet, 0).T
    even, odd = low, high
    if odd.shape[0] == 0:
        return even.copy()
    for on_odd, kind, c in reversed(_LIFTING[wavelet]):
        if on_odd:
            odd = odd - _step(kind, c, _odd_neighbours(even, odd.shape[0]))
        else:
            even = even - _step(kind, c, _even_neighbours(odd, even.shape[0]))
    x = np.empty((even.shape[0] + odd.shape[0], *even.shape[1:]), dtype=even.dtype)
    x[0::2], x[1::2] = even, odd
    return x


def dwt2(plane: np.ndarray, levels: int, wavelet: str = "5/3", shifted: bool = False) -> tuple[np.ndarray, Bands]:
    """Multi-level 2-D integer transform of a plane: (coarsest LL, [(HL, LH, HH) finest first]).

    Coefficients are int32; the 9/7 ones carry ``FRACTION_BITS`` extra bits. ``shifted``:
    the plane already carries them (a low band from an earlier level).
    """
    bands: Bands = []
    shift = 0 if shifted else FRACTION_BITS[wavelet]
    ll = plane.astype(np.int32) << shift
    for _ in range(levels):
        low_w, high_w = _lift_forward(ll, wavelet, 1)  # along width
        ll, lh = _lift_forward(low_w, wavelet, 0)  # along height
        hl, hh = _lift_forward(high_w, wavelet, 0)
        bands.append((hl, lh, hh))
    return ll, bands


def idwt2(ll: np.ndarray, bands: Bands, wavelet: str = "5/3", shifted: bool = False,
          out: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`dwt2` (exact for unquantised coefficients), back to plain integers unless
    ``shifted`` (then the fixed-point low band of the level above ``bands``); into ``out`` (an
    int32 C-contiguous array of the image's shape) when given: the last pass writes it directly."""
    shift = 0 if shifted else FRACTION_BITS[wavelet]
    if not bands:
        return _round_off(ll, shift, out)
    for k, (hl, lh, hh) in enumerate(reversed(bands)):
        low_w = _lift_inverse(ll, lh, wavelet, 0)
        high_w = _lift_inverse(hl, hh, wavelet, 0)
        last = k == len(bands) - 1
        ll = _lift_inverse(low_w, high_w, wavelet, 1, shift=shift if last else 0, out=out if last else None)
    return ll


def levels_for(height: int, width: int, max_levels: int = 5) -> int:
    """Decompose while both sides of the low band stay at least 8 samples."""
    levels = 0
    while levels < max_levels and min(height, width) >= 16:
        height, width = (height + 1) // 2, (width + 1) // 2
        levels += 1
    return levels
