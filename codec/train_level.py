"""Training of irr's learned transform level with the codec in the loop (``irr train``).

Each step draws a quantiser step (log-uniform over the quality range) and simulates what the
coder and the decoder do to a batch of patches::

    x -> split (YCoCg, 9/7 level, in float) -> level.analysis -> (low, high)
    high: dead-zone quantised at the level-1 band steps (straight-through)
    low:  the remaining 9/7 levels, each band dead-zone quantised at its step, transformed back
    -> level.synthesis -> merge -> x_hat

and minimises D / step^2 + (ln 2 / 2) R per pixel: D the summed squared RGB error (8-bit units),
R the bits of every band under ``entropy.proxy`` (the coder's own contexts and tables). The
weight is the coder's own price of a bit (entropy.coder.RDO_LAMBDA = ln 2 / 6 squared band steps,
times 3 for RGB), so the network is trained for the trade-off the encoder makes.

The run folder holds ``checkpoint.pt`` (weights, step, elapsed time and, for resuming here, Adam's
state), ``metrics.jsonl``, ``loss.png``, ``weights.safetensors`` (the last step) and
``best.safetensors`` with ``best.json``: the rate-distortion phase's weights whose simulated loss on
held-out training crops, relative to the untrained level's, was lowest (``val_score``). Those are
shipped: on these crops the loss first falls and then, on CPU budgets, climbs again (the
straight-through gradients of the dead-zone quantiser are biased), so the last step is not the best. Imports neither compressai nor construct: it runs on a plain torch install.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor

from codec.level import (LearnedLevel, LevelConfig, deinterleave_high, dwt_level, idwt_level, interleave_high, merge,
                         split, step_channel)
from codec.pixels import list_images
from codec.train import PatchSampler, load_rgb, save_run, split_train_val
from entropy.contexts import Predictor, band_steps
from entropy.proxy import deadzone, dequantize, pyramid_bits, table_scales
from entropy.tables import EntropyTables
from entropy.wavelet import levels_for

BIT_PRICE = math.log(2) / 2  # squared 8-bit RGB error (summed over R, G, B) per bit, per step^2
KINDS = ("luma", "co", "cg")


@dataclass
class LevelTrainConfig:
    data: str
    out: str
    tables: str  # entropy tables file whose contexts (and, scheme 4, predictor) the rate proxy follows
    init: str | None = None  # weights file to start from (then no prediction warm start)
    name: str = "irr-level"
    revision: int = 1
    iterations: int = 2500  # rate-distortion steps, after the prediction warm start
    pretrain: int = 2000  # steps of the first prediction subnet alone on plain detail prediction (MSE)
    pretrain_lr: float = 2e-3
    batch: int = 8
    patch: int = 128
    lr: float = 1e-4
    min_step: float = 1.0  # quantiser steps drawn log-uniformly in [min_step, max_step]
    max_step: float = 200.0
    blocks: int = 2
    hidden: int = 32
    depth: int = 3
    update_hidden: int = 16
    minutes: float = 0.0
    threads: int = 0
    device: str = "cpu"
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 200
    validate_every: int = 250


def quantize_ste(c: Tensor, step: int) -> Tensor:
    """What the decoder sees of ``c`` (dead-zone symbols, dequantised).

    The gradient passes straight through a nonzero symbol but not through a zero one: the decoder
    sees 0 there whatever ``c`` was. A plain straight-through estimator would let the encoder's
    prediction (high - P(low)) and the decoder's (+ P(low)) cancel in the gradient, so P would
    never learn to supply the detail that the dead zone removes, which at low rates is most of it.
    """
    q = deadzone(c, step)
    return torch.where(q != 0, c + (dequantize(q, step) - c).detach(), torch.zeros_like(c))


def simulate(level: LearnedLevel, x: Tensor, lr_step: int, scales: Tensor, scheme: int,
             predictor: Predictor | None = None) -> dict[str, Tensor]:
    """One pass of the codec in float: x (B, 3, H, W) in 8-bit units, H and W multiples of 2^levels.

    Returns per-image ``bits`` and summed squared error ``sse`` (both (B,)), and ``x_hat``.
    """
    step = lr_step / 256
    levels = levels_for(x.shape[2], x.shape[3])
    low, high = split(x)
    low, high = level.analysis(low, high, step)
    steps = [band_steps(lr_step, kind, levels, "9/7") for kind in KINDS]
    detail = deinterleave_high(high)  # three (B, 3, h, w): HL, LH, HH, channels = planes
    planes, coded_high = [], []
    for p in range(3):
        level1 = tuple(detail[o][:, p] for o in range(3))
        ll, pyramid = low[:, p : p + 1], []
        for _ in range(levels - 1):
            ll, bands = dwt_level(ll)
            pyramid.append(tuple(b[:, 0] for b in bands))
        planes.append((ll[:, 0], [level1, *pyramid]))
    bits = pyramid_bits(planes, list(KINDS), steps, scheme, scales, predictor)
    low_hat, high_hat = [], []
    for (ll, bands), plane_steps in zip(planes, steps):
        ll = quantize_ste(ll, plane_steps["ll"])[:, None]
        for lvl in range(len(bands), 1, -1):
            ll = idwt_level(ll, tuple(quantize_ste(b, plane_steps[(lvl, o)])[:, None] for o, b in enumerate(bands[lvl - 1])))
        low_hat.append(ll)
        coded_high.append(tuple(quantize_ste(b, plane_steps[(1, o)]) for o, b in enumerate(bands[0])))
    high_hat = interleave_high(*(torch.stack([coded_high[p][o] for p in range(3)], 1) for o in range(3)))
    low_rec, high_rec = level.synthesis(torch.cat(low_hat, 1), high_hat, step)
    x_hat = merge(low_rec, high_rec)
    return {"bits": bits, "sse": (x_hat - x).pow(2).flatten(1).sum(1), "x_hat": x_hat}


def draw_lr_step(rng: random.Random, cfg: LevelTrainConfig) -> int:
    step = math.exp(rng.uniform(math.log(cfg.min_step), math.log(cfg.max_step)))
    return max(257, min(65535, round(step * 256)))


def loss_of(result: dict[str, Tensor], lr_step: int, pixels: int) -> Tensor:
    step = lr_step / 256
    return (result["sse"] / step**2 + BIT_PRICE * result["bits"]).mean() / pixels


VALIDATION_STEPS = (2.0, 8.0, 32.0, 128.0)


@torch.no_grad()
def validate(level: LearnedLevel, images: list[Tensor], scales: Tensor, scheme: int, device: torch.device,
             predictor: Predictor | None = None) -> dict:
    """Simulated bpp and PSNR-RGB at a few steps on 256x256 centre crops of held-out training images."""
    level.eval()
    crops = []
    for im in images:
        top, left = (im.shape[1] - 256) // 2, (im.shape[2] - 256) // 2
        crops.append(im[:, top : top + 256, left : left + 256])
    x = torch.stack(crops).to(device).float()
    out: dict[str, float] = {}
    for step in VALIDATION_STEPS:
        lr_step = round(step * 256)
        r = simulate(level, x, lr_step, scales, scheme, predictor)
        mse = ((torch.round(r["x_hat"].clamp(0, 255)) - x) ** 2).flatten(1).mean(1)
        out[f"val_bpp@{step:g}"] = float(r["bits"].mean()) / (256 * 256)
        out[f"val_psnr@{step:g}"] = float((10 * torch.log10(255**2 / mse)).mean())
        out[f"val_loss@{step:g}"] = float(loss_of(r, lr_step, 256 * 256))
    level.train()
    return out


def relative_score(metrics: dict, baseline: dict) -> float:
    """Mean over the validation steps of the held-out loss relative to the untrained level's."""
    return sum(metrics[f"val_loss@{s:g}"] / baseline[f"val_loss@{s:g}"] for s in VALIDATION_STEPS) / len(VALIDATION_STEPS)


