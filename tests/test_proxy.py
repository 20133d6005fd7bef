"""The training's rate proxy picks, symbol for symbol, the tables the coder picks: its hard bits
equal the Laplace bits of the coder's own (context, value) pairs, for every lossy context scheme."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codec.models import load_tables
from entropy.fitting import collect_statistics
from entropy.pyramid import ImageLayout, to_planes
from entropy.steps import band_steps
from codec.training.proxy import laplace_bits, pyramid_bits, table_scales
from entropy.wavelet import dwt2, levels_for
from tests.conftest import photo_like

KINDS = ["luma", "co", "cg"]


@pytest.mark.parametrize("model, scheme", [("w97-laplace-1", 2), ("w97-laplace-2", 3), ("w97-adaptive-1", 4)])
@pytest.mark.parametrize("image_step", [3.0, 20.0])
def test_proxy_bits_are_the_coders_contexts_priced(model, scheme, image_step):
    tables = load_tables(model)[0]
    assert tables.context_scheme == scheme
    pixels = photo_like(64, 96, seed=3)
    lr_step = round(image_step * 256)
    levels = levels_for(64, 96)
    steps = [band_steps(lr_step, kind, levels, "9/7") for kind in KINDS]
    planes = []
    for plane in to_planes(pixels):
        ll, bands = dwt2(plane, levels, "9/7")
        as_tensor = lambda a: torch.from_numpy(a.astype(np.float64))[None]  # noqa: E731
        planes.append((as_tensor(ll), [tuple(as_tensor(b) for b in level) for level in bands]))
    scales = table_scales(tables)
    proxy = float(pyramid_bits(planes, KINDS, steps, scheme, scales, tables.predictor))

    pairs = collect_statistics(pixels, ImageLayout(64, 96, 3, lr_step), "9/7", scheme, predictor=tables.predictor)
    ctx = torch.from_numpy(np.concatenate([c for c, _ in pairs]))
    values = torch.from_numpy(np.concatenate([v for _, v in pairs]).astype(np.float64))
    coder = float(laplace_bits(values, scales[ctx]).sum())
    assert proxy == pytest.approx(coder, rel=1e-9)


def test_scheme_4_without_its_predictor_is_refused():
    tables = load_tables("w97-adaptive-1")[0]
    plane = (torch.zeros(1, 4, 4), [tuple(torch.zeros(1, 4, 4) for _ in range(3))])
    with pytest.raises(ValueError, match="predictor"):
        pyramid_bits([plane], ["luma"], [band_steps(2048, "luma", 1, "9/7")], 4, table_scales(tables))
