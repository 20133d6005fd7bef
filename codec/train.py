"""Training of the invertible rescaler (``irr train``): resumable, logged, CPU or CUDA.

Loss (IRN, arXiv 2005.05650):
    guide * ||LR - bicubic(x)||^2      keeps the LR a faithful thumbnail,
    charbonnier(inverse(Q(LR), z~N(0,t^2)), x), t~U(0,T)   reconstruction from the 8-bit LR the decoder sees,
    z_weight * mean(z^2)               pushes the forward latent towards the prior's mode,
where Q rounds to 8 bits with a straight-through gradient.

Everything a run needs to continue lives in ``OUT/checkpoint.pt`` (tensors only, loaded with
``weights_only=True``); ``OUT/metrics.jsonl`` has one line per log step and ``OUT/loss.png`` plots it.
``OUT/weights.safetensors`` is the latest shippable network.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from codec.models import serialize
from codec.network import LR_CHANNELS, InvertibleRescaler, NetworkConfig
from codec.pixels import list_images

# Fraction of the run with a linearly rising learning rate: Adam's first steps are its largest, and
# the dense subnets were run at 4e-4 (IRN used 2e-4). A guard, not ablated.
WARMUP = 0.02


@dataclass
class TrainConfig:
    data: str
    out: str
    scale: int = 2
    name: str = "irr-x2"
    revision: int = 1
    iterations: int = 20000
    batch: int = 16
    patch: int = 64
    lr: float = 5e-4
    guide: float = 1.0
    z_weight: float = 0.5
    temperature: float = 1.0
    blocks: int = 4
    hidden: int = 32
    subnet: str = "plain"
    # Wall-clock budget (0: none). The learning-rate schedule follows whichever of iterations and
    # minutes is further along, so a short budget still ends on a fully decayed rate.
    minutes: float = 0.0
    # "bf16": autocast the subnets to bfloat16 (CUDA); the coupling arithmetic and losses stay float32.
    precision: str = "fp32"
    threads: int = 0
    device: str = "cpu"
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 250
    validate_every: int = 500


def quantize_8bit(x: Tensor) -> Tensor:
    """Round to the 8-bit grid in [0, 1]; the gradient passes straight through."""
    q = torch.round(x.clamp(0, 1) * 255) / 255
    return x + (q - x).detach()


def bicubic_down(x: Tensor, scale: int) -> Tensor:
    return F.interpolate(x, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False)


def losses(net: InvertibleRescaler, x: Tensor, cfg: TrainConfig) -> dict[str, Tensor]:
    y = net(x)
    lr, z = y[:, :LR_CHANNELS], y[:, LR_CHANNELS:]
    guide = F.mse_loss(lr, bicubic_down(x, cfg.scale))
    z_prior = z.pow(2).mean()
    # Each sample gets its own temperature in [0, T]: a network that only ever sees z ~ N(0, I)
    # learns to rely on |z| being typical (~sqrt(dim)) and breaks at z = 0; this keeps every
    # decode temperature in [0, T] usable.
    t = torch.rand(z.shape[0], 1, 1, 1, device=z.device, dtype=z.dtype) * cfg.temperature
    z_draw = torch.randn_like(z) * t
    x_hat = net.inverse(torch.cat([quantize_8bit(lr), z_draw], dim=1))
    rec = torch.sqrt((x_hat - x) ** 2 + 1e-6).mean()
    total = rec + cfg.guide * guide + cfg.z_weight * z_prior
    return {"loss": total, "rec": rec, "guide": guide, "z": z_prior}


class TrainingStep(torch.nn.Module):
    """The whole loss as one forward(), so DistributedDataParallel sees (and syncs) every pass."""

    def __init__(self, net: InvertibleRescaler, cfg: TrainConfig) -> None:
        super().__init__()
        self.net = net
        self.cfg = cfg

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return losses(self.net, x, self.cfg)


def _start_distributed(cfg: TrainConfig) -> tuple[int, int, torch.device]:
    """(rank, world size, device). Under torchrun: NCCL on GPUs, gloo on CPUs; else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device(cfg.device)
    if world > 1:
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def split_train_val(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """Hold out every 12th image (by sorted name) to watch generalisation; never the eval set."""
    val = files[5::12] if len(files) >= 12 else []
    return [f for f in files if f not in val], val


def load_rgb(path: Path) -> Tensor:
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


class PatchSampler:
    """Random patches with flips and 90-degree rotations from images held in memory as uint8."""

    def __init__(self, images: list[Tensor], patch: int, rng: random.Random) -> None:
        self.images = [im for im in images if min(im.shape[1:]) >= patch]
        if not self.images:
            raise ValueError(f"no training image is at least {patch}x{patch}")
        self.patch = patch
        self.rng = rng

    def batch(self, size: int) -> Tensor:
        out = []
        for _ in range(size):
            im = self.images[self.rng.randrange(len(self.images))]
            top = self.rng.randrange(im.shape[1] - self.patch + 1)
            left = self.rng.randrange(im.shape[2] - self.patch + 1)
            p = im[:, top : top + self.patch, left : left + self.patch]
            if self.rng.random() < 0.5:
                p = p.flip(2)
            p = torch.rot90(p, self.rng.randrange(4), dims=(1, 2))
            out.append(p)
        return torch.stack(out)  # uint8: a quarter of the bytes to move; the caller converts


@torch.no_grad()
def validate(net: InvertibleRescaler, images: list[Tensor], scale: int, device: torch.device) -> dict[str, float]:
    """PSNR (8-bit RGB) of lossless-LR rescaling at temperature 0, on centre crops of held-out images."""
    net.eval()
    psnrs, bicubic = [], []
    for im in images:
        size = (min(im.shape[1], 256) // scale) * scale, (min(im.shape[2], 256) // scale) * scale
        top, left = (im.shape[1] - size[0]) // 2, (im.shape[2] - size[1]) // 2
        x = im[None, :, top : top + size[0], left : left + size[1]].float().to(device) / 255
        lr = torch.round(net(x)[:, :LR_CHANNELS].clamp(0, 1) * 255) / 255
        z = net.draw_latent(1, lr.shape[2], lr.shape[3], 0.0, None).to(device)
        x_hat = net.inverse(torch.cat([lr, z], dim=1)).clamp(0, 1)
        psnrs.append(_psnr8(x_hat, x))
        up = F.interpolate(torch.round(bicubic_down(x, scale).clamp(0, 1) * 255) / 255, scale_factor=scale,
                           mode="bicubic", align_corners=False).clamp(0, 1)
        bicubic.append(_psnr8(up, x))
    net.train()
    return {"val_psnr": float(np.mean(psnrs)), "val_bicubic_psnr": float(np.mean(bicubic))}


def _psnr8(a: Tensor, b: Tensor) -> float:
    mse = (torch.round(a * 255) - torch.round(b * 255)).pow(2).mean().item()
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def train(cfg: TrainConfig, progress: bool = True) -> dict[str, float]:
    """Run (or resume) training until ``cfg.iterations`` or ``cfg.minutes``; returns the last logged metrics."""
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    rank, world, device = _start_distributed(cfg)
    try:
        return _train(cfg, progress, rank, world, device)
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()


def _train(cfg: TrainConfig, show_progress: bool, rank: int, world: int, device: torch.device) -> dict[str, float]:
    main = rank == 0  # only rank 0 logs, validates and writes files
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    files = list_images(Path(cfg.data), recursive=True)
    train_files, val_files = split_train_val(files)
    rng = random.Random(cfg.seed * 1009 + rank)  # each rank draws its own patches
    torch.manual_seed(cfg.seed)
    sampler = PatchSampler([load_rgb(f) for f in train_files], cfg.patch, rng)
    val_images = [load_rgb(f) for f in val_files]

    net = InvertibleRescaler(NetworkConfig(scale=cfg.scale, blocks_per_stage=cfg.blocks, hidden=cfg.hidden,
                                           subnet=cfg.subnet)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    step = 0
    elapsed_before = 0.0  # training seconds spent by earlier runs of this folder
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step = int(state["step"])
        elapsed_before = float(state.get("elapsed", torch.tensor(0.0)))
        rng.seed((cfg.seed + step) * 1009 + rank)
        torch.manual_seed(cfg.seed + step + rank)
    step_module: torch.nn.Module = TrainingStep(net, cfg)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        step_module = DistributedDataParallel(step_module, device_ids=[device.index] if device.type == "cuda" else None)
    if main:
        (out / "config.json").write_text(json.dumps({**asdict(cfg), "world_size": world}, indent=2))

    started = time.perf_counter()

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - started

    def progress() -> float:
        """Fraction of the run done: by iterations, or by the wall-clock budget if that is further."""
        done = step / cfg.iterations
        if cfg.minutes > 0:
            done = max(done, elapsed() / (60 * cfg.minutes))
        if world > 1:  # every rank must stop at the same step
            import torch.distributed as dist

            shared = torch.tensor([done], device=device)
            dist.broadcast(shared, 0)
            done = float(shared)
        return min(done, 1.0)

    def save() -> None:
        save_run(out, net, opt, step, elapsed(), cfg.name, cfg.revision)

    from tqdm import tqdm

    # Under a wall-clock budget the step count is unknown: no total, so no misleading ETA.
    bar = tqdm(total=None if cfg.minutes > 0 else cfg.iterations, initial=step,
               disable=not (show_progress and main), desc=f"train x{cfg.scale}")
    metrics: dict[str, float] = {}
    sums: dict[str, Tensor] = {}  # summed on the device: no host sync per iteration
    since_log = 0
    tick = time.perf_counter()
    use_bf16 = cfg.precision == "bf16"
    net.train()
    done = progress()
    while done < 1.0:
        warmup = min(1.0, (done + 1 / cfg.iterations) / WARMUP)
        lr_now = cfg.lr * warmup * 0.5 * (1 + math.cos(math.pi * done))
        for group in opt.param_groups:
            group["lr"] = lr_now
        x = sampler.batch(cfg.batch).to(device).float() / 255
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            parts = step_module(x)
        opt.zero_grad(set_to_none=True)
        parts["loss"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        step += 1
        since_log += 1
        bar.update(1)
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + v.detach().float()
        done = progress()
        last = done >= 1.0
        if main and (step % cfg.log_every == 0 or last):
            seconds = time.perf_counter() - tick
            metrics = {"step": step, "lr": lr_now, "it_per_s": since_log / seconds, "elapsed_s": round(elapsed(), 1),
                       "world_size": world, **{k: float(v) / since_log for k, v in sums.items()}}
            if not all(math.isfinite(metrics[k]) for k in sums):
                raise FloatingPointError(f"training diverged at step {step}: {metrics}")
            if val_images and (step % cfg.validate_every == 0 or last):
                metrics.update(validate(net, val_images, cfg.scale, device))
            with open(out / "metrics.jsonl", "a") as log:
                log.write(json.dumps(metrics) + "\n")
            bar.set_postfix(loss=f"{metrics['loss']:.4f}", rec=f"{metrics['rec']:.4f}")
            sums, since_log = {}, 0
            tick = time.perf_counter()
        if main and (step % cfg.checkpoint_every == 0 or last):
            save()
    bar.close()
    if main:
        if not ckpt_path.exists():
            save()
        plot_metrics(out)
    return metrics


def save_run(out: Path, net: torch.nn.Module, opt: torch.optim.Optimizer, step: int, elapsed: float,
             name: str, revision: int) -> None:
    """Write a run folder's resumable ``checkpoint.pt`` and its shippable ``weights.safetensors``,
    each through a temporary file and a rename, so an interrupted save leaves the previous one."""
    tmp = out / "checkpoint.pt.tmp"
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "step": torch.tensor(step),
                "elapsed": torch.tensor(elapsed, dtype=torch.float64)}, tmp)
    tmp.replace(out / "checkpoint.pt")
    weights = out / "weights.safetensors.tmp"
    weights.write_bytes(serialize(net, name, revision))
    weights.replace(out / "weights.safetensors")


def plot_metrics(out: Path) -> None:
    """Write ``loss.png`` from ``metrics.jsonl`` (skipped quietly when there is nothing to plot)."""
    log = out / "metrics.jsonl"
    if not log.exists():
        return
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if not rows:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    steps = [r["step"] for r in rows]
    for key in ("loss", "rec", "guide", "z"):
        axes[0].plot(steps, [r[key] for r in rows], label=key)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("iteration")
    axes[0].legend()
    val = [(r["step"], r["val_psnr"], r["val_bicubic_psnr"]) for r in rows if "val_psnr" in r]
    if val:
        axes[1].plot([v[0] for v in val], [v[1] for v in val], label="irr (T=0, lossless LR)")
        axes[1].plot([v[0] for v in val], [v[2] for v in val], "--", label="bicubic")
        axes[1].set_xlabel("iteration")
        axes[1].set_ylabel("held-out PSNR-RGB (dB)")
        axes[1].legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=100)
    plt.close(fig)
