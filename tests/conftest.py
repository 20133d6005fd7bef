"""Shared fixtures: small synthetic images and files made here, so the suite needs no ../shared."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch


def photo_like(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth gradient with texture and an edge: compresses and rescales like a photo, not like noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    base = 128 + 60 * np.sin(xx / 7.0) * np.cos(yy / 11.0) + 40 * (xx > width / 2)
    planes = [base + 20 * c + rng.normal(0, 4, (height, width)) for c in range(channels)]
    return np.clip(np.stack(planes, axis=-1), 0, 255).astype(np.uint8)


@pytest.fixture
def sample_path() -> Path:
    return Path(str(resources.files("codec") / "samples" / "coffee.png"))


@pytest.fixture(autouse=True)
def _restore_threads():
    """Tests that vary the thread count leave it as they found it."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
