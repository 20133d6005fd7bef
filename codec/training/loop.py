"""One run loop for every network irr trains: resumable, logged, plotted, CPU or CUDA.

A run folder holds ``checkpoint.pt`` (tensors only, loaded with ``weights_only=True``: the
network, the optimizer's state, the step, the training seconds so far and the optimizer's phase),
``metrics.jsonl`` (one line per log step, appended across resumes), ``loss.png`` (the task's plot)
and ``weights.safetensors`` (the last step, shippable). Rerunning the same command resumes.

What is trained is a :class:`Task`: its network, its loss on one batch, its learning rate and
validation. The loop owns everything else: the schedule's clock (iterations or a wall-clock
budget, whichever is further along), gradient clipping, the divergence check, logging,
checkpoints and, under ``torchrun``, the ranks. Imports neither compressai nor construct.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

import torch
from torch import Tensor, nn


@dataclass
class Schedule:
    iterations: int
    minutes: float = 0.0  # wall-clock budget (0: none); the run ends at whichever of the two comes first
    log_every: int = 50
    checkpoint_every: int = 250
    validate_every: int = 500
    threads: int = 0  # CPU threads (0: PyTorch's default)
    device: str = "cpu"
    seed: int = 0


class Task(Protocol):
    """What one kind of training supplies to :func:`run`."""

    net: nn.Module  # what is checkpointed and exported
    name: str
    revision: int
    description: str  # the progress bar's label
    clip: float  # gradient norm clip

    def setup(self, device: torch.device, rank: int, world: int) -> None:
        """Load data and build the network on ``device`` (called once, before any resume)."""

    def phase(self, step: int) -> int:
        """Which optimizer a step uses: a new phase starts a fresh optimizer (fresh moments)."""

    def optimizer(self, phase: int) -> torch.optim.Optimizer: ...

    def reseed(self, seed: int) -> None:
        """Seed the task's data draws (at the start and on every resume)."""

    def learning_rate(self, step: int, done: float) -> float:
        """``done``: the overall fraction of the run (not clipped to 1)."""

    def loss(self, step: int) -> tuple[Tensor, dict[str, Tensor]]:
        """One batch: the value to minimise, and what to log (detached or not)."""

    def validate(self, step: int, out: Path) -> dict[str, float]:
        """Held-out metrics (may write the run's best weights into ``out``)."""

    def plot(self, out: Path) -> None: ...


def run(task: Task, out: Path, schedule: Schedule, config: dict, progress: bool = True) -> dict[str, float]:
    """Run (or resume) ``task`` until the schedule ends; returns the last logged metrics."""
    if schedule.threads > 0:
        torch.set_num_threads(schedule.threads)
    rank, world, device = _start_distributed(schedule.device)
    try:
        with _stop_requests() as stop:
            return _run(task, out, schedule, config, progress, rank, world, device, stop)
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()