def load_checkpoint(path: Path, level: LearnedLevel, opt: torch.optim.Optimizer, device: torch.device) -> tuple[int, float]:
    state = torch.load(path, map_location=device, weights_only=True)
    level.load_state_dict(state["model"])
    if "optimizer" in state:
        opt.load_state_dict(state["optimizer"])
    return int(state["step"]), float(state.get("elapsed", torch.tensor(0.0)))


def train(cfg: LevelTrainConfig, progress: bool = True) -> dict[str, float]:
    """Run (or resume) training until ``cfg.iterations`` or ``cfg.minutes``; returns the last metrics."""
    from codec.models import serialize

    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = EntropyTables.from_bytes(Path(cfg.tables).read_bytes())
    scales, scheme, predictor = table_scales(tables).to(device), tables.context_scheme, tables.predictor
    train_files, val_files = split_train_val(list_images(Path(cfg.data), recursive=True))
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    sampler = PatchSampler([load_rgb(f) for f in train_files], cfg.patch, rng)
    val_images = [im for im in (load_rgb(f) for f in val_files) if min(im.shape[1:]) >= 256]

    if cfg.init:
        from codec.models import deserialize

        level = deserialize(Path(cfg.init).read_bytes()).to(device)
        if not isinstance(level, LearnedLevel):
            raise ValueError(f"{cfg.init} holds no learned level")
        cfg.pretrain = 0  # its prediction is already trained
        for p in level.parameters():
            p.requires_grad_(True)
    else:
        level = LearnedLevel(LevelConfig(cfg.blocks, cfg.hidden, cfg.depth, cfg.update_hidden)).to(device)
    opt = torch.optim.Adam(level.parameters(), lr=cfg.pretrain_lr if cfg.pretrain else cfg.lr)
    step, elapsed_before = 0, 0.0
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists():
        step, elapsed_before = load_checkpoint(ckpt_path, level, opt, device)
        rng.seed(cfg.seed * 7919 + step)
        torch.manual_seed(cfg.seed + step)
    rd_started = step > cfg.pretrain  # a resumed checkpoint past the warm start holds the RD phase's Adam
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    started = time.perf_counter()

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - started

    total = cfg.pretrain + cfg.iterations

    def done() -> float:
        fraction = step / total
        if cfg.minutes > 0:
            fraction = max(fraction, elapsed() / (60 * cfg.minutes))
        return min(fraction, 1.0)

    def rd_progress() -> float:
        """Fraction of the rate-distortion phase done (what its cosine schedule follows)."""
        fraction = (step - cfg.pretrain) / cfg.iterations
        if cfg.minutes > 0:
            fraction = max(fraction, (elapsed() / (60 * cfg.minutes) * total - cfg.pretrain) / cfg.iterations)
        return min(max(fraction, 0.0), 1.0)

    def save() -> None:
        save_run(out, level, opt, step, elapsed(), cfg.name, cfg.revision)

    from tqdm import tqdm

    bar = tqdm(total=None if cfg.minutes > 0 else total, initial=step, disable=not progress,
               desc="train level")
    metrics: dict[str, float] = {}
    sums: dict[str, float] = {}
    # The untrained level's held-out losses: the yardstick of every validation (1.0 = no better).
    baseline = validate(LearnedLevel(level.config).to(device), val_images, scales, scheme, device, predictor) if val_images else {}
    best_path = out / "best.json"
    best_score = json.loads(best_path.read_text())["val_score"] if best_path.exists() else math.inf
    since_log, tick = 0, time.perf_counter()
    pixels = cfg.patch * cfg.patch
    level.train()
    while done() < 1.0:
        x = sampler.batch(cfg.batch).to(device).float()
        if step < cfg.pretrain:
            # Warm start: the first predictor learns plain detail prediction, which rate-distortion
            # training alone teaches far more slowly (its gradient reaches P only through the rate
            # of nonzero symbols and the dead zone's zeros). Measured on held-out crops: 2 000
            # such steps cut the detail's energy by 17 % and the simulated rate by 1-3 %.
            lr_now = cfg.pretrain_lr * (1 - step / cfg.pretrain) + 1e-5
            low, high = split(x)
            steps_drawn = torch.tensor([draw_lr_step(rng, cfg) / 256 for _ in range(cfg.batch)], device=device)
            loss = ((high - level._p(0, low, step_channel(steps_drawn, low))) ** 2).mean() / high.pow(2).mean()
            scaled, result = loss, None
        else:
            if step == cfg.pretrain and not rd_started:
                opt = torch.optim.Adam(level.parameters(), lr=cfg.lr)  # fresh moments for the new objective
                rd_started = True
            progress_now = rd_progress()
            lr_now = cfg.lr * min(1.0, (progress_now + 1 / cfg.iterations) / 0.02) * 0.5 * (1 + math.cos(math.pi * progress_now))
            lr_step = draw_lr_step(rng, cfg)
            result = simulate(level, x, lr_step, scales, scheme, predictor)
            loss = loss_of(result, lr_step, pixels)
            # D / step^2 + lambda R falls ~1/step across the range (1.36 at step 2, 0.028 at 128 for
            # the untrained level): scaled by the step, every rate weighs about the same in Adam's moments.
            scaled = loss * (lr_step / 256)
        for group in opt.param_groups:
            group["lr"] = lr_now
        opt.zero_grad(set_to_none=True)
        scaled.backward()
        torch.nn.utils.clip_grad_norm_(level.parameters(), 1.0)
        opt.step()
        step += 1
        since_log += 1
        bar.update(1)
        logged = {"prediction_loss": float(loss.detach())} if result is None else {
            "loss": float(loss.detach()), "bpp": float(result["bits"].detach().mean()) / pixels,
            "mse": float(result["sse"].detach().mean()) / (3 * pixels)}
        for key, value in logged.items():
            sums[key] = sums.get(key, 0.0) + value
        last = done() >= 1.0
        if step % cfg.log_every == 0 or last:
            if not all(math.isfinite(v) for v in sums.values()):
                raise FloatingPointError(f"training diverged at step {step}: {sums}")
            metrics = {"step": step, "lr": lr_now, "it_per_s": since_log / (time.perf_counter() - tick),
                       "elapsed_s": round(elapsed(), 1), **{k: v / since_log for k, v in sums.items()}}
            if val_images and (step % cfg.validate_every == 0 or last):
                metrics.update(validate(level, val_images, scales, scheme, device, predictor))
                score = relative_score(metrics, baseline)
                metrics["val_score"] = score
                if step > cfg.pretrain and score < best_score:  # the RD phase's best held-out point is shipped
                    best_score, metrics["best"] = score, True
                    (out / "best.safetensors").write_bytes(serialize(level, cfg.name, cfg.revision))
                    (out / "best.json").write_text(json.dumps({"step": step, "val_score": score}))
            with open(out / "metrics.jsonl", "a") as log:
                log.write(json.dumps(metrics) + "\n")
            bar.set_postfix(loss=f"{metrics.get('loss', metrics.get('prediction_loss', 0)):.4f}")
            sums, since_log, tick = {}, 0, time.perf_counter()
        if step % cfg.checkpoint_every == 0 or last:
            save()
    bar.close()
    if not ckpt_path.exists():
        save()
    plot_metrics(out)
    return metrics


