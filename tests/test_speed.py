"""Speed benchmarks (pytest-benchmark). The default run executes each once as a smoke test;
timings: ``python -m pytest tests/test_speed.py --benchmark-enable --benchmark-only``.

The CompressAI bmshj2018-hyperprior baseline (random weights, quality 3) runs on the same image in
the same session, so the ratios survive a noisy machine.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import codec
from codec.models import LEVEL_ENTROPY_MODEL, RESCALER_ENTROPY_MODEL, load_tables
from entropy.coder import ImageLayout
from entropy.coder import decode as entropy_decode
from entropy.coder import encode as entropy_encode
from tests.conftest import photo_like

pytestmark = pytest.mark.benchmark


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    from importlib import resources

    from PIL import Image

    with Image.open(str(resources.files("codec") / "samples" / "coffee.png")) as im:
        return np.asarray(im.convert("RGB").resize((768, 512), Image.BICUBIC))


# The default (the learned level), the wavelet coder alone (scale 1) and the x2 rescaler.
SCALES = pytest.mark.parametrize("scale", [None, 1, 2], ids=["default", "scale1", "x2"])


@SCALES
def test_encode_768x512(benchmark, image, scale):
    benchmark.pedantic(codec.encode, args=(image,), kwargs={"quality": 75, "scale": scale}, rounds=3, iterations=1)


@SCALES
def test_decode_768x512(benchmark, image, scale):
    encoded = codec.encode(image, quality=75, scale=scale)
    out = benchmark.pedantic(codec.decode_array, args=(encoded,), kwargs={"device": "cpu"}, rounds=3, iterations=1)
    assert out.shape == (512, 768, 3)


@pytest.mark.parametrize("coder", ["native", "compressai"])
def test_default_decode_by_rans_coder_768x512(benchmark, image, coder, monkeypatch):
    """irr's C rANS coder against CompressAI's through Python lists (the fallback), same file."""
    from entropy import streams

    encoded = codec.encode(image, quality=75)
    if coder == "compressai":
        monkeypatch.setattr(streams, "native", None)
    out = benchmark.pedantic(codec.decode_array, args=(encoded,), kwargs={"device": "cpu"}, rounds=3, iterations=1,
                             warmup_rounds=1)  # not compressai's first import
    assert out.shape == (512, 768, 3)


def test_first_decode_of_a_small_file_in_a_new_process(benchmark, tmp_path):
    """What a user waits for on the first `irr decode`: imports, weights, a 96x64 decode."""
    import subprocess
    import sys

    path = tmp_path / "small.irr"
    path.write_bytes(codec.encode(photo_like(64, 96)))
    script = f"import codec; codec.decode_array(open({str(path)!r}, 'rb').read())"
    benchmark.pedantic(subprocess.run, args=([sys.executable, "-c", script],), kwargs={"check": True}, rounds=3,
                       iterations=1)


def test_thumbnail_decode_768x512(benchmark, image):
    encoded = codec.encode(image, quality=75, scale=2)
    out = benchmark.pedantic(codec.decode_array, args=(encoded,), kwargs={"thumbnail": True}, rounds=3, iterations=1)
    assert out.shape == (256, 384, 3)


# w97-laplace-2 was the learned level's model before w97-adaptive-1: the per-symbol yardstick.
@pytest.mark.parametrize("model", sorted({RESCALER_ENTROPY_MODEL, "w97-laplace-2", LEVEL_ENTROPY_MODEL}))
def test_entropy_coding_alone_384x256(benchmark, model):
    tables = load_tables(model)[0]
    lr = photo_like(256, 384)
    layout = ImageLayout(256, 384, 3, 1024)

    def round_trip() -> np.ndarray:
        stream, _ = entropy_encode(lr, layout, tables)
        return entropy_decode(stream, layout, tables, 10**8)

    benchmark.pedantic(round_trip, rounds=3, iterations=1)


@pytest.mark.parametrize("model", sorted({"w97-laplace-2", LEVEL_ENTROPY_MODEL}))
def test_entropy_decoding_alone_768x512(benchmark, image, model):
    """Entropy decoding of a default -q 75 file's symbols (LR and detail), per model: the same
    symbols' decode time, so the ratio is the per-symbol speed."""
    from codec import models
    from codec.settings import EncodeSettings
    from codec.transform import LevelTransform
    from entropy import coder

    tables = load_tables(model)[0]
    net = models.load_model(models.LEVEL_MODEL, models.latest_revision(models.LEVEL_MODEL))[0]
    lr_step = EncodeSettings(quality=75).lr_step
    layout = ImageLayout(512, 768, 3, lr_step)
    coded = coder.encode_parts(image, layout, tables, ("lr", "detail"), LevelTransform(net, lr_step), rdo=False)
    _, _, crcs = benchmark.pedantic(coder.decode_symbols, args=(coded.payloads, layout, tables, ("lr", "detail")),
                                    rounds=3, iterations=1)
    assert crcs == coded.crcs


def test_learned_level_inverse_pass_768x512(benchmark, image):
    """The network's share of a default decode: the level's synthesis on a 384x256 low band."""
    from codec import models
    from codec.transform import LevelTransform

    net = models.load_model(models.LEVEL_MODEL, models.latest_revision(models.LEVEL_MODEL))[0]
    lows = np.zeros((3, 256, 384), np.int64)
    highs = [tuple(np.zeros((256, 384), np.int64) for _ in range(3)) for _ in range(3)]
    steps = [{(1, o): 64 for o in range(3)} for _ in range(3)]
    out = benchmark.pedantic(LevelTransform(net, 16 * 256).synthesis, args=(lows, highs, steps), rounds=3, iterations=1)
    assert out[0].shape == (3, 256, 384)


@pytest.mark.parametrize("step", ["compress", "decompress"])
def test_baseline_compressai_hyperprior_768x512(benchmark, image, step):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from compressai.zoo import bmshj2018_hyperprior

    torch.manual_seed(0)
    net = bmshj2018_hyperprior(quality=3, pretrained=False).eval()
    net.update(force=True)
    x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        if step == "compress":
            benchmark.pedantic(net.compress, args=(x,), rounds=3, iterations=1)
        else:
            packed = net.compress(x)
            out = benchmark.pedantic(net.decompress, args=(packed["strings"], packed["shape"]), rounds=3, iterations=1)
            assert out["x_hat"].shape == x.shape
