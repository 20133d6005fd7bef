"""Training of the rescalers: a short run on a tiny network lowers the loss, resumes, and exports loadable weights."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from codec.models import deserialize
from codec.training.config import RescalerTrainConfig as TrainConfig
from codec.training.rescaler import train
from tests.conftest import photo_like


def make_data(folder: Path) -> Path:
    folder.mkdir()
    for i in range(3):
        Image.fromarray(photo_like(48, 64, seed=i)).save(folder / f"img{i}.png")
    return folder


def tiny(data: Path, out: Path, iterations: int) -> TrainConfig:
    return TrainConfig(data=str(data), out=str(out), iterations=iterations, batch=4, patch=16, blocks=2,
                       hidden=8, lr=2e-3, threads=1, log_every=10, checkpoint_every=20, validate_every=1000)


def test_short_training_lowers_the_loss_and_resumes(tmp_path):
    torch.manual_seed(0)
    data = make_data(tmp_path / "data")
    out = tmp_path / "run"
    train(tiny(data, out, 60), progress=False)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30, 40, 50, 60]
    assert rows[-1]["rec"] < rows[0]["rec"]
    assert (out / "loss.png").exists()

    # A run killed after logging step 70 but before its step-80 checkpoint: the resume repeats 61-80,
    # and the log holds each step once.
    with open(out / "metrics.jsonl", "a") as log:
        log.write(json.dumps({**rows[-1], "step": 70}) + "\n")
    train(tiny(data, out, 80), progress=False)  # resume from step 60
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30, 40, 50, 60, 70, 80]

    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert int(state["step"]) == 80
    net = deserialize((out / "weights.safetensors").read_bytes())
    assert net.config.hidden == 8 and net.config.blocks_per_stage == 2


def test_data_parallel_under_torchrun_with_two_cpu_processes(tmp_path):
    import subprocess
    import sys

    data = make_data(tmp_path / "data")
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533", "-m", "codec",
           "train", "--kind", "rescaler", "--data", str(data), "--out", str(out), "--iterations", "20", "--batch", "2", "--patch", "16",
           "--blocks", "1", "--hidden", "4", "--threads", "1", "--log-every", "10"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20]  # written once, by rank 0
    assert all(r["world_size"] == 2 for r in rows)
    assert deserialize((out / "weights.safetensors").read_bytes()).config.hidden == 4


def test_a_wall_clock_budget_ends_the_run_on_a_decayed_rate_and_resumes(tmp_path):
    data = make_data(tmp_path / "data")
    out = tmp_path / "timed"
    cfg = tiny(data, out, 10**9)
    cfg.minutes = 0.02  # 1.2 s; the iteration count alone would never end
    train(cfg, progress=False)
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    steps, spent = int(state["step"]), float(state["elapsed"])
    assert 0 < steps < 10**9 and spent >= 1.2
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    # The cosine ran to its end: the last step's rate is what the schedule gives one step (three mean
    # steps, for a slow last one) before the budget ran out -- bounded by the step time, not by luck.
    step_fraction = 3 * spent / steps / (60 * cfg.minutes)
    assert step_fraction < 0.5, "too few steps in the budget to test the schedule"
    assert last["step"] == steps and last["lr"] <= cfg.lr * 0.5 * (1 + math.cos(math.pi * (1 - step_fraction)))

    cfg.minutes = 0.04  # resume: another ~1.2 s, counted from the time already spent
    train(cfg, progress=False)
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert int(state["step"]) > steps and 2.4 <= float(state["elapsed"]) < 2.4 + 60


def test_bfloat16_autocast_trains_a_dense_network_with_float32_weights(tmp_path):
    data = make_data(tmp_path / "data")
    out = tmp_path / "bf16"
    cfg = tiny(data, out, 20)
    cfg.subnet, cfg.precision = "dense", "bf16"
    metrics = train(cfg, progress=False)
    assert metrics["step"] == 20 and all(torch.isfinite(torch.tensor(metrics[k])) for k in ("loss", "rec"))
    net = deserialize((out / "weights.safetensors").read_bytes())
    assert net.config.subnet == "dense"
    assert all(p.dtype == torch.float32 for p in net.parameters())


def test_the_held_out_split_keeps_every_tile_of_a_photo_on_one_side():
    from codec.training.data import photo_of, split_train_val

    files = [Path(f"p{i:02d}_{k}of3.png") for i in range(24) for k in (1, 2, 3)] + [Path("single_1of1.png")]
    train_files, val = split_train_val(sorted(files))
    assert val and set(train_files) | set(val) == set(files)
    assert not {photo_of(f) for f in train_files} & {photo_of(f) for f in val}
    assert photo_of(Path("Bridge_6of6.png")) == "Bridge" and photo_of(Path("gcompris_swans_1of1.png")) == "gcompris_swans"


def test_the_rescalers_validation_measures_what_the_codec_decodes():
    """The training's yardstick is the bench's: the shipped x2 on a photo gives the PSNR of an
    ``encode(lossless, scale=2)`` + T = 0 decode, and Pillow's bicubic round trip as its baseline."""
    import codec
    from codec import models
    from codec.pixels import bicubic_round_trip, psnr
    from codec.training.rescaler import validate

    rgb = photo_like(48, 72, seed=3)
    net = models.deserialize(models.weights_path("irr-x2", 1).read_bytes())
    figures = validate(net, [torch.from_numpy(rgb).permute(2, 0, 1)], 2, torch.device("cpu"))
    data = codec.encode(rgb, lossless=True, scale=2, network_revision=1)
    decoded = codec.decode_array(data, temperature=0.0, device="cpu")
    stored_lr = codec.decode_array(data, thumbnail=True)
    thumbnail, enlarged = bicubic_round_trip(rgb, 2)
    assert math.isclose(figures["val_psnr"], psnr(rgb, decoded), abs_tol=1e-9)
    assert math.isclose(figures["val_bicubic_psnr"], psnr(rgb, enlarged), abs_tol=1e-9)
    assert math.isclose(figures["val_gain_db"], figures["val_psnr"] - figures["val_bicubic_psnr"], abs_tol=1e-9)
    assert math.isclose(figures["val_lr_psnr"], psnr(thumbnail, stored_lr), abs_tol=1e-9)


