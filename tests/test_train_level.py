"""Training of the learned level: a short run lowers its loss, resumes, exports loadable weights,
and needs neither compressai nor construct (it runs on a plain torch install)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image

from codec.level import LearnedLevel
from codec.models import deserialize, load_tables
from codec.training.config import LevelTrainConfig
from codec.training.level import simulate, train
from codec.training.proxy import table_scales
from tests.conftest import photo_like


def make_data(folder: Path) -> Path:
    folder.mkdir()
    for i in range(3):
        Image.fromarray(photo_like(64, 64, seed=i)).save(folder / f"img{i}.png")
    return folder


def tiny(data: Path, out: Path, iterations: int, pretrain: int = 20) -> LevelTrainConfig:
    from importlib import resources

    tables = str(resources.files("codec") / "weights" / "w97-laplace-1.npz")
    return LevelTrainConfig(data=str(data), out=str(out), tables=tables, iterations=iterations, pretrain=pretrain,
                            batch=2, patch=32, hidden=8, update_hidden=4, lr=1e-3, threads=1, log_every=10,
                            checkpoint_every=10, validate_every=1000)


def test_the_warm_start_lowers_the_prediction_loss_then_rd_training_runs_and_resumes(tmp_path):
    torch.manual_seed(0)
    data, out = make_data(tmp_path / "data"), tmp_path / "run"
    cfg = tiny(data, out, 20, pretrain=60)
    cfg.pretrain_lr = 1e-2
    train(cfg, progress=False)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30, 40, 50, 60, 70, 80]
    warm = [r["prediction_loss"] for r in rows if "prediction_loss" in r]
    assert len(warm) == 6 and sum(warm[-2:]) < sum(warm[:2])
    assert all("loss" in r and "bpp" in r for r in rows[6:])
    assert (out / "loss.png").exists()

    cfg.iterations = 40
    train(cfg, progress=False)  # resume from step 80
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows][-2:] == [90, 100]
    assert int(torch.load(out / "checkpoint.pt", weights_only=True)["step"]) == 100
    net = deserialize((out / "weights.safetensors").read_bytes())
    assert isinstance(net, LearnedLevel) and net.config.hidden == 8


def test_a_run_started_from_weights_skips_the_warm_start(tmp_path):
    from codec.level import LevelConfig
    from codec.models import serialize

    data, out = make_data(tmp_path / "data"), tmp_path / "run"
    start = LearnedLevel(LevelConfig(hidden=8, update_hidden=4))
    with torch.no_grad():
        for p in start.parameters():
            p.normal_(0, 0.02)
    (tmp_path / "start.safetensors").write_bytes(serialize(start, "irr-level", 1))
    cfg = tiny(data, out, 10)
    cfg.init = str(tmp_path / "start.safetensors")
    train(cfg, progress=False)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10] and "loss" in rows[0] and "prediction_loss" not in rows[0]
    trained = deserialize((out / "weights.safetensors").read_bytes())
    moved = [not torch.equal(a, b) for a, b in zip(trained.state_dict().values(), start.state_dict().values())]
    assert any(moved) and trained.config == start.config


def test_the_simulated_codec_of_an_untrained_level_is_the_wavelet_coder(monkeypatch):
    """Zero-initialised couplings: the simulation's rate is that of the 9/7 path alone (the real
    encoder's RDO, which training does not model, is switched off for the comparison)."""
    import entropy.coder
    import entropy.rdo
    from codec.level import LevelConfig

    x = torch.from_numpy(photo_like(64, 64)).permute(2, 0, 1)[None].float()
    scales = table_scales(load_tables("w97-laplace-1")[0])
    trained_like = LearnedLevel(LevelConfig(hidden=8, update_hidden=4))
    with torch.no_grad():
        for p in trained_like.parameters():
            p.normal_(0, 0.02)
    untrained = simulate(LearnedLevel(LevelConfig(hidden=8, update_hidden=4)), x, 8 * 256, scales, 2)
    changed = simulate(trained_like, x, 8 * 256, scales, 2)
    assert not torch.allclose(untrained["bits"], changed["bits"])
    monkeypatch.setattr(entropy.rdo, "RDO_LAMBDA", 0.0)
    stream, seen = entropy.coder.encode(photo_like(64, 64), entropy.coder.ImageLayout(64, 64, 3, 8 * 256),
                                        load_tables("w97-laplace-1")[0])
    assert abs(float(untrained["bits"]) / (8 * len(stream)) - 1) < 0.05
    psnr = 10 * torch.log10(255**2 / ((untrained["x_hat"].round().clamp(0, 255) - x) ** 2).mean())
    real = 10 * torch.log10(255**2 / ((torch.from_numpy(seen).permute(2, 0, 1)[None].float() - x) ** 2).mean())
    assert abs(float(psnr - real)) < 0.5  # float against integer lifting
