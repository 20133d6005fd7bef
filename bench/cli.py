"""The ``irr`` program's front door: codec's commands, plus ``irr bench``.

It sits above both packages, so the dependency runs one way: bench uses codec's public API and
codec never imports bench.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from bitstream.errors import IrrError
from codec import cli as codec_cli
from codec.cli import UsageError


def add_bench_parser(subparsers: argparse._SubParsersAction) -> None:
    b = subparsers.add_parser("bench", help="rate-distortion benchmark", description="Sweep codecs over a folder of images; write CompressAI-format JSON, CSV, plots and BD-rates.")
    b.add_argument("--images", help="folder of test images")
    b.add_argument("--held-out", action="store_true",
                   help="only the photos the training split holds out of --images (e.g. ../shared/data/train): "
                        "tuning on photos no model trained on, never on eval")
    b.add_argument("--merge", nargs="+", metavar="RUN", help="instead of coding: combine the results of earlier runs into one summary and plot")
    b.add_argument("--codecs", default="irr,jpeg,jpeg444,jpeg2000,hevc444,webp,avif,avif444,jxl",
                   help="comma-separated: irr (the default path), irr0 (its untrained level), irrlr1 (its previous level), irrl2, irra1, irra2 (its previous entropy models), irr1 (no network), irr2, irr4 (rescalers), jpeg, "
                        "jpeg444, jpeg2000, hevc444, webp, avif, avif444, jxl, bpg444 (when bpgenc/bpgdec are on PATH)")
    b.add_argument("--out", default="bench-out", help="output folder (default bench-out)")
    b.add_argument("--reference", default="hevc444", help="codec key the BD-rates are computed against (default hevc444)")
    b.add_argument("--published", action="append", default=[], metavar="JSON[:LABEL]",
                   help="a CompressAI results JSON drawn beside ours, labelled as another image set")
    b.add_argument("--json", action="store_true", help="print the summary as JSON")
    b.add_argument("--anchors", metavar="DIR", help="a folder of anchor results (e.g. ../shared/data/anchors_eval) to check ours against")
    b.add_argument("--keep-icc", action="store_true",
                   help="hand classical codecs the source ICC profile, as ANCHORS.md did (AVIF and HEIF then embed it)")
    b.add_argument("--rescaling", action="store_true",
                   help="instead of the RD sweep: lossless-LR rescaling at x2 and x4 vs bicubic, per temperature, and the tiling cost")
    b.add_argument("--visual", action="store_true",
                   help="instead of the RD sweep: an HTML page comparing the codecs at equal file sizes (see --targets)")
    b.add_argument("--targets", default="15,40,75",
                   help="--visual: irr qualities whose file sizes are the targets; every codec gets the largest file "
                        "not above each (default 15,40,75)")
    b.add_argument("--speed", action="store_true",
                   help="instead of a sweep: encode and decode one large mosaic of the --images photos with each codec, "
                        "timed (writes speed.json)")
    b.add_argument("--megapixels", type=float, default=24.0, help="--speed: the mosaic's size (default 24)")
    b.add_argument("--only", metavar="NAMES", help="--visual: comma-separated image file names (default: every image)")
    b.add_argument("--rd", metavar="RUN", help="--visual: a bench run folder whose rd.svg goes on the page")


def _bench(args: argparse.Namespace) -> None:
    from bench.codecs import available
    from bench.rd import run, write_outputs

    codecs, missing = available()
    keys = [k.strip() for k in args.codecs.split(",") if k.strip()]
    unknown = [k for k in keys if k not in codecs and k not in missing]
    if unknown:
        raise UsageError(f"unknown codec(s) {', '.join(unknown)}; known: {', '.join([*codecs, *missing])}")
    for key in keys:
        if key in missing:
            print(f"irr bench: {key} is unavailable here and is skipped: {missing[key]}", file=sys.stderr)
    keys = [k for k in keys if k in codecs]
    if args.merge:
        from bench.rd import merge

        summary = merge([Path(m) for m in args.merge], Path(args.out), args.reference, _published(args))
        _print_summary(summary, args)
        return
    if not args.images:
        raise UsageError("--images is required (or --merge RUN...)")
    folder = Path(args.images)
    if not folder.is_dir():
        raise IrrError(f"not a folder: {folder}")
    if args.visual:
        from bench import visual

        targets = _numbers(args.targets, "--targets")
        only = [name.strip() for name in args.only.split(",")] if args.only else None
        page = visual.build([codecs[k] for k in keys], _images(folder, args.held_out), Path(args.out), targets, only,
                            Path(args.rd) if args.rd else None)
        print(f"wrote {page}")
        return
    if not keys:
        raise UsageError("no codec to run")
    if args.speed:
        from bench import speed

        report = speed.run([codecs[k] for k in keys], _images(folder, args.held_out), args.megapixels)
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "speed.json").write_text(json.dumps(report, indent=1))
        print(json.dumps(report, indent=1) if args.json else speed.markdown(report))
        return
    if args.rescaling:
        from bench import rescale

        report = rescale.run(_images(folder, args.held_out))
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "rescaling.json").write_text(json.dumps(report, indent=1))
        print(json.dumps(report, indent=1) if args.json else rescale.markdown(report))
        return
    published = _published(args)
    rows = run([codecs[k] for k in keys], _images(folder, args.held_out), keep_icc=args.keep_icc)
    summary = write_outputs(Path(args.out), [codecs[k] for k in keys], rows, args.reference, published)
    if args.anchors:
        from bench.rd import compare_with_anchors

        summary["anchors"] = compare_with_anchors(Path(args.out), Path(args.anchors))
        (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=1))
    _print_summary(summary, args)


def _images(folder: Path, held_out: bool) -> list[Path]:
    """The folder's images, or with ``held_out`` only the photos the training split holds out."""
    from codec.pixels import list_images

    images = list_images(folder)
    if held_out:
        from codec.training.data import split_train_val

        images = split_train_val(images)[1]
        if not images:
            raise IrrError(f"the training split holds out no photo of {folder} (it needs 12 photos or more)")
    return images


def _published(args: argparse.Namespace) -> list[dict]:
    from bench.rd import load_published

    published = []
    for spec in args.published:
        path, _, label = spec.partition(":")
        try:
            published.append(load_published(Path(path), label or "other image set"))
        except (OSError, ValueError) as e:
            raise IrrError(f"cannot use --published {path}: {e}") from None
    return published


def _print_summary(summary: dict, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    for key, entry in summary["codecs"].items():
        bd = entry.get(f"bd_rate_vs_{args.reference}")
        if bd is None:
            extra = ""
        elif math.isnan(bd):
            extra = f"  BD-rate vs {args.reference}: no common PSNR range"
        else:
            extra = f"  BD-rate vs {args.reference}: {bd:+.1f}% (overlap {entry['overlap']:.2f})"
        print(f"{entry['name']:<40}{extra}")
    for key, diff in summary.get("anchors", {}).items():
        print(f"vs anchors {key}: {diff}")
    print(f"wrote {args.out}/ (per-codec JSON, rd.png, rd.svg, summary.json)")


def _numbers(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{option} takes comma-separated integers, got {text!r}") from None
    if not values or not all(1 <= v <= 99 for v in values):
        raise UsageError(f"{option} takes irr qualities in 1..99, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    return codec_cli.main(argv, extensions={"bench": (add_bench_parser, _bench)})


if __name__ == "__main__":
    raise SystemExit(main())
