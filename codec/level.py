"""irr's learned first transform level: a 9/7 wavelet level followed by learned lifting steps (an INN).

The image's YCoCg-R planes are split by one level of the CDF 9/7 wavelet (entropy.wavelet's
lifting, 4 fractional bits) into the low band ``low`` (B, 3, h, w), the LR, and the detail
``high`` (B, 9, h, w): HL, LH, HH of Y, then of Co, then of Cg. Coupling blocks then run on the
pair, each an additive lifting step learned for rate and distortion::

    high <- high - P(low)      the LR predicts the detail: only what it cannot predict is coded
    low  <- low  + U(high)     the detail updates the LR into a better low-pass

and :meth:`LearnedLevel.synthesis` runs the same steps backwards, exactly (additive steps invert
whatever P and U compute). The last convolution of every subnet starts at zero, so an untrained
level is the 9/7 level itself and the codec is then exactly irr's wavelet coder: training can
only add. Both subnets see the quantiser step (as log2(step) / 8), so one network serves every rate.

The split itself is computed in integers by ``entropy.wavelet`` when coding (exact, any size);
training computes it in floating point (``codec.training.split``: the same lifting unrounded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

LOW_CHANNELS, HIGH_CHANNELS = 3, 9
# Fixed input/output scale of the subnets: detail is typically a few hundred coefficient units;
# dividing keeps the subnets' activations near unit size.
HIGH_SCALE = 256.0


@dataclass(frozen=True)
class LevelConfig:
    """Shape of a :class:`LearnedLevel`; stored beside the weights, part of their identity."""

    blocks: int = 2
    hidden: int = 32  # channels of the prediction subnets
    depth: int = 3  # convolutions per prediction subnet
    update_hidden: int = 16  # channels of the (two-convolution) update subnets

    def __post_init__(self) -> None:
        if self.blocks < 1 or self.hidden < 1 or self.depth < 2 or self.update_hidden < 1:
            raise ValueError(f"invalid level config {self}")


class Subnet(nn.Module):
    """``depth`` 3x3 convolutions with LeakyReLU between; the last starts at zero. The activations
    work in place (on each convolution's own output): the inverse pass of a 2.4 MP image ran
    429 -> 256 ms, a memory pass fewer per layer."""

    def __init__(self, channels_in: int, channels_out: int, hidden: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = channels_in
        for _ in range(depth - 1):
            layers += [nn.Conv2d(width, hidden, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            width = hidden
        layers.append(nn.Conv2d(width, channels_out, 3, padding=1))
        self.body = nn.Sequential(*layers)
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


def step_channel(step: float | Tensor, like: Tensor) -> Tensor:
    """(B, 1, h, w) constant map log2(step) / 8 (step 1..256 -> 0..1), the subnets' rate input."""
    if isinstance(step, Tensor):
        value = (torch.log2(step.to(like)) / 8).view(-1, 1, 1, 1)
    else:
        value = torch.full((like.shape[0], 1, 1, 1), math.log2(step) / 8, dtype=like.dtype, device=like.device)
    return value.expand(like.shape[0], 1, *like.shape[2:])


class LearnedLevel(nn.Module):
    """The coupling blocks on (low, high); see the module docstring."""

    def __init__(self, config: LevelConfig) -> None:
        super().__init__()
        self.config = config
        self.predict = nn.ModuleList(Subnet(LOW_CHANNELS + 1, HIGH_CHANNELS, config.hidden, config.depth)
                                     for _ in range(config.blocks))
        self.update = nn.ModuleList(Subnet(HIGH_CHANNELS + 1, LOW_CHANNELS, config.update_hidden, 2)
                                    for _ in range(config.blocks))

    def _p(self, i: int, low: Tensor, cond: Tensor) -> Tensor:
        return HIGH_SCALE * self.predict[i](torch.cat([local_contrast(low), cond], dim=1))

    def _u(self, i: int, high: Tensor, cond: Tensor) -> Tensor:
        return HIGH_SCALE * self.update[i](torch.cat([high / HIGH_SCALE, cond], dim=1))

    def analysis(self, low: Tensor, high: Tensor, step: float | Tensor,
                 low_mask: Tensor | None = None, high_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(low, high) of the 9/7 level -> the coded (low, high), in coefficient units.

        The masks (1 where a coefficient exists) restrict the level to a subset: gray images (no
        chroma channels) and odd sides (a band one row or column short) are zero there before and
        after every step, so the restricted map is exactly invertible on what is coded.
        """
        cond = step_channel(step, low)
        for i in range(self.config.blocks):
            high = _masked(high - self._p(i, low, cond), high_mask)
            low = _masked(low + self._u(i, high, cond), low_mask)
        return low, high

    def synthesis(self, low: Tensor, high: Tensor, step: float | Tensor,
                  low_mask: Tensor | None = None, high_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Exact inverse of :meth:`analysis` (to float precision)."""
        cond = step_channel(step, low)
        for i in reversed(range(self.config.blocks)):
            low = _masked(low - self._u(i, high, cond), low_mask)
            high = _masked(high + self._p(i, low, cond), high_mask)
        return low, high


def local_contrast(low: Tensor) -> Tensor:
    """The low band minus its 3x3 mean, at the detail's scale: what predicts detail is edges, not
    brightness (measured: a predictor fed this reaches in 1 000 steps the detail-energy reduction
    that one fed the low band itself needs ~2 500 for, 16 % against 7.5 % at equal steps)."""
    # Separable sums on a contiguous copy, not avg_pool2d: on the channels-last tensors the
    # channels-last weights leave behind, avg_pool2d took 4 ms per 288-sample tile, these 0.3.
    padded = nn.functional.pad(low.contiguous(), (1, 1, 1, 1), mode="replicate")
    rows = padded[:, :, :-2] + padded[:, :, 1:-1] + padded[:, :, 2:]
    mean = (rows[..., :-2] + rows[..., 1:-1] + rows[..., 2:]) / 9
    return (low - mean) / HIGH_SCALE


def _masked(x: Tensor, mask: Tensor | None) -> Tensor:
    return x if mask is None else x * mask
