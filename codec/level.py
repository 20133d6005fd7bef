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

The split itself is computed twice: in integers by ``entropy.wavelet`` when coding (exact, any
size) and in floating point here for training (the same lifting without rounding, even sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

LOW_CHANNELS, HIGH_CHANNELS = 3, 9
FRACTION = 16.0  # entropy.wavelet.FRACTION_BITS["9/7"] = 4: coefficients are in 1/16 pixel units
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
    """``depth`` 3x3 convolutions with LeakyReLU between; the last starts at zero."""

    def __init__(self, channels_in: int, channels_out: int, hidden: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = channels_in
        for _ in range(depth - 1):
            layers += [nn.Conv2d(width, hidden, 3, padding=1), nn.LeakyReLU(0.2)]
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
    mean = nn.functional.avg_pool2d(nn.functional.pad(low, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return (low - mean) / HIGH_SCALE


def _masked(x: Tensor, mask: Tensor | None) -> Tensor:
    return x if mask is None else x * mask


# --- The split in floating point (training): the same transforms as entropy.wavelet, unrounded. ---

_CDF97 = (-1.586134342059924, -0.052980118572961, 0.882911075530934, 0.443506852043971)


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
    for i, a in enumerate(_CDF97):
        if i % 2 == 0:
            odd = odd + a * (even + torch.cat([even.narrow(dim, 1, even.shape[dim] - 1), even.narrow(dim, -1, 1)], dim))
        else:
            even = even + a * (torch.cat([odd.narrow(dim, 0, 1), odd.narrow(dim, 0, odd.shape[dim] - 1)], dim) + odd)
    return even, odd


def _lift_inverse(even: Tensor, odd: Tensor, dim: int) -> Tensor:
    for i, a in reversed(list(enumerate(_CDF97))):
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
