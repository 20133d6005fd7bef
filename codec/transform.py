"""The learned level inside the integer coder: numpy in, numpy out, tile by tile (``entropy.pyramid.FirstLevel``).

The coder hands over the integer 9/7 level 1 of every plane (fixed point, 4 fractional bits);
this module runs :class:`codec.level.LearnedLevel` on it in float32, one overlapping tile at a
time (a tile sees MARGIN samples around it, beyond the network's reach, so tiling changes
nothing but float rounding), and rounds the result back to the integer grid. Odd sides (a band
one row or column short of the low band) and gray images (one plane) are handled with the
level's masks, so any image size codes through the same network.

Decoding draws what the quantiser discarded, at temperature T: each coded detail coefficient
gets N(0, (T sigma)^2) with sigma the standard deviation of a uniform residual over its bin
(step / sqrt 12) for a nonzero symbol, and ZERO_SIGMA steps for a zero one (or for detail that was
not stored at all). T = 0 is the mean: no draw. The draw comes from a seeded CPU generator over
the whole image, so it does not depend on the device or on tiling.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from codec.level import HIGH_CHANNELS, LOW_CHANNELS, LearnedLevel
from entropy.parallel import map_items

TILE = 256  # low-band samples per tile side
MARGIN = 16  # beyond the network's reach (2 blocks x (1 + 3 + 2) samples = 12)
# The automatic tiling (tile AUTO) runs a grid of up to this many samples as one tile: the tiles'
# margins were 8 % of a 768x512 image's network work, and tiles change no output
# (tests/test_transform.py). Bigger grids take TILE-sample tiles. (At most codec.tiling's tile with
# its margins, which codec.resources budgets for.)
ONE_TILE_SAMPLES = 1 << 17
AUTO = 0
MAX_TILE_WORKERS = 2
ZERO_SIGMA = 0.25  # of a step: the spread of a coefficient quantised to zero (dead zone 2/3 of a step)


class LevelTransform:
    """``entropy.pyramid.FirstLevel`` for one image: a network, its quantiser step, a decode temperature."""

    def __init__(self, net: LearnedLevel, lr_step: int, temperature: float = 0.0, seed: int = 0,
                 device: torch.device | None = None, dtype: torch.dtype = torch.float32, tile: int = AUTO,
                 progress: bool = False, workers: int = 1) -> None:
        self.net = net
        self.step = lr_step / 256
        self.temperature = temperature
        self.seed = seed
        self.device = device or torch.device("cpu")
        self.dtype = dtype
        self.tile = tile
        self.progress = progress  # a bar over the tiles of big images
        # Tiles run on up to two threads, each tile's work as on one (the same outputs): the level's
        # small convolutions keep two cores busier as two tiles than as one tile's threads (measured
        # on 2 cores). Each tile's convolutions still take torch's intra-op threads, so more tile
        # threads would only oversubscribe a bigger machine.
        self.workers = min(workers, MAX_TILE_WORKERS)

    def analysis(self, lows: np.ndarray, highs: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, list]:
        return self._run(self.net.analysis, lows, highs, None)

    def synthesis(self, lows: np.ndarray, highs: list[tuple[np.ndarray, ...]], steps: list[dict]) -> tuple[np.ndarray, list]:
        noise = self._residual_draw(lows.shape, highs, steps) if self.temperature > 0 else None
        return self._run(self.net.synthesis, lows, highs, noise)

    @torch.no_grad()
    def _run(self, fn, lows: np.ndarray, highs: list[tuple[np.ndarray, ...]],
             noise: torch.Tensor | None) -> tuple[np.ndarray, list]:
        """``fn`` over overlapping tiles of the low band's grid; int32 results, allocated once."""
        planes, h, w = lows.shape
        out_lows = np.empty(lows.shape, np.int32)
        out_highs = [tuple(np.empty(b.shape, np.int32) for b in bands) for bands in highs]
        low_mask = None
        if planes < LOW_CHANNELS:  # gray: the chroma channels stay zero throughout
            low_mask = torch.zeros(1, LOW_CHANNELS, 1, 1, device=self.device, dtype=self.dtype)
            low_mask[0, :planes] = 1
        exact = planes == LOW_CHANNELS and all(b.shape == (h, w) for bands in highs for b in bands)
        from tqdm import tqdm

        tile = self.tile or (TILE if h * w > ONE_TILE_SAMPLES else max(h, w, 1))
        boxes = [(y0, x0) for y0 in range(0, h, tile) for x0 in range(0, w, tile)]

        def run_tile(origin: tuple[int, int]) -> None:
            y0, x0 = origin
            y1, x1 = min(h, y0 + tile), min(w, x0 + tile)
            box = (max(0, y0 - MARGIN), max(0, x0 - MARGIN), min(h, y1 + MARGIN), min(w, x1 + MARGIN))
            low, high, mask = self._tile(lows, highs, box, noise, exact)
            low, high = fn(low, high, self.step, low_mask, None if exact else mask)
            inner = (slice(y0 - box[0], y1 - box[0]), slice(x0 - box[1], x1 - box[1]))
            low = torch.round(low[0][(slice(None), *inner)].float()).cpu().numpy()
            high = torch.round(high[0][(slice(None), *inner)].float()).cpu().numpy()
            out_lows[:, y0:y1, x0:x1] = low[:planes]
            for p, bands in enumerate(out_highs):
                for o, band in enumerate(bands):  # a band shorter than the grid keeps its own extent
                    band[y0 : min(y1, band.shape[0]), x0 : min(x1, band.shape[1])] = \
                        high[3 * p + o, : max(0, min(y1, band.shape[0]) - y0), : max(0, min(x1, band.shape[1]) - x0)]
            bar.update()

        def run_tile_without_grad(origin: tuple[int, int]) -> None:
            with torch.no_grad():  # grad mode is per thread
                run_tile(origin)

        with tqdm(total=len(boxes), disable=not self.progress or len(boxes) < 4, desc="tiles", leave=False) as bar:
            map_items(run_tile_without_grad, boxes, self.workers)  # the tiles write disjoint parts of the outputs
        return out_lows, out_highs

    def _tile(self, lows: np.ndarray, highs: list[tuple[np.ndarray, ...]], box: tuple[int, int, int, int],
              noise: torch.Tensor | None, exact: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(1, 3, th, tw) low, (1, 9, th, tw) high and its mask (1 where a coefficient exists; None
        when ``exact``, every band filling the grid, and no noise needs it) of one box. The int32
        coefficients become float32 in the copy into the tile (no float64 or float32 temporaries);
        only the parts no band covers are zeroed."""
        ty0, tx0, ty1, tx1 = box
        low = torch.empty(1, LOW_CHANNELS, ty1 - ty0, tx1 - tx0)
        high = torch.empty(1, HIGH_CHANNELS, ty1 - ty0, tx1 - tx0)
        low.numpy()[0, : lows.shape[0]] = lows[:, ty0:ty1, tx0:tx1]  # numpy's casting copy: 5x torch's copy_ here
        low[0, lows.shape[0] :] = 0
        high[0, 3 * len(highs) :] = 0
        mask = None if exact and noise is None else torch.zeros_like(high)
        for p, bands in enumerate(highs):
            for o, band in enumerate(bands):
                part = band[ty0:ty1, tx0:tx1]
                channel = high[0, 3 * p + o]
                channel.numpy()[: part.shape[0], : part.shape[1]] = part
                channel[part.shape[0] :] = 0
                channel[:, part.shape[1] :] = 0
                if mask is not None:
                    mask[0, 3 * p + o, : part.shape[0], : part.shape[1]] = 1
        if noise is not None:
            high = high + noise[:, :, ty0:ty1, tx0:tx1] * mask
        return (low.to(self.device, self.dtype), high.to(self.device, self.dtype),
                None if mask is None else mask.to(self.device, self.dtype))

    def _residual_draw(self, shape: tuple[int, int, int], highs: list[tuple[np.ndarray, ...]],
                       steps: list[dict]) -> torch.Tensor:
        """(1, 9, h, w): the whole image's draw, scaled per coefficient (see the module docstring)."""
        generator = torch.Generator().manual_seed(self.seed)
        noise = torch.randn((1, HIGH_CHANNELS, *shape[1:]), generator=generator, dtype=torch.float32)
        for p, bands in enumerate(highs):
            for o, band in enumerate(bands):
                step = steps[p][(1, o)]
                coded = torch.from_numpy(band != 0)
                sigma = torch.where(coded, step / math.sqrt(12), ZERO_SIGMA * step) * self.temperature
                noise[0, 3 * p + o, : band.shape[0], : band.shape[1]] *= sigma
        return noise
