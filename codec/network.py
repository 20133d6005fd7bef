"""The invertible rescaler: Haar wavelet split followed by affine coupling blocks (IRN-style).

Forward: image ``x`` (B, 3, H, W) in [0, 1] -> ``y`` (B, 3*4**k, H/2**k, W/2**k) for scale 2**k.
The first 3 channels of ``y`` are the low-resolution image; the rest are the latent ``z`` that
training pushes towards N(0, I) and that is never stored. ``inverse`` is the exact algebraic
inverse of ``forward`` (float precision), so decoding is the same network run backwards.

The coupling outputs are zero-initialised: an untrained network is exactly the Haar transform,
whose low-pass band is the 2x2 box-filtered image (a valid thumbnail) - training starts there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

LR_CHANNELS = 3


@dataclass(frozen=True)
class NetworkConfig:
    """Shape of an :class:`InvertibleRescaler`; stored beside the weights, part of their identity."""

    scale: int = 2
    blocks_per_stage: int = 4
    hidden: int = 32
    clamp: float = 1.0
    # "plain": three convolutions (revision 1, cheap on CPUs); "dense": IRN's five-layer densely
    # connected block, ``hidden`` being its growth rate (revision 2 on, trained on a GPU).
    subnet: str = "plain"
    # Fixed gain between the Haar high-pass bands (std ~0.02 on photos) and z, so that a z drawn
    # from N(0, I) starts out at the scale of real detail rather than 50x too strong.
    z_gain: float = 16.0

    def __post_init__(self) -> None:
        if self.scale not in (2, 4):
            raise ValueError(f"scale must be 2 or 4, got {self.scale}")
        if self.subnet not in SUBNETS:
            raise ValueError(f"subnet must be one of {', '.join(SUBNETS)}, got {self.subnet!r}")

    @property
    def stages(self) -> int:
        return 1 if self.scale == 2 else 2


def haar_split(x: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, 4C, H/2, W/2): [low-pass of every channel, then 3 high-pass bands of each].

    The low-pass band is the mean of each 2x2 block, so it stays in the image's value range.
    """
    a = x[:, :, 0::2, 0::2]
    b = x[:, :, 0::2, 1::2]
    c = x[:, :, 1::2, 0::2]
    d = x[:, :, 1::2, 1::2]
    low = (a + b + c + d) / 4
    horizontal = (a - b + c - d) / 4
    vertical = (a + b - c - d) / 4
    diagonal = (a - b - c + d) / 4
    return torch.cat([low, horizontal, vertical, diagonal], dim=1)


def haar_merge(y: Tensor) -> Tensor:
    """Exact inverse of :func:`haar_split`."""
    low, horizontal, vertical, diagonal = torch.chunk(y, 4, dim=1)
    a = low + horizontal + vertical + diagonal
    b = low - horizontal + vertical - diagonal
    c = low + horizontal - vertical - diagonal
    d = low - horizontal - vertical + diagonal
    n, ch, h, w = low.shape
    x = y.new_empty(n, ch, 2 * h, 2 * w)
    x[:, :, 0::2, 0::2] = a
    x[:, :, 0::2, 1::2] = b
    x[:, :, 1::2, 0::2] = c
    x[:, :, 1::2, 1::2] = d
    return x


class PlainSubnet(nn.Module):
    """Three convolutions; the last starts at zero, so a new coupling is the identity."""

    def __init__(self, channels_in: int, channels_out: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels_in, hidden, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, channels_out, 3, padding=1),
        )
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class DenseSubnet(nn.Module):
    """IRN's DenseBlock: five 3x3 convolutions, each seeing the input and every earlier output.

    Hidden layers start small (Xavier x 0.1) and the last at zero, so a new coupling is the identity.
    """

    def __init__(self, channels_in: int, channels_out: int, growth: int) -> None:
        super().__init__()
        self.hidden = nn.ModuleList(nn.Conv2d(channels_in + i * growth, growth, 3, padding=1) for i in range(4))
        self.last = nn.Conv2d(channels_in + 4 * growth, channels_out, 3, padding=1)
        for conv in self.hidden:
            nn.init.xavier_normal_(conv.weight)
            conv.weight.data.mul_(0.1)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.last.weight)
        nn.init.zeros_(self.last.bias)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        features = x
        for conv in self.hidden:
            features = torch.cat([features, self.act(conv(features))], dim=1)
        return self.last(features)


