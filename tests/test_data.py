"""PyTorch data loading: a Dataset over .irr files with worker processes, and batch decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import codec
from codec.data import IrrFolder, decode_batch
from tests.conftest import photo_like


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("irrs")
    for i in range(4):
        (root / f"{i}.irr").write_bytes(codec.encode(photo_like(24, 32, seed=i), quality=80, scale=2))
    return root


def test_dataset_with_two_workers_matches_direct_decoding(folder):
    loader = DataLoader(IrrFolder(folder), batch_size=2, num_workers=2)
    batches = list(loader)
    assert len(batches) == 2 and batches[0].shape == (2, 3, 24, 32)
    first = codec.decode_tensor((folder / "0.irr").read_bytes())
    assert torch.equal(batches[0][0], first)


def test_dataset_thumbnails_and_transform(folder):
    ds = IrrFolder(folder, thumbnail=True, transform=lambda x: x * 2)
    assert ds[1].shape == (3, 12, 16) and float(ds[1].max()) > 1.0


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(codec.InputError, match="no .irr files"):
        IrrFolder(tmp_path)


def test_batch_decode_equals_one_by_one(folder):
    files = [p.read_bytes() for p in sorted(folder.glob("*.irr"))]
    files.append(codec.encode(photo_like(10, 14, 4), scale=4, temperature=0.6, seed=2))  # another size, alpha
    files.append(codec.encode(photo_like(24, 32, 1, seed=7), scale=2))  # gray, same LR size as the first four
    files.append(codec.encode(photo_like(24, 32, seed=8), scale=1))  # stored directly: no network
    batch = decode_batch(files, device="cpu")
    for data, out in zip(files, batch):
        single = codec.decode_array(data)
        assert out.shape == single.shape
        assert np.abs(out.astype(int) - single).max() <= 1


@pytest.mark.parametrize("kwargs", [{"temperature": -1}, {"temperature": "x"}, {"thumbnail": 1}, {"transform": 5}])
def test_dataset_arguments_are_checked(folder, kwargs):
    with pytest.raises(codec.InputError):
        IrrFolder(folder, **kwargs)


def test_dataset_root_must_be_a_folder(tmp_path):
    with pytest.raises(codec.InputError, match="not a folder"):
        IrrFolder(tmp_path / "missing")


def test_irr_folder_takes_any_case_and_names_a_broken_file(tmp_path):
    (tmp_path / "sub").mkdir()
    good = codec.encode(photo_like(8, 8), scale=1)
    (tmp_path / "P3.IRR").write_bytes(good)
    mid = len(good) // 2
    (tmp_path / "sub" / "bad.irr").write_bytes(good[:mid] + bytes([good[mid] ^ 1]) + good[mid + 1 :])
    ds = IrrFolder(tmp_path)
    assert [p.name for p in ds.files] == ["P3.IRR", "bad.irr"]
    assert ds[0].shape == (3, 8, 8)
    with pytest.raises(codec.ChecksumError, match=r"sub/bad\.irr: "):
        ds[1]
