"""``irr train``: its parser (defaults from ``codec.training.config``, no torch) and its run."""

from __future__ import annotations

import argparse
import json

from codec.cli import UsageError, offline_parser
from codec.training.config import LevelTrainConfig, RescalerTrainConfig


def build_parser() -> argparse.ArgumentParser:
    p, sub = offline_parser()
    t = sub.add_parser("train", help="train irr's learned level (or a rescaler)",
                       description="Train (or resume: rerun the same command) a network; see README 'Training'.")
    L, R = LevelTrainConfig, RescalerTrainConfig

    def both(name: str) -> str:
        return f"default: level {getattr(L, name)}, rescaler {getattr(R, name)}"

    t.add_argument("--data", required=True, help="folder of training images")
    t.add_argument("--out", required=True, help="run folder: checkpoint, metrics.jsonl, loss.png, weights.safetensors")
    t.add_argument("--kind", choices=("level", "rescaler"), default="level",
                   help="level: the codec's learned transform level, trained for rate and distortion (default); "
                        "rescaler: the x2/x4 invertible rescaler of --scale 2|4")
    t.add_argument("--tables", help="level: entropy tables whose contexts the rate proxy follows (default: the shipped "
                                    "model the level's files are coded with)")
    t.add_argument("--init", help="level: weights file to start from, e.g. codec/weights/irr-level-r1.safetensors "
                                  "(skips the warm start)")
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
    t.add_argument("--log-every", type=int, help=f"default {L.log_every}")
    t.add_argument("--validate-every", type=int, help=both("validate_every"))
    return p


def run(args: argparse.Namespace) -> None:
    config, other = (LevelTrainConfig, RescalerTrainConfig) if args.kind == "level" else (RescalerTrainConfig, LevelTrainConfig)
    fields = set(config.__dataclass_fields__)
    given = {k: v for k, v in vars(args).items() if v is not None}
    foreign = sorted(set(given) & set(other.__dataclass_fields__) - fields)
    if foreign:
        raise UsageError(f"--{foreign[0].replace('_', '-')} does not apply to --kind {args.kind}")
    cfg = config(**{k: v for k, v in given.items() if k in fields})  # the rest: the config's defaults
    if args.kind == "level":
        from codec.training.level import train
    else:
        from codec.training.rescaler import train
    print(json.dumps(train(cfg)))