@contextmanager
def _stop_requests() -> Iterator[list[int]]:
    """SIGINT and SIGTERM ask the loop to stop after its step (with a checkpoint) instead of
    killing it mid-save; a second one stops at once. Yields the signals received so far."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def ask(signum: int, frame: object) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    previous = {sig: signal.signal(sig, ask) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(task: Task, out: Path, schedule: Schedule, config: dict, show_progress: bool, rank: int, world: int,
         device: torch.device, stop: list[int]) -> dict[str, float]:
    main = rank == 0  # only rank 0 logs, validates and writes files
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(schedule.seed)  # the initial weights
    task.setup(device, rank, world)
    step, elapsed_before = 0, 0.0
    phase = task.phase(0)
    opt = task.optimizer(phase)
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        task.net.load_state_dict(state["model"])
        step = int(state["step"])
        elapsed_before = float(state.get("elapsed", torch.tensor(0.0)))
        # Checkpoints before the phase was recorded: the step's phase, or the earlier one at a boundary.
        phase = int(state["phase"]) if "phase" in state else task.phase(max(step - 1, 0))
        opt = task.optimizer(phase)
        if "optimizer" in state:
            opt.load_state_dict(state["optimizer"])
        if main:
            _trim_log(out, step)
    task.reseed((schedule.seed + step) * 1009 + rank)  # each rank draws its own batches
    if step:  # a resumed run draws anew (a fresh one continues the stream its weights were drawn from)
        torch.manual_seed(schedule.seed + step + rank)
    if main:
        (out / "config.json").write_text(json.dumps({**config, "world_size": world}, indent=2))

    started = time.perf_counter()

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - started

    def fraction_done() -> float:
        done = step / schedule.iterations
        if schedule.minutes > 0:
            done = max(done, elapsed() / (60 * schedule.minutes))
        if world > 1:  # every rank must stop at the same step
            import torch.distributed as dist

            shared = torch.tensor([done], device=device)
            dist.broadcast(shared, 0)
            done = float(shared)
        return done

    def save() -> None:
        save_checkpoint(out, task, opt, phase, step, elapsed())

    from tqdm import tqdm

    # Under a wall-clock budget the step count is unknown: no total, so no misleading ETA.
    bar = tqdm(total=None if schedule.minutes > 0 else schedule.iterations, initial=step,
               disable=not (show_progress and main), desc=task.description)
    metrics: dict[str, float] = {}
    sums: dict[str, Tensor] = {}  # summed on the device: no host sync per iteration
    since_log, tick = 0, time.perf_counter()
    task.net.train()
    done = fraction_done()
    while done < 1.0:
        if task.phase(step) != phase:
            phase = task.phase(step)
            opt = task.optimizer(phase)
        lr_now = task.learning_rate(step, done)
        for group in opt.param_groups:
            group["lr"] = lr_now
        loss, logged = task.loss(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(task.net.parameters(), task.clip)
        opt.step()
        step += 1
        since_log += 1
        bar.update(1)
        for key, value in logged.items():
            sums[key] = sums.get(key, 0.0) + value.detach().float()
        done = fraction_done()
        if stop and world == 1:  # (under torchrun every rank must stop at one step: torchrun's own signals)
            done = 1.0
        last = done >= 1.0
        if main and (step % schedule.log_every == 0 or last):
            metrics = {"step": step, "lr": lr_now, "it_per_s": since_log / (time.perf_counter() - tick),
                       "elapsed_s": round(elapsed(), 1), "world_size": world,
                       **{key: float(value) / since_log for key, value in sums.items()}}
            if not all(math.isfinite(metrics[key]) for key in sums):
                raise FloatingPointError(f"training diverged at step {step}: {metrics}")
            if step % schedule.validate_every == 0 or (last and not stop):  # a stop is not kept waiting
                metrics.update(task.validate(step, out))
            with open(out / "metrics.jsonl", "a") as log:
                log.write(json.dumps(metrics) + "\n")
            if "loss" in metrics:
                bar.set_postfix(loss=f"{metrics['loss']:.4f}")
            sums, since_log, tick = {}, 0, time.perf_counter()
        if main and (step % schedule.checkpoint_every == 0 or last):
            save()
    bar.close()
    if stop and main:
        print(f"stopped at step {step} with a checkpoint; --resume {out} continues", file=sys.stderr)
    if main:
        if not ckpt_path.exists():
            save()
        task.plot(out)
    return metrics


def save_checkpoint(out: Path, task: Task, opt: torch.optim.Optimizer, phase: int, step: int, elapsed: float) -> None:
    """Write ``checkpoint.pt`` and ``weights.safetensors``, each through a temporary file and a
    rename, so an interrupted save leaves the previous one."""
    from codec.models import serialize

    tmp = out / "checkpoint.pt.tmp"
    torch.save({"model": task.net.state_dict(), "optimizer": opt.state_dict(), "step": torch.tensor(step),
                "phase": torch.tensor(phase), "elapsed": torch.tensor(elapsed, dtype=torch.float64)}, tmp)
    tmp.replace(out / "checkpoint.pt")
    weights = out / "weights.safetensors.tmp"
    weights.write_bytes(serialize(task.net, task.name, task.revision))
    weights.replace(out / "weights.safetensors")


def keep_best(out: Path, task: Task, step: int, key: str, value: float, higher_is_better: bool) -> bool:
    """Write ``best.safetensors`` and ``best.json`` when ``value`` (a held-out metric named ``key``)
    beats the run's best so far; True when it did. The last step of a run is rarely its best."""
    from codec.models import serialize

    path = out / "best.json"
    best = json.loads(path.read_text())[key] if path.exists() else None
    if best is not None and (value <= best if higher_is_better else value >= best):
        return False
    (out / "best.safetensors").write_bytes(serialize(task.net, task.name, task.revision))
    path.write_text(json.dumps({"step": step, key: value}))
    return True


def _trim_log(out: Path, step: int) -> None:
    """Drop the log rows after ``step``: a run stopped between checkpoints logged steps that its
    resume repeats, and one log must hold each step once (through a rename, as checkpoints are)."""
    rows = read_metrics(out)
    kept = [row for row in rows if row["step"] <= step]
    if len(kept) < len(rows):
        tmp = out / "metrics.jsonl.tmp"
        tmp.write_text("".join(json.dumps(row) + "\n" for row in kept))
        tmp.replace(out / "metrics.jsonl")


def read_metrics(out: Path) -> list[dict]:
    """The rows of a run's ``metrics.jsonl`` (none if it has no log yet)."""
    log = out / "metrics.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def cosine(peak: float, done: float, warmup: float, first: float) -> float:
    """A linear warm-up over the first ``warmup`` of the run (``first``: one step's fraction, so the
    first step already moves), then a cosine decay to 0 at ``done`` = 1."""
    done = min(max(done, 0.0), 1.0)
    return peak * min(1.0, (done + first) / warmup) * 0.5 * (1 + math.cos(math.pi * done))


def _start_distributed(device_name: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device). Under torchrun: NCCL on GPUs, gloo on CPUs; else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device(device_name)
    if world > 1:
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device
