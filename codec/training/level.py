"""Training of irr's learned transform level with the codec in the loop (``irr train``).

Each step draws a quantiser step (log-uniform over the quality range) and simulates what the
coder and the decoder do to a batch of patches::

    x -> split (YCoCg, 9/7 level, in float) -> level.analysis -> (low, high)
    high: dead-zone quantised at the level-1 band steps (straight-through)
    low:  the remaining 9/7 levels, each band dead-zone quantised at its step, transformed back
    -> level.synthesis -> merge -> x_hat

and minimises D / step^2 + (ln 2 / 2) R per pixel: D the summed squared RGB error (8-bit units),
R the bits of every band under ``codec.training.proxy``: the contexts and tables of the entropy
model given (by default the one the level's files are coded with, ``models.LEVEL_ENTROPY_MODEL``;
its per-file bin shifts taken as 0). The weight is the coder's own price of a bit
(entropy.rdo.RDO_LAMBDA = ln 2 / 6 squared band steps, times 3 for RGB), so the network is trained
for the trade-off the encoder makes; the encoder's RDO lowering itself is not simulated.

Besides the loop's files (``codec.training.loop``), the run folder holds ``best.safetensors``
with ``best.json``: the rate-distortion phase's weights whose simulated loss on held-out training
crops, relative to the untrained level's, was lowest (``val_score``). Those are shipped: on these
crops the loss first falls and then, on CPU budgets, climbs again (the straight-through gradients
of the dead-zone quantiser are biased), so the last step is not the best.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict
from pathlib import Path

import torch
from torch import Tensor

from codec.level import LearnedLevel, LevelConfig, step_channel
from codec.pixels import list_images
from codec.training.config import LevelTrainConfig
from codec.training.data import PatchSampler, load_rgb, split_train_val
from codec.training.loop import Schedule, cosine, keep_best, read_metrics, run
from codec.training.proxy import deadzone, dequantize, pyramid_bits, table_scales
from codec.training.split import deinterleave_high, dwt_level, idwt_level, interleave_high, merge, split
from entropy.contexts import Predictor
from entropy.steps import band_steps
from entropy.tables import EntropyTables
from entropy.wavelet import levels_for

BIT_PRICE = math.log(2) / 2  # squared 8-bit RGB error (summed over R, G, B) per bit, per step^2
KINDS = ("luma", "co", "cg")
RD_WARMUP = 0.02  # of the rate-distortion phase: a guard for Adam's first, largest steps


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
    """A header step (8.8 fixed point) drawn log-uniformly in [cfg.min_step, cfg.max_step]."""
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


class LevelTask:
    """The loop's task (``codec.training.loop.Task``): phase 0 is the prediction warm start, phase 1
    rate-distortion training."""

    description = "train level"
    clip = 1.0

    def __init__(self, cfg: LevelTrainConfig) -> None:
        self.cfg = cfg
        self.name, self.revision = cfg.name, cfg.revision
        self.rng = random.Random(cfg.seed)
        self.pretrain = 0 if cfg.init else cfg.pretrain  # started from weights: their prediction is trained

    def setup(self, device: torch.device, rank: int, world: int) -> None:
        from codec.models import ENTROPY_MODELS, LEVEL_ENTROPY_MODEL, deserialize, weights_folder

        cfg = self.cfg
        self.device = device
        tables_path = Path(cfg.tables) if cfg.tables else weights_folder() / ENTROPY_MODELS[LEVEL_ENTROPY_MODEL]
        tables = EntropyTables.from_bytes(tables_path.read_bytes())
        self.scales, self.scheme, self.predictor = table_scales(tables).to(device), tables.context_scheme, tables.predictor
        train_files, val_files = split_train_val(list_images(Path(cfg.data), recursive=True))
        self.sampler = PatchSampler([load_rgb(f) for f in train_files], cfg.patch, self.rng)
        self.val_images = [im for im in (load_rgb(f) for f in val_files) if min(im.shape[1:]) >= 256]
        if cfg.init:
            net = deserialize(Path(cfg.init).read_bytes())
            if not isinstance(net, LearnedLevel):
                raise ValueError(f"{cfg.init} holds no learned level")
        else:
            net = LearnedLevel(LevelConfig(cfg.blocks, cfg.hidden, cfg.depth, cfg.update_hidden))
        self.net = net.to(device).train()
        for p in self.net.parameters():
            p.requires_grad_(True)
        # The untrained level's held-out losses: the yardstick of every validation (1.0 = no better).
        self.baseline = self._validate(LearnedLevel(self.net.config).to(device)) if self.val_images else {}
        self.pixels = cfg.patch * cfg.patch

    @property
    def total(self) -> int:
        return self.pretrain + self.cfg.iterations

    def phase(self, step: int) -> int:
        return 0 if step < self.pretrain else 1

    def optimizer(self, phase: int) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.net.parameters(), lr=self.cfg.pretrain_lr if phase == 0 else self.cfg.lr)

    def reseed(self, seed: int) -> None:
        self.rng.seed(seed)

    def learning_rate(self, step: int, done: float) -> float:
        cfg = self.cfg
        if step < self.pretrain:
            return cfg.pretrain_lr * (1 - step / self.pretrain) + 1e-5
        return cosine(cfg.lr, (done * self.total - self.pretrain) / cfg.iterations, RD_WARMUP, 1 / cfg.iterations)

    def loss(self, step: int) -> tuple[Tensor, dict[str, Tensor]]:
        cfg = self.cfg
        x = self.sampler.batch(cfg.batch).to(self.device).float()
        if step < self.pretrain:
            # Warm start: the first predictor learns plain detail prediction, which rate-distortion
            # training alone teaches far more slowly (its gradient reaches P only through the rate
            # of nonzero symbols and the dead zone's zeros). Measured on held-out crops: 2 000
            # such steps cut the detail's energy by 17 % and the simulated rate by 1-3 %.
            low, high = split(x)
            steps = torch.tensor([draw_lr_step(self.rng, cfg) / 256 for _ in range(cfg.batch)], device=self.device)
            loss = ((high - self.net._p(0, low, step_channel(steps, low))) ** 2).mean() / high.pow(2).mean()
            return loss, {"prediction_loss": loss}
        lr_step = draw_lr_step(self.rng, cfg)
        result = simulate(self.net, x, lr_step, self.scales, self.scheme, self.predictor)
        loss = loss_of(result, lr_step, self.pixels)
        # D / step^2 + lambda R falls ~1/step across the range (1.36 at step 2, 0.028 at 128 for
        # the untrained level): scaled by the step, every rate weighs about the same in Adam's moments.
        return loss * (lr_step / 256), {"loss": loss, "bpp": result["bits"].mean() / self.pixels,
                                        "mse": result["sse"].mean() / (3 * self.pixels)}

    def _validate(self, level: LearnedLevel) -> dict[str, float]:
        return validate(level, self.val_images, self.scales, self.scheme, self.device, self.predictor)

    def validate(self, step: int, out: Path) -> dict[str, float]:
        """Held-out metrics; the rate-distortion phase's best held-out point is kept as ``best.*``."""
        if not self.val_images:
            return {}
        metrics = self._validate(self.net)
        score = metrics["val_score"] = relative_score(metrics, self.baseline)
        if step > self.pretrain and keep_best(out, self, step, "val_score", score, higher_is_better=False):
            metrics["best"] = True
        return metrics

    def plot(self, out: Path) -> None:
        plot_metrics(out)


def train(cfg: LevelTrainConfig, progress: bool = True) -> dict[str, float]:
    """Run (or resume) a level's training until ``cfg.iterations`` or ``cfg.minutes``; returns the
    last metrics."""
    task = LevelTask(cfg)
    schedule = Schedule(task.total, cfg.minutes, cfg.log_every, cfg.checkpoint_every, cfg.validate_every,
                        cfg.threads, cfg.device, cfg.seed)
    return run(task, Path(cfg.out), schedule, asdict(cfg), progress)


def plot_metrics(out: Path) -> None:
    """``loss.png``: the training loss, and the held-out simulated PSNR and bpp per validation step."""
    rows = read_metrics(out)
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
