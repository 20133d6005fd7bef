"""Training photos: the held-out split every offline tool shares, loading, patch sampling."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from torch import Tensor

from codec import pixels


def split_train_val(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """Hold out every 12th image (by sorted name) to watch generalisation; never the eval set."""
    val = files[5::12] if len(files) >= 12 else []
    return [f for f in files if f not in val], val


def load_rgb(path: Path) -> Tensor:
    """(3, H, W) uint8 RGB of an image file (``codec.pixels.load_rgb`` as a tensor)."""
    return torch.from_numpy(pixels.load_rgb(path)).permute(2, 0, 1)


class PatchSampler:
    """Random patches with flips and 90-degree rotations from images held in memory as uint8."""

    def __init__(self, images: list[Tensor], patch: int, rng: random.Random) -> None:
        self.images = [im for im in images if min(im.shape[1:]) >= patch]
        if not self.images:
            raise ValueError(f"no training image is at least {patch}x{patch}")
        self.patch = patch
        self.rng = rng

    def batch(self, size: int) -> Tensor:
        out = []
        for _ in range(size):
            im = self.images[self.rng.randrange(len(self.images))]
            top = self.rng.randrange(im.shape[1] - self.patch + 1)
            left = self.rng.randrange(im.shape[2] - self.patch + 1)
            p = im[:, top : top + self.patch, left : left + self.patch]
            if self.rng.random() < 0.5:
                p = p.flip(2)
            p = torch.rot90(p, self.rng.randrange(4), dims=(1, 2))
            out.append(p)
        return torch.stack(out)  # uint8: a quarter of the bytes to move; the caller converts
