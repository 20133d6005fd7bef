"""``irr train``: its parser (defaults from ``codec.training.config``, no torch) and its run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from codec.cli import UsageError, offline_parser
from codec.training.config import LevelTrainConfig, RescalerTrainConfig


# What a resumed run may change: the machine and how long the schedule runs, never what it trains.
# What a resume may change: the machine and how it runs, the schedule's length, the logging; never the model
# or the data.
RESUMABLE = ("threads", "device", "precision", "compile", "minutes", "iterations", "log_every", "validate_every")


def build_parser() -> argparse.ArgumentParser:
    p, sub = offline_parser()
    t = sub.add_parser("train", help="train irr's learned level (or a rescaler)",
                       description="Train a network, or continue one (--resume RUN); see README 'Training'. "
                                   "Ctrl-C or SIGTERM stops a run at its next step with a checkpoint.")
    L, R = LevelTrainConfig, RescalerTrainConfig

    def both(name: str) -> str:
        return f"default: level {getattr(L, name)}, rescaler {getattr(R, name)}"

    t.add_argument("--data", help="folder of training images")
    t.add_argument("--out", help="run folder: checkpoint, metrics.jsonl, loss.png, weights.safetensors")
    t.add_argument("--resume", metavar="RUN",
                   help="continue the run in folder RUN with its own settings (config.json); only "
                        f"{', '.join('--' + k.replace('_', '-') for k in RESUMABLE)} may change")
    t.add_argument("--kind", choices=("level", "rescaler"),
                   help="level: the codec's learned transform level, trained for rate and distortion (default); "
                        "rescaler: the x2/x4 invertible rescaler of --scale 2|4")
    t.add_argument("--tables", help="level: entropy tables whose contexts the rate proxy follows (default: the shipped "
                                    "model the level's files are coded with)")
    t.add_argument("--init", help="weights file to start from, e.g. codec/weights/irr-level-r1.safetensors (a level "
                                  "then skips its warm start) or codec/weights/irr-x2-r2.safetensors")
    t.add_argument("--scale", type=int, choices=(2, 4), help=f"rescaler: its scale (default {R.scale})")
    t.add_argument("--iterations", type=int, help=f"total iterations, a resume continues to this ({both('iterations')}; "
                                                  f"level: after a {L.pretrain}-step warm start)")
    t.add_argument("--batch", type=int, help=both("batch"))
    t.add_argument("--patch", type=int, help=both("patch"))
    t.add_argument("--lr", type=float, help=f"peak learning rate, cosine decay ({both('lr')})")
    t.add_argument("--threads", type=int, help="CPU threads (default 0: PyTorch's default)")
    t.add_argument("--device", help="cpu (default) or cuda")
    t.add_argument("--seed", type=int, help="default 0")
    t.add_argument("--revision", type=int, help="revision written into the exported weights (default 1)")
    t.add_argument("--blocks", type=int, help=f"coupling blocks (per x2 stage); {both('blocks')}")
    t.add_argument("--hidden", type=int, help=f"channels inside each (prediction) subnet (default {L.hidden})")
    t.add_argument("--subnet", choices=("plain", "dense"), help="rescaler: plain (3 convs, default) or dense (IRN's DenseBlock)")
    t.add_argument("--minutes", type=float,
                   help="wall-clock budget; the schedule ends at whichever of it and --iterations comes first (default 0: none)")
    t.add_argument("--precision", choices=("fp32", "bf16"), help="rescaler, bf16: autocast the subnets (CUDA; default fp32)")
    t.add_argument("--compile", action="store_const", const=True,
                   help="rescaler: torch.compile the training step (pays on CUDA; see README 'Training on a GPU')")
    t.add_argument("--lr-jpeg", type=int, metavar="Q",
                   help="rescaler: train for recompressed LRs: half the batch's LRs through JPEG at a quality in Q..95 "
                        "(straight-through); validation adds JPEG 75 (default 0: lossless LRs only)")
    t.add_argument("--log-every", type=int, help=f"default {L.log_every}")
    t.add_argument("--validate-every", type=int, help=both("validate_every"))
    return p


def run(args: argparse.Namespace) -> None:
    given = {k: v for k, v in vars(args).items() if v is not None and k not in ("command", "resume", "verbose")}
    if args.resume:
        given = _resumed(Path(args.resume), given)
        args.kind = given.pop("kind")
    else:
        args.kind = given.pop("kind", "level")
        for name in ("data", "out"):
            if name not in given:
                raise UsageError(f"--{name} is required (or --resume RUN)")
        if (Path(args.out) / "checkpoint.pt").exists():
            raise UsageError(f"{args.out} holds a run already: --resume {args.out} continues it, or choose another --out")
    config, other = (LevelTrainConfig, RescalerTrainConfig) if args.kind == "level" else (RescalerTrainConfig, LevelTrainConfig)
    fields = set(config.__dataclass_fields__)
    foreign = sorted(set(given) & set(other.__dataclass_fields__) - fields)
    if foreign:
        raise UsageError(f"--{foreign[0].replace('_', '-')} does not apply to --kind {args.kind}")
    cfg = config(**{k: v for k, v in given.items() if k in fields})  # the rest: the config's defaults
    if args.kind == "level":
        from codec.training.level import train
    else:
        from codec.training.rescaler import train
    print(json.dumps(train(cfg)))


def _resumed(folder: Path, given: dict) -> dict:
    """The settings of the run in ``folder`` with the changes a resume may make, and its kind."""
    if not (folder / "checkpoint.pt").exists():
        raise UsageError(f"{folder} holds no run to resume (no checkpoint.pt)")
    try:
        saved = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read {folder / 'config.json'}: {e}") from None
    changed = sorted(set(given) - set(RESUMABLE) - {"kind"})
    if changed:
        raise UsageError(f"--{changed[0].replace('_', '-')} cannot change when resuming: it is the run's own "
                         f"(only {', '.join('--' + k.replace('_', '-') for k in RESUMABLE)} can)")
    kind = "rescaler" if "scale" in saved else "level"
    if given.get("kind", kind) != kind:
        raise UsageError(f"{folder} is a {kind} run, not --kind {given['kind']}")
    fields = set((LevelTrainConfig if kind == "level" else RescalerTrainConfig).__dataclass_fields__)
    settings = {k: v for k, v in saved.items() if k in fields}
    return {**settings, "out": str(folder), **{k: v for k, v in given.items() if k != "kind"}, "kind": kind}
