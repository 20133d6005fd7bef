"""Training photos: the held-out split every offline tool shares, loading, patch sampling."""

from __future__ import annotations

import random
import re
from pathlib import Path

import torch
from torch import Tensor

from codec import pixels


def photo_of(path: Path) -> str:
    """The photo a training tile was cut from: its name without the ``_NofM`` tile suffix."""
    return re.sub(r"_\d+of\d+$", "", path.stem)


def split_train_val(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """Hold out every 12th photo (by sorted name), all its tiles, to watch generalisation; never
    the eval set. (Until 2026-12 every 12th tile: most held-out tiles had siblings in training.)"""
    photos = sorted({photo_of(f) for f in files})
    held = set(photos[5::12]) if len(photos) >= 12 else set()
    return [f for f in files if photo_of(f) not in held], [f for f in files if photo_of(f) in held]


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
