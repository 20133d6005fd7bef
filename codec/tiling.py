"""Run a fully convolutional pass tile by tile, with overlap, so memory stays bounded on big images.

Each tile is computed with ``margin`` extra input samples on every side (clipped at the image
border) and only its centre is kept, so the convolutions near a tile edge see the same neighbours
as in a whole-image pass; the remaining difference is measured in the README (Tiling).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

TILE = 384
MARGIN = 24


def tiled_to_uint8(fn: Callable[[Tensor], Tensor], x: Tensor, factor: float, align: int = 1,
                   tile: int = TILE, margin: int = MARGIN, device: torch.device | None = None,
                   dtype: torch.dtype = torch.float32, progress: bool = False) -> np.ndarray:
    """Apply ``fn`` to (1, C, H, W) ``x`` tile by tile; returns fn's first 3 channels as (H', W', 3) uint8.

    ``x`` is float in [0, 1], or uint8 (converted tile by tile, which saves memory on big images).

    ``factor`` is output size / input size (2 or 4 for an inverse pass, 1/2 or 1/4 forward);
    ``align`` keeps tile edges on multiples of the scale in the input grid.
    """
    _, _, height, width = x.shape
    tile = max(align, tile - tile % align)
    margin = margin + (-margin % align)
    out_h, out_w = round(height * factor), round(width * factor)
    out = np.empty((out_h, out_w, 3), dtype=np.uint8)
    boxes = [(y, xx) for y in range(0, height, tile) for xx in range(0, width, tile)]
    from tqdm import tqdm

    for y0, x0 in tqdm(boxes, disable=not progress or len(boxes) < 4, desc="tiles", leave=False):
        y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
        ty0, tx0 = max(0, y0 - margin), max(0, x0 - margin)
        ty1, tx1 = min(height, y1 + margin), min(width, x1 + margin)
        patch = x[:, :, ty0:ty1, tx0:tx1].to(device=device, dtype=dtype)
        if x.dtype == torch.uint8:  # 8-bit input stays 8-bit until its tile is needed
            patch = patch / 255
        result = fn(patch)[0, :3].float().clamp(0, 1)
        oy, ox = round((y0 - ty0) * factor), round((x0 - tx0) * factor)
        oh, ow = round((y1 - y0) * factor), round((x1 - x0) * factor)
        keep = result[:, oy : oy + oh, ox : ox + ow]
        out[round(y0 * factor) : round(y0 * factor) + oh, round(x0 * factor) : round(x0 * factor) + ow] = (
            torch.round(keep * 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
        )
    return out