def _train_cli(*args: str) -> tuple[int, str]:
    import contextlib
    import io

    from codec.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["train", *args])
    return code, err.getvalue()


def test_resume_continues_a_run_with_its_own_settings_and_refuses_to_change_them(tmp_path):
    data, out = make_data(tmp_path / "data"), tmp_path / "run"
    first = ["--kind", "rescaler", "--data", str(data), "--out", str(out), "--iterations", "20", "--batch", "2",
             "--patch", "16", "--blocks", "1", "--hidden", "4", "--threads", "1", "--log-every", "10"]
    assert _train_cli(*first)[0] == 0
    code, err = _train_cli(*first)  # the same command again would silently continue or restart: refused
    assert code == 2 and "--resume" in err
    code, err = _train_cli("--resume", str(out), "--lr", "0.1")
    assert code == 2 and "--lr cannot change" in err
    code, err = _train_cli("--resume", str(out), "--kind", "level")
    assert code == 2 and "rescaler run" in err
    assert _train_cli("--resume", str(tmp_path / "nothing"))[0] == 2
    assert _train_cli("--resume", str(out), "--iterations", "30")[0] == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30]
    saved = json.loads((out / "config.json").read_text())
    assert (saved["hidden"], saved["patch"], saved["iterations"]) == (4, 16, 30)


def test_sigterm_stops_a_run_at_a_step_with_a_checkpoint(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    data, out = make_data(tmp_path / "data"), tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "codec", "train", "--kind", "rescaler", "--data", str(data),
                             "--out", str(out), "--iterations", "1000000", "--batch", "2", "--patch", "16",
                             "--blocks", "1", "--hidden", "4", "--threads", "1", "--log-every", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "metrics.jsonl").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "--resume" in err
    stopped_at = int(torch.load(out / "checkpoint.pt", weights_only=True)["step"])
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert 10 <= stopped_at < 1000000 and rows[-1]["step"] == stopped_at


