"""The ``irr tools`` command group: each tool's arguments here (cheap to build), its work in its
module, imported only when it runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from codec.cli import offline_parser

    p, sub = offline_parser()
    group = sub.add_parser("tools", help="offline tools: fit entropy tables, compare entropy models, calibrate -q",
                           description="Offline tools, run when a model changes (see README 'Training').")
    tools = group.add_subparsers(dest="tool", required=True, metavar="TOOL")

    f = tools.add_parser("fit-tables", help="fit an entropy model's context map",
                         description="Fit the entropy tables on training images with the shipped networks.")
    f.add_argument("--data", required=True, help="folder of training images (only its training split is used)")
    f.add_argument("-o", "--output", required=True, help="output tables file (.npz)")
    f.add_argument("-f", "--force", action="store_true", help="overwrite an existing output file")
    f.add_argument("--max-images", type=int, default=0, help="use only the first N images (0: all)")
    f.add_argument("--wavelet", choices=("9/7", "5/3"), default="9/7", help="the lossy wavelet the tables are for (default 9/7)")
    f.add_argument("--context-scheme", type=int, choices=(1, 2, 3, 4, 5),
                   help="entropy.contexts.SCHEMES key (default 2; with --written-by: that model's, or 5 for a "
                        "scheme-4 model, its finest level's planes then read apart)")
    f.add_argument("--segment-symbols", type=int, default=1 << 20, help="symbols per rANS stream, 0 for one stream (default 2^20)")
    f.add_argument("--for-level", action="store_true",
                   help="fit on the shipped learned level's output (w97-laplace-2: --context-scheme 3; w97-adaptive-1: 4)")
    f.add_argument("--written-by", metavar="MODEL",
                   help="refit a shipped level model's map on the symbols its encoder writes (RDO, shifts), "
                        "keeping its family and predictor (w97-adaptive-2: --written-by w97-adaptive-1; "
                        "w97-adaptive-3: --written-by w97-adaptive-2 --context-scheme 5)")

    c = tools.add_parser("compare-entropy", help="bytes of the entropy models on the same symbols",
                         description="Bytes of irr's entropy models on equal symbols and as the encoder codes them.")
    c.add_argument("--data", required=True, help="folder of photos")
    c.add_argument("--held-out", action="store_true", help="only the held-out photos of a training folder")
    c.add_argument("-o", "--output", required=True, help="output JSON")
    c.add_argument("--adaptation", action="store_true", help="only the ablation of forward vs backward adaptation")

    q = tools.add_parser("calibrate-quality", help="measure the quality scale's constants",
                         description="The measurement behind codec.settings.LEVEL_STEP_AT_50 and DETAIL_FROM_QUALITY, "
                                     "on the held-out photos of a training folder.")
    q.add_argument("--data", type=Path, required=True, help="training folder; only its held-out split is used")
    q.add_argument("--out", type=Path, default=Path("bench/results/quality.json"), help="output JSON")

    v = tools.add_parser("validate-rescaler", help="a rescaler's training yardstick on any weights",
                         description="The rescaler's held-out validation (as irr bench --rescaling measures) "
                                     "for weights files, on a training folder's held-out photos or a whole folder.")
    v.add_argument("weights", nargs="+", help="rescaler .safetensors files (shipped or a run's)")
    v.add_argument("--data", type=Path, required=True, help="folder of photos")
    v.add_argument("--all", action="store_true", help="every photo of --data (e.g. eval/, for reporting), "
                                                      "not only a training folder's held-out split")
    return p


def run(args: argparse.Namespace) -> None:
    if args.tool == "fit-tables":
        from codec.files import write_output
        from codec.tools.fit_entropy import fit

        tables = fit(Path(args.data), args.max_images, args.wavelet, args.context_scheme, args.segment_symbols,
                     args.for_level, args.written_by)
        write_output(args.output, tables.to_bytes(), args.force)
        print(f"{args.output}: {len(tables.context_map)} contexts", file=sys.stderr)
    elif args.tool == "compare-entropy":
        from codec.tools.compare_entropy import compare

        print(json.dumps(compare(Path(args.data), args.held_out, args.adaptation, Path(args.output)), indent=1))
    elif args.tool == "validate-rescaler":
        import torch

        from codec.models import deserialize
        from codec.pixels import list_images
        from codec.training.data import load_rgb, split_train_val
        from codec.training.rescaler import validate

        files = list_images(args.data, recursive=True)
        images = [load_rgb(f) for f in (files if args.all else split_train_val(files)[1])]
        for path in args.weights:
            net = deserialize(Path(path).read_bytes())
            print(json.dumps({"weights": path, "scale": net.scale, "images": len(images),
                              **validate(net, images, net.scale, torch.device("cpu"))}))
    else:
        from codec.tools.calibrate_quality import calibrate

        for line in calibrate(args.data, args.out):
            print(json.dumps(line))