def compact(run: Path, target: Path) -> None:
    """Write the run's checkpoint without Adam's state (a third of the size): what gets committed."""
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    state.pop("optimizer", None)
    torch.save(state, target)


def plot_metrics(out: Path) -> None:
    """``loss.png``: the training loss, and the held-out simulated PSNR and bpp per validation step."""
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    if not rows:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for key, label in (("prediction_loss", "warm start: detail MSE / energy"), ("loss", "D/step² + λR per pixel")):
        points = [(r["step"], r[key]) for r in rows if key in r]
        if points:
            axes[0].plot(*zip(*points), label=label)
    axes[0].set(xlabel="iteration", ylabel="training loss (batches)", yscale="log")
    axes[0].legend(fontsize=8)
    val = [r for r in rows if "val_loss@2" in r]
    for step in VALIDATION_STEPS:
        if val:
            axes[1].plot([r["step"] for r in val], [r[f"val_psnr@{step:g}"] for r in val], label=f"step {step:g}")
            axes[2].plot([r["step"] for r in val], [r[f"val_loss@{step:g}"] for r in val], label=f"step {step:g}")
    axes[1].set(xlabel="iteration", ylabel="held-out PSNR-RGB (dB, simulated)")
    axes[2].set(xlabel="iteration", ylabel="held-out D/step² + λR", yscale="log")
    for ax in axes[1:]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=100)
    plt.close(fig)