@pytest.mark.slow
def test_the_gpu_recipe_runs_on_the_cpu_compiled_and_resumes_uncompiled(tmp_path):
    """The GPU command's path (photos on the device, torch.compile'd step) on a tiny CPU run: its
    checkpoint is the ordinary one, so the same run resumes without compile (and the other way)."""
    data = make_data(tmp_path / "data")
    out = tmp_path / "run"
    cfg = tiny(data, out, 20)
    cfg.compile = True
    metrics = train(cfg, progress=False)
    assert metrics["step"] == 20 and math.isfinite(metrics["loss"])
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert not any(key.startswith("_orig_mod") for key in state["model"])  # the plain network's names
    train(tiny(data, out, 30), progress=False)
    assert int(torch.load(out / "checkpoint.pt", weights_only=True)["step"]) == 30


def test_training_for_recompressed_lrs_sees_jpeg_error_and_measures_it(tmp_path):
    from codec.training.rescaler import quantize_8bit, recompressed

    torch.manual_seed(3)
    lr = torch.rand(8, 3, 16, 16, requires_grad=True)
    lr8 = quantize_8bit(lr)
    seen = recompressed(lr8, 20)
    changed = [(seen[i] - lr8[i]).abs().max() > 0 for i in range(8)]
    assert 0 < sum(changed) < 8  # about half the batch went through JPEG
    seen.sum().backward()
    assert torch.equal(lr.grad, torch.ones_like(lr))  # straight through: JPEG adds a constant
    data = tmp_path / "data"
    data.mkdir()
    for i in range(12):  # the split holds out every 12th photo
        Image.fromarray(photo_like(32, 32, seed=i)).save(data / f"img{i:02d}.png")
    cfg = tiny(data, tmp_path / "run", 20)
    cfg.lr_jpeg, cfg.validate_every = 50, 20
    metrics = train(cfg, progress=False)
    assert math.isfinite(metrics["val_jpeg75_gain_db"]) and math.isfinite(metrics["val_gain_db"])
    assert metrics["val_mean_gain_db"] == pytest.approx((metrics["val_jpeg75_gain_db"] + metrics["val_gain_db"]) / 2)
    assert json.loads((tmp_path / "run" / "best.json").read_text())["val_mean_gain_db"] == metrics["val_mean_gain_db"]


def test_the_best_held_out_gain_is_kept_beside_the_last_weights(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(12):  # the split holds out every 12th photo
        Image.fromarray(photo_like(32, 32, seed=i)).save(data / f"img{i:02d}.png")
    out = tmp_path / "run"
    cfg = tiny(data, out, 30)
    cfg.validate_every = 10
    train(cfg, progress=False)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if "val_gain_db" in line]
    best = json.loads((out / "best.json").read_text())
    assert best["val_gain_db"] == max(r["val_gain_db"] for r in rows)
    assert best["step"] == max(rows, key=lambda r: r["val_gain_db"])["step"]
    assert deserialize((out / "best.safetensors").read_bytes()).config.hidden == 8


def test_a_run_started_from_weights_fine_tunes_them(tmp_path):
    from codec.models import serialize
    from codec.network import InvertibleRescaler, NetworkConfig

    data, out = make_data(tmp_path / "data"), tmp_path / "run"
    torch.manual_seed(1)
    start = InvertibleRescaler(NetworkConfig(scale=2, blocks_per_stage=1, hidden=6))
    (tmp_path / "start.safetensors").write_bytes(serialize(start, "irr-x2", 1))
    cfg = tiny(data, out, 10)  # blocks 2, hidden 8: the weights' own shape wins
    cfg.init, cfg.lr = str(tmp_path / "start.safetensors"), 1e-5
    train(cfg, progress=False)
    tuned = deserialize((out / "weights.safetensors").read_bytes())
    assert tuned.config == start.config
    drift = max((a - b).abs().max().item() for a, b in zip(tuned.state_dict().values(), start.state_dict().values()))
    assert 0 < drift < 1e-2  # moved, from the given weights rather than a fresh draw
    cfg = tiny(data, tmp_path / "x4", 10)
    cfg.init, cfg.scale = str(tmp_path / "start.safetensors"), 4
    with pytest.raises(ValueError, match="no x4 rescaler"):
        train(cfg, progress=False)
