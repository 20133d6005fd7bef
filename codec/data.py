"""PyTorch data loading of .irr files, and batch decoding of many files on one device.

``IrrFolder`` works with ``DataLoader(num_workers > 0)``: each worker loads the shipped weights
once (the model cache is per process) and decodes on the CPU. For GPU pipelines, ``decode_batch``
entropy-decodes on the CPU (bit-exact) and runs the network once per group of equal-sized LRs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from bitstream.errors import InputError, IrrError
from codec import api, models
from codec.modes.rescaler import network_input
from codec.settings import DecodeSettings, check_temperature


class IrrFolder(Dataset):
    """Every ``.irr`` file under ``root`` (any case of the extension, sorted), as (C, H, W) float32
    tensors in [0, 1]. An error names the file it came from."""

    def __init__(self, root: str | Path, *, temperature: float | None = None, thumbnail: bool = False,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        if not isinstance(root, (str, Path)):
            raise InputError(f"root must be a folder path, got {type(root).__name__}")
        if not Path(root).is_dir():
            raise InputError(f"not a folder: {root}")
        if temperature is not None:
            check_temperature(temperature)
        if not isinstance(thumbnail, bool):
            raise InputError(f"thumbnail must be True or False, got {thumbnail!r}")
        if transform is not None and not callable(transform):
            raise InputError(f"transform must be callable, got {type(transform).__name__}")
        self.files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() == ".irr" and p.is_file())
        if not self.files:
            raise InputError(f"no .irr files under {root}")
        self.temperature = temperature
        self.thumbnail = thumbnail
        self.transform = transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        path = self.files[index]
        try:
            x = api.decode_tensor(path.read_bytes(), device="cpu", temperature=self.temperature, thumbnail=self.thumbnail)
        except IrrError as e:
            raise type(e)(f"{path}: {e}") from None
        return self.transform(x) if self.transform else x


@torch.no_grad()
def decode_batch(files: Sequence[bytes], *, device: str | torch.device = "auto",
                 dtype: torch.dtype = torch.float32, temperature: float | None = None) -> list[np.ndarray]:
    """Decode many files to (H, W, C) uint8 arrays, in input order.

    Rescaler files whose LRs share a size and model go through the network as one batch; other
    files are decoded one by one (a learned level's pass is tiled per image). Each file keeps
    its own latent seed, so the result equals one-by-one decoding up to float reassociation.
    """
    settings = DecodeSettings.checked(device, temperature, dtype=dtype)
    stored = []
    for i, data in enumerate(files):
        try:
            stored.append(api.read_stored(data))
        except IrrError as e:
            raise type(e)(f"file {i} of the batch: {e}") from None
    groups: dict[tuple, list[int]] = defaultdict(list)
    out: list[np.ndarray] = [np.empty(0)] * len(files)
    for i, s in enumerate(stored):
        if s.kind != "rescaler":  # the image itself, or a learned level: decoded file by file
            out[i] = api.decode_stored(s, settings).array
        else:
            groups[(s.header.model_name, s.header.model_revision, s.content.shape[:2])].append(i)
    for (name, revision, _), indexes in groups.items():
        net = models.load_model(name, revision)[0]
        batch = [network_input(net, stored[i].content, *settings.draw(stored[i].header)) for i in indexes]
        y = models.to_device(net, settings.device, dtype).inverse(torch.cat(batch).to(settings.device, dtype))
        pixels = torch.round(y[:, :3].float().clamp(0, 1) * 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        for k, i in enumerate(indexes):
            out[i] = api.finish(stored[i], pixels[k]).array
    return out
