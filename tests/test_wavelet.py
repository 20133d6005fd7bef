"""Reversible integer transforms: exact for every size, including odd and one-sample sides."""

from __future__ import annotations

import numpy as np
import pytest

from entropy.wavelet import dwt2, idwt2, levels_for, ycocg_forward, ycocg_inverse


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 1), (2, 3), (7, 9), (16, 17), (33, 64), (100, 37)])
@pytest.mark.parametrize("levels", [0, 1, 3])
@pytest.mark.parametrize("wavelet", ["5/3", "9/7"])
def test_wavelet_is_exactly_invertible(shape, levels, wavelet):
    x = np.random.default_rng(sum(shape)).integers(-300, 300, shape).astype(np.int32)
    ll, bands = dwt2(x, levels, wavelet)
    assert np.array_equal(idwt2(ll, bands, wavelet), x)


def test_wavelet_concentrates_a_smooth_image_in_the_low_band():
    yy, xx = np.mgrid[0:64, 0:64]
    x = (xx + 2 * yy).astype(np.int32)
    ll, bands = dwt2(x, 2)
    details = np.concatenate([np.abs(b).ravel() for level in bands for b in level])
    assert np.mean(details == 0) > 0.9  # only the borders' symmetric extension leaves detail
    assert ll.shape == (16, 16)


def test_ycocg_r_is_lossless_on_every_extreme():
    values = np.array([0, 1, 127, 128, 254, 255])
    rgb = np.stack(np.meshgrid(values, values, values, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    assert np.array_equal(ycocg_inverse(ycocg_forward(rgb)), rgb)


def test_levels_stop_before_the_low_band_gets_tiny():
    assert levels_for(8, 1000) == 0
    assert levels_for(16, 16) == 1
    assert levels_for(512, 768) == 5