SUBNETS: dict[str, type[nn.Module]] = {"plain": PlainSubnet, "dense": DenseSubnet}


class CouplingBlock(nn.Module):
    """IRN's affine coupling: the LR part is shifted by F(z); z is scaled and shifted by H, G of the LR.

    forward:  y1 = x1 + F(x2);  y2 = x2 * exp(s(y1)) + G(y1),  s = clamp * (2 sigmoid(H(y1)) - 1)
    inverse:  x2 = (y2 - G(y1)) * exp(-s(y1));  x1 = y1 - F(x2)
    The sigmoid clamp bounds the log-scale to [-clamp, clamp], which keeps training stable.
    """

    def __init__(self, channels: int, hidden: int, clamp: float, subnet: str) -> None:
        super().__init__()
        self.split = LR_CHANNELS
        rest = channels - LR_CHANNELS
        self.clamp = clamp
        make = SUBNETS[subnet]
        self.f = make(rest, LR_CHANNELS, hidden)
        self.g = make(LR_CHANNELS, rest, hidden)
        self.h = make(LR_CHANNELS, rest, hidden)

    def _log_scale(self, y1: Tensor) -> Tensor:
        return self.clamp * (torch.sigmoid(self.h(y1)) * 2 - 1)

    def forward(self, x: Tensor, rev: bool = False) -> Tensor:
        x1, x2 = x[:, : self.split], x[:, self.split :]
        if not rev:
            y1 = x1 + self.f(x2)
            y2 = x2 * torch.exp(self._log_scale(y1)) + self.g(y1)
        else:
            y1 = x1
            y2 = (x2 - self.g(y1)) * torch.exp(-self._log_scale(y1))
            y1 = x1 - self.f(y2)
        return torch.cat([y1, y2], dim=1)


class InvertibleRescaler(nn.Module):
    """Stages of (Haar split, coupling blocks); x4 stacks two x2 stages on the whole tensor, as IRN."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        stages = []
        channels = LR_CHANNELS
        for _ in range(config.stages):
            channels *= 4
            stages.append(
                nn.ModuleList(
                    CouplingBlock(channels, config.hidden, config.clamp, config.subnet)
                    for _ in range(config.blocks_per_stage)
                )
            )
        self.stages = nn.ModuleList(stages)
        self.out_channels = channels

    @property
    def scale(self) -> int:
        return self.config.scale

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) with H, W multiples of the scale -> (B, 3 * scale**2, H/scale, W/scale)."""
        for blocks in self.stages:
            x = haar_split(x)
            for block in blocks:
                x = block(x)
        return torch.cat([x[:, :LR_CHANNELS], x[:, LR_CHANNELS:] * self.config.z_gain], dim=1)

    def inverse(self, y: Tensor) -> Tensor:
        """Exact inverse of :meth:`forward`."""
        y = torch.cat([y[:, :LR_CHANNELS], y[:, LR_CHANNELS:] / self.config.z_gain], dim=1)
        for blocks in reversed(self.stages):
            for block in reversed(blocks):
                y = block(y, rev=True)
            y = haar_merge(y)
        return y

    def draw_latent(self, n: int, height: int, width: int, temperature: float, seed: int | None) -> Tensor:
        """z for an LR of (height, width): N(0, temperature^2 I) from a CPU generator seeded with
        ``seed`` (the same numbers on every device and for any tiling), or zeros at temperature 0.
        Always float32: torch draws other numbers in other dtypes, so a caller's default dtype
        must not change the image."""
        shape = (n, self.out_channels - LR_CHANNELS, height, width)
        if temperature <= 0:
            return torch.zeros(shape, dtype=torch.float32)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return torch.randn(shape, generator=generator, dtype=torch.float32) * temperature
