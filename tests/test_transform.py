"""The learned level inside the coder: an untrained level is the wavelet coder itself, the trained
one inverts itself, and tiles, odd sides and gray images change nothing but float rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codec import models
from codec.level import LearnedLevel
from codec.training.split import merge, split
from codec.transform import LevelTransform
from entropy import coder
from tests.conftest import photo_like
from entropy import pyramid

TABLES = models.load_tables(models.LEVEL_ENTROPY_MODEL)[0]
PARTS = ("lr", "detail")


def level(revision: int) -> LearnedLevel:
    return models.load_model(models.LEVEL_MODEL, revision)[0]


@pytest.mark.parametrize("shape", [(64, 96, 3), (67, 93, 3), (45, 38, 1)])
def test_the_untrained_level_codes_exactly_what_the_wavelet_coder_codes(shape):
    x = photo_like(*shape)
    layout = coder.ImageLayout(*shape, 12 * 256)
    plain = coder.encode_parts(x, layout, TABLES, PARTS)
    through_r0 = coder.encode_parts(x, layout, TABLES, PARTS, LevelTransform(level(0), layout.lr_step))
    assert through_r0.payloads == plain.payloads
    planes_q, steps, _ = coder.decode_symbols(plain.payloads, layout, TABLES, PARTS)
    assert np.array_equal(pyramid.synthesise(planes_q, steps, LevelTransform(level(0), layout.lr_step)),
                          pyramid.synthesise(plain.planes_q, plain.steps))


def test_the_trained_level_is_exactly_invertible_in_float():
    net = level(models.latest_revision(models.LEVEL_MODEL))
    x = torch.from_numpy(photo_like(64, 96)).permute(2, 0, 1)[None].double()
    net = net.double()
    with torch.no_grad():
        for step in (1.5, 20.0, 200.0):
            low, high = net.analysis(*split(x), step)
            assert not torch.allclose(high, split(x)[1])  # it does something
            assert torch.allclose(merge(*net.synthesis(low, high, step)), x, atol=1e-8)
    net.float()


@pytest.mark.parametrize("shape", [(64, 96, 3), (67, 93, 3), (67, 93, 1)])
def test_tiles_do_not_change_the_streams_or_the_pixels(shape):
    x = photo_like(*shape)
    layout = coder.ImageLayout(*shape, 8 * 256)
    net = level(models.latest_revision(models.LEVEL_MODEL))
    results = []
    for tile, workers in ((16, 1), (1 << 20, 1), (16, 2)):  # small tiles on one thread and on two
        coded = coder.encode_parts(x, layout, TABLES, PARTS, LevelTransform(net, layout.lr_step, tile=tile, workers=workers))
        planes_q, steps, _ = coder.decode_symbols(coded.payloads, layout, TABLES, PARTS)
        results.append((coded.payloads, pyramid.synthesise(
            planes_q, steps, LevelTransform(net, layout.lr_step, tile=tile, workers=workers))))
    assert results[0][0] == results[1][0] == results[2][0]
    assert np.abs(results[0][1].astype(int) - results[1][1]).max() <= 1
    assert np.array_equal(results[0][1], results[2][1])  # threads share the tiles, not their work


@pytest.mark.parametrize("shape", [(67, 93, 3), (67, 93, 1)])
def test_tiles_on_threads_give_the_one_threads_outputs(shape):
    """Threads share the tiles, each tile's work as on one thread: the same integers exactly."""
    net = level(models.latest_revision(models.LEVEL_MODEL))
    h, w, channels = (shape[0] + 1) // 2, (shape[1] + 1) // 2, shape[2]
    rng = np.random.default_rng(5)
    lows = rng.integers(-3000, 3000, (channels, h, w)).astype(np.int32)
    highs = [tuple(rng.integers(-300, 300, (h - (o == 1), w - (o == 0))).astype(np.int32) for o in range(3))
             for _ in range(channels)]
    steps = [{(1, o): 8 * 16 for o in range(3)} for _ in range(channels)]
    outputs = []
    for workers in (1, 3):
        transform = LevelTransform(net, 8 * 256, temperature=0.5, seed=2, tile=16, workers=workers)
        low, high = transform.synthesis(lows, highs, steps)
        outputs.append((low, [b for bands in high for b in bands]))
    assert np.array_equal(outputs[0][0], outputs[1][0])
    assert all(np.array_equal(a, b) for a, b in zip(outputs[0][1], outputs[1][1]))


def test_tiles_on_threads_run_without_autograd():
    seen = []

    class Recorder(torch.nn.Module):
        def synthesis(self, low, high, step, low_mask, high_mask):
            seen.append(torch.is_grad_enabled())
            return low, high

    lows = np.zeros((3, 64, 64), np.int32)
    highs = [tuple(np.zeros((64, 64), np.int32) for _ in range(3)) for _ in range(3)]
    LevelTransform(Recorder(), 8 * 256, tile=16, workers=2)._run(Recorder().synthesis, lows, highs, None)
    assert len(seen) == 16 and not any(seen)


def test_automatic_tiling_runs_a_small_grid_whole_and_a_big_one_in_tiles():
    from codec import transform

    shapes = []

    class Recorder(torch.nn.Module):
        def synthesis(self, low, high, step, low_mask, high_mask):
            shapes.append(tuple(low.shape[2:]))
            return low, high

    def run(h: int, w: int, tile: int = transform.AUTO) -> list[tuple[int, int]]:
        shapes.clear()
        lows = np.zeros((3, h, w), np.int32)
        highs = [tuple(np.zeros((h, w), np.int32) for _ in range(3)) for _ in range(3)]
        LevelTransform(Recorder(), 8 * 256, tile=tile)._run(Recorder().synthesis, lows, highs, None)
        return list(shapes)

    assert run(256, 384) == [(256, 384)]  # a 768x512 image's grid: one pass, no margins
    big = run(300, 500)  # above ONE_TILE_SAMPLES: TILE-sample tiles with their margins
    assert 300 * 500 > transform.ONE_TILE_SAMPLES and len(big) == 4 and big[0] == (transform.TILE + transform.MARGIN,) * 2
    assert len(run(256, 384, tile=64)) == 24  # an explicit tile is kept


def test_a_zero_temperature_draws_nothing_and_a_positive_one_follows_the_seed():
    x = photo_like(48, 64)
    layout = coder.ImageLayout(48, 64, 3, 16 * 256)
    net = level(models.latest_revision(models.LEVEL_MODEL))
    coded = coder.encode_parts(x, layout, TABLES, PARTS, LevelTransform(net, layout.lr_step))

    def decode(temperature: float, seed: int) -> np.ndarray:
        planes_q, steps, _ = coder.decode_symbols(coded.payloads, layout, TABLES, PARTS)
        return pyramid.synthesise(planes_q, steps, LevelTransform(net, layout.lr_step, temperature, seed))

    assert np.array_equal(decode(0.0, 1), decode(0.0, 2))
    assert np.array_equal(decode(1.0, 1), decode(1.0, 1))
    assert not np.array_equal(decode(1.0, 1), decode(1.0, 2))
    assert not np.array_equal(decode(1.0, 1), decode(0.0, 1))
