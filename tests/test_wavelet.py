"""Reversible integer transforms: exact for every size, including odd and one-sample sides."""

from __future__ import annotations

import numpy as np
import pytest

from entropy import wavelet
from entropy.wavelet import dwt2, idwt2, levels_for, ycocg_forward, ycocg_inverse


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 1), (2, 3), (7, 9), (16, 17), (33, 64), (100, 37)])
@pytest.mark.parametrize("levels", [0, 1, 3])
@pytest.mark.parametrize("wavelet", ["5/3", "9/7"])
def test_wavelet_is_exactly_invertible(shape, levels, wavelet):
    x = np.random.default_rng(sum(shape)).integers(-300, 300, shape).astype(np.int32)
    ll, bands = dwt2(x, levels, wavelet)
    assert np.array_equal(idwt2(ll, bands, wavelet), x)
    out = np.full(shape, -1, np.int32)  # the last pass writes straight into a caller's array
    assert idwt2(ll, bands, wavelet, out=out) is out and np.array_equal(out, x)
    if levels:
        with pytest.raises(ValueError, match="int32"):  # never raw int32 bits in a float array
            idwt2(ll, bands, wavelet, out=np.empty(shape, np.float32))


@pytest.mark.skipif(wavelet.native is None, reason="the C kernel was not built")
@pytest.mark.parametrize("limit", [300, 1 << 22, (1 << 31) - 1])  # the last: every int32, wrap-around included
def test_the_c_lifting_gives_the_numpy_paths_integers(limit):
    rng = np.random.default_rng(limit)
    for trial in range(150):
        shape = tuple(int(v) for v in rng.integers(1, 24, 2))
        x = rng.integers(-limit, limit, shape, dtype=np.int64).astype(np.int32)
        for name in ("5/3", "9/7"):
            for axis in (0, 1):
                got = wavelet._lift_forward(x, name, axis)
                want = wavelet._lift_forward(x, name, axis, reference=True)
                for g, w in zip(got, want):
                    assert g.dtype == np.int32 and np.array_equal(g, w), (trial, shape, name, axis)
                back = wavelet._lift_inverse(*want, name, axis)
                assert np.array_equal(back, wavelet._lift_inverse(*want, name, axis, reference=True))
                if limit == 300:
                    assert np.array_equal(back, x)
                shift = int(rng.integers(1, 8))  # a synthesis's last pass: rounded off its fraction bits
                rounded = wavelet._lift_inverse(*want, name, axis, shift=shift, out=np.full(shape, 7, np.int32))
                assert np.array_equal(rounded, wavelet._lift_inverse(*want, name, axis, reference=True, shift=shift))


@pytest.mark.skipif(wavelet.native is None, reason="the C kernel was not built")
def test_the_c_lifting_refuses_buffers_that_do_not_match_the_shape():
    x = np.zeros((4, 6), np.int32)
    steps = wavelet._NATIVE_STEPS["9/7"]
    with pytest.raises(ValueError):
        wavelet.native.forward(x, np.empty((2, 6), np.int32), np.empty((1, 6), np.int32), 4, 6, 0, steps)
    with pytest.raises(ValueError):
        wavelet.native.inverse(np.zeros((4, 3), np.int32), np.zeros((4, 3), np.int32), np.empty((4, 5), np.int32), 4, 6, 1, steps, 0)
    with pytest.raises(ValueError):
        wavelet.native.inverse(np.zeros((4, 3), np.int32), np.zeros((4, 3), np.int32), np.empty((4, 6), np.int32), 4, 6, 1, steps, 31)
    with pytest.raises(ValueError):
        wavelet.native.forward(x, np.empty((2, 6), np.int32), np.empty((2, 6), np.int32), 4, 6, 0, b"\0" * 23)


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


def test_the_c_colour_planes_are_the_numpy_paths():
    from entropy import wavelet

    if wavelet.native is None:
        pytest.skip("the C lifting was not built")
    values = np.array([0, 1, 127, 128, 254, 255], np.uint8)
    extremes = np.stack(np.meshgrid(values, values, values, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (37, 29, 4)).astype(np.uint8)
    for pixels in (extremes, rgba[..., :3], rgba, rgba[::2, ::3]):  # views too, 3 and 4 channels
        native = wavelet.ycocg_planes(pixels)
        assert native.dtype == np.int32 and native.shape == (pixels.shape[2], *pixels.shape[:2])
        assert np.array_equal(native, wavelet.ycocg_planes(pixels, reference=True))
    assert np.array_equal(ycocg_inverse(wavelet.ycocg_planes(extremes)), extremes)


def test_levels_stop_before_the_low_band_gets_tiny():
    assert levels_for(8, 1000) == 0
    assert levels_for(16, 16) == 1
    assert levels_for(512, 768) == 5
