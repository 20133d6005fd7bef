"""Band steps and contexts: integer arithmetic that every old file depends on."""

from __future__ import annotations

import numpy as np

from entropy.contexts import LOSSLESS_STEP, band_step

# The first two entropy models' band-step formula, in floating point, exactly as it was written
# (session 2). It is the oracle for every lr_step a file can declare; never "tidy" it.
_NORM_LOW, _NORM_HIGH = 1.224744871391589, 0.8477912478906585
_NORMS_97_LL = (1.0, 1.2991, 1.8002, 2.4288, 3.2296, 4.2752)
_NORMS_97 = ((1.0113, 0.7872), (1.3195, 0.9672), (1.8268, 1.374), (2.4627, 1.878), (3.2737, 2.5068))
_PLANE_WEIGHT = {"luma": 1.0, "co": 2.449489742783178, "cg": 2.0, "alpha": 1.0}


def legacy_band_step(step: float, kind: str, level: int, orientation: int | None, wavelet: str) -> int:
    if step <= 1.0 or kind == "alpha":
        return 1
    if wavelet == "9/7":
        norm = _NORMS_97_LL[level] if orientation is None else _NORMS_97[level - 1][orientation // 2]
        return max(1, int(round(step * _PLANE_WEIGHT[kind] * (1 << 4) / norm)))
    n_low = 2 * level if orientation is None else 2 * (level - 1) + (1 if orientation < 2 else 0)
    n_high = 0 if orientation is None else (1 if orientation < 2 else 2)
    norm = 1.0
    for _ in range(n_low):
        norm *= _NORM_LOW
    for _ in range(n_high):
        norm *= _NORM_HIGH
    return max(1, int(round(step * _PLANE_WEIGHT[kind] / norm)))


BANDS = [(level, None) for level in range(6)] + [(level, o) for level in range(1, 6) for o in range(3)]


def test_band_steps_equal_the_legacy_formula_for_every_lr_step_and_band():
    """All 65 280 lossy lr_steps x every plane, band and wavelet: 6.3 million pairs, none differs."""
    lr_steps = range(LOSSLESS_STEP, 65536)
    differing = []
    for wavelet in ("5/3", "9/7"):
        for kind in ("luma", "co", "cg", "alpha"):
            for level, orientation in BANDS:
                new = [band_step(s, kind, level, orientation, wavelet) for s in lr_steps]
                old = [legacy_band_step(s / 256, kind, level, orientation, wavelet) for s in lr_steps]
                differing += [(wavelet, kind, level, orientation, s) for s, a, b in zip(lr_steps, new, old) if a != b]
    assert differing == []


def test_band_steps_take_integers_only():
    """A float step would reintroduce rounding that depends on how the product is written."""
    assert band_step(1000, "luma", 1, 0, "9/7") == band_step(np.int64(1000), "luma", 1, 0, "9/7")
    assert band_step(LOSSLESS_STEP, "co", 3, 2, "9/7") == 1
