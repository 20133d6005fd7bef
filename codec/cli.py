"""The ``irr`` command line: encode, decode, info, train, tools (``irr bench`` is added by
``bench.cli``, the ``irr`` program's front door, which sits above codec and bench).

Exit status: 0 success; 1 bad input, corrupt file or failed operation (one ``irr: error:`` line on
stderr, no traceback unless ``-v``); 2 usage error. Outputs are written atomically.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bitstream.errors import IrrError
from codec.batch import BatchFailed, UsageError, jobs_of, run_batch, say, shows_progress  # noqa: F401 (UsageError: the offline CLIs')
from codec.files import is_stream, read_input, write_output

def _ranged(kind: type, low: float, high: float):
    """An argparse type: ``kind(text)`` within [low, high], with a message naming the range."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if kind is int else 'a number'}: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in {low}..{high}, got {value}")
        return value

    return parse


_quality = _ranged(int, 1, 100)
_jobs_count = _ranged(int, 1, 256)


def _scale(text: str) -> int | None:
    if text == "auto":
        return None
    if text in ("1", "2", "4"):
        return int(text)
    raise argparse.ArgumentTypeError(f"must be auto, 1, 2 or 4, got {text!r}")
_temperature = _ranged(float, 0, 65)
_seed = _ranged(int, 0, 2**32 - 1)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("irr")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def offline_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The ``irr`` parser an offline group adds its one command to (same program, same ``-v``)."""
    p = argparse.ArgumentParser(prog="irr", description="irr: a learned image codec built on an invertible neural network.")
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors (anywhere on the line)")
    p.add_argument("--version", action="version", version=f"irr {_version()}")
    return p, p.add_subparsers(dest="command", required=True, metavar="COMMAND")


def build_parser(extensions: Extensions | None = None) -> argparse.ArgumentParser:
    from codec.defaults import DEFAULT_QUALITY, DEFAULT_SCALE
    from codec.outputs import DEFAULT_JPEG_QUALITY, OUTPUT_FORMATS

    p, sub = offline_parser()

    e = sub.add_parser("encode", help="encode an image to .irr", description="Encode any image Pillow reads to .irr.")
    e.add_argument("input", nargs="+", help="input image(s) or folder(s) ('-' for stdin)")
    e.add_argument("-o", "--output", required=True, help="output .irr ('-' for stdout), or a folder for several inputs")
    e.add_argument("-f", "--force", action="store_true", help="overwrite existing output files (refused by default)")
    e.add_argument("-r", "--recursive", action="store_true", help="input folders' subfolders too, mirrored under -o")
    e.add_argument("-j", "--jobs", type=_jobs_count, default=1, help="parallel worker processes for several inputs (default 1)")
    _add_common(e)
    e.add_argument("-q", "--quality", type=_quality, default=None,
                   help=f"1..100, higher is better, JPEG's scale (see README 'Quality'); 100 is lossless (default {DEFAULT_QUALITY})")
    e.add_argument("--size", type=_ranged(int, 1, 2**40), default=None, metavar="BYTES",
                   help="instead of -q: the largest file of at most BYTES (bisection over -q, about 7 encodes)")
    e.add_argument("--psnr", type=_ranged(float, 1, 99), default=None, metavar="DB",
                   help="instead of -q: the smallest file whose decode reaches DB (each try is decoded)")
    e.add_argument("--scale", type=_scale, default=DEFAULT_SCALE, metavar="{auto,1,2,4}",
                   help="auto (default): irr's learned level (the INN) codes the image; 1: the wavelet coder alone, "
                        "no network; 2 or 4: store only the LR of the invertible rescaler (pure rescaling)")
    e.add_argument("--lossless", action="store_true",
                   help="lossless (same as -q 100): the image itself, or with --scale 2|4 the rescaler's LR")
    e.add_argument("--temperature", type=_temperature, default=None,
                   help="default latent temperature written to the file, 0..65 (default 0: the mean of z)")
    e.add_argument("--seed", type=_seed, default=0, help="seed of the latent draw written to the file (default 0)")
    e.add_argument("--metadata", default=None, metavar="KINDS",
                   help="metadata to carry: all (default), none, or a comma list of icc, exif, xmp, text, dpi")
    e.add_argument("--strip-metadata", action="store_true", help="carry no metadata (same as --metadata none)")
    e.add_argument("--detail", choices=("auto", "yes", "no"), default="auto",
                   help="learned level: store its detail (yes), or only the LR with the detail modelled as Gaussian "
                        "(no, the IRN mode); auto (default) decides by quality")

    d = sub.add_parser("decode", help="decode .irr to an image", description="Decode .irr to PNG, TIFF, BMP, WebP, JPEG or PPM (by extension).")
    d.add_argument("input", nargs="+", help="input .irr file(s) or folder(s) ('-' for stdin)")
    d.add_argument("-o", "--output", required=True,
                   help="output image, format from the extension ('-' writes PNG to stdout), or a folder for several inputs")
    d.add_argument("-f", "--force", action="store_true", help="overwrite existing output files (refused by default)")
    d.add_argument("-r", "--recursive", action="store_true", help="input folders' subfolders too, mirrored under -o")
    d.add_argument("--format", choices=sorted(OUTPUT_FORMATS), default=".png", help="output extension when -o is a folder (default .png)")
    d.add_argument("--jpeg-quality", type=_quality, default=None,
                   help=f"quality of a .jpg output, 1..100 (default {DEFAULT_JPEG_QUALITY}); .webp is written lossless")
    d.add_argument("-j", "--jobs", type=_jobs_count, default=1, help="parallel worker processes for several inputs (default 1)")
    _add_common(d)
    d.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where the network runs (default auto)")
    d.add_argument("--temperature", type=_temperature, default=None, help="latent temperature, 0..65 (default: the file's)")
    d.add_argument("--seed", type=_seed, default=None, help="seed of the latent draw (default: the file's)")
    d.add_argument("--thumbnail", action="store_true", help="write the stored low-resolution image, no network")
    d.add_argument("--compare", metavar="ORIGINAL",
                   help="print PSNR-RGB against this original image, or for several inputs a folder of originals "
                        "(matched by name, any image extension; with -r by relative path)")

    i = sub.add_parser("info", help="show files' headers", description="Validate .irr files and show their headers.")
    i.add_argument("input", nargs="+", help="input .irr file(s) ('-' for stdin)")
    i.add_argument("--json", action="store_true", help="print JSON (a list of objects with 'file' for several inputs)")

    for name, what in (("downscale", "write the rescaler's LR as an ordinary PNG thumbnail"),
                       ("upscale", "restore a photo from an LR that irr downscale wrote")):
        r = sub.add_parser(name, help=what, description=what[0].upper() + what[1:] + " (README 'Rescaling').")
        r.add_argument("input", help="input image ('-' for stdin)")
        r.add_argument("-o", "--output", required=True, help="output .png ('-' for stdout)")
        r.add_argument("-f", "--force", action="store_true", help="overwrite an existing output file")
        _add_common(r)
        r.add_argument("--scale", type=int, choices=(2, 4), default=2 if name == "downscale" else None,
                       help="2 (default) or 4" if name == "downscale" else
                            "the LR's scale, needed only when it lost its irr metadata (e.g. recompressed as JPEG)")
    for name, what in OFFLINE.items():  # listed here; parsed by their own packages' parsers (see main)
        sub.add_parser(name, help=what[1], add_help=False)
    for add_parser, _ in (extensions or {}).values():
        add_parser(sub)
    return p


def _add_common(p: argparse.ArgumentParser) -> None:
    from bitstream.container import DEFAULT_MAX_PIXELS

    p.add_argument("--quiet", action="store_true", help="print errors only (no output lines, notes, warnings or bars)")
    p.add_argument("--max-pixels", type=_ranged(int, 1, 2**40), default=DEFAULT_MAX_PIXELS, metavar="N",
                   help=f"refuse images and files of more than N pixels (default {DEFAULT_MAX_PIXELS}, Pillow's limit)")


def _encode_one(src: str, dst: str, args: argparse.Namespace) -> str:
    import io

    from codec.api import encode, info
    from codec.defaults import DEFAULT_TEMPERATURE

    source = io.BytesIO(read_input(src)) if src == "-" else src
    data = encode(source, quality=args.quality, target_bytes=args.size, target_psnr=args.psnr, scale=args.scale,
                  lossless=args.lossless, temperature=DEFAULT_TEMPERATURE if args.temperature is None else args.temperature,
                  seed=args.seed, metadata="none" if args.strip_metadata else args.metadata or "all",
                  max_pixels=args.max_pixels, progress=args.progress,
                  detail={"auto": None, "yes": True, "no": False}[args.detail])
    write_output(dst, data, args.force, src)
    meta = info(data)
    how = {"level": "learned level, detail " + ("coded" if meta["detail_stream_bytes"] else "not stored"),
           "none": "stored directly"}.get(meta["kind"], f"x{meta['scale']} rescaler")
    return f"{dst}: {meta['width']}x{meta['height']}, {len(data)} bytes, {meta['bpp']:.4f} bpp ({how}, quality {meta['quality']})"


def _decode_one(src: str, dst: str, args: argparse.Namespace) -> str:
    import io

    from codec.api import decode_file
    from codec.outputs import encoded
    from codec.pixels import to_pil

    extension = _output_extension(dst)
    data = read_input(src)
    d = decode_file(data, device=args.device, temperature=args.temperature, seed=args.seed, thumbnail=args.thumbnail,
                    max_pixels=args.max_pixels, progress=args.progress)
    im = to_pil(d.array)
    try:
        out, note = encoded(im, d.metadata, extension, args.jpeg_quality)
    except IrrError as e:
        raise IrrError(f"{dst}: {e}") from None
    write_output(dst, out, args.force, src)
    message = f"{dst}: {im.width}x{im.height} {im.mode}{note}"
    if args.compare:
        import numpy as np

        from codec.pixels import load, psnr

        original = _original_of(src, dst, args)
        reference = load(original, max_pixels=1 << 31).array
        if reference.shape[:2] != (im.height, im.width):
            raise IrrError(f"the original {original} is {reference.shape[1]}x{reference.shape[0]}, decoded is {im.width}x{im.height}")
        decoded = np.asarray(im)
        decoded = decoded[..., None] if decoded.ndim == 2 else decoded
        n = min(reference.shape[2], decoded.shape[2], 3)
        value = psnr(reference[..., :n], decoded[..., :n])
        score = "inf" if math.isinf(value) else f"{value:.2f}"
        message += f", PSNR-RGB {score} dB vs {original}"
    return message


def _original_of(src: str, dst: str, args: argparse.Namespace) -> str:
    """The --compare original of one decode: the file given, or in a folder of originals the image
    named as the output (relative to the output folder), with any image extension."""
    if not Path(args.compare).is_dir():
        return args.compare
    from codec.pixels import IMAGE_SUFFIXES

    try:
        name = Path(dst).relative_to(args.output).with_suffix("")
    except ValueError:  # a single file decoded to a path of its own
        name = Path(Path(src).stem)
    folder = Path(args.compare) / name.parent
    found = sorted(p for p in folder.glob(f"{glob.escape(name.name)}.*") if p.suffix.lower() in IMAGE_SUFFIXES) \
        if folder.is_dir() else []
    if len(found) != 1:
        what = "no original" if not found else f"{len(found)} originals ({', '.join(p.name for p in found)})"
        raise IrrError(f"{what} named {name}.* in --compare folder {args.compare}")
    return str(found[0])


def _refuse_contradictions(args: argparse.Namespace) -> None:
    """Options that cannot all hold are a usage error, not a silent choice of one of them."""
    lossless = args.lossless or args.quality == 100
    if args.lossless and args.quality not in (None, 100):
        raise UsageError(f"-q {args.quality} contradicts --lossless (which is -q 100)")
    if args.detail != "auto" and args.scale is not None:
        raise UsageError(f"--detail {args.detail} applies to the learned level only, not to --scale {args.scale}")
    if lossless and args.detail == "no":
        raise UsageError("--detail no contradicts a lossless encode: a lossless file stores all the detail")
    targets = [f"--{name} {value}" for name, value in (("size", args.size), ("psnr", args.psnr)) if value is not None]
    if targets and (len(targets) > 1 or args.quality is not None or args.lossless):
        raise UsageError(f"{targets[0]} picks the quality: it cannot be given with "
                         f"{targets[1] if len(targets) > 1 else '-q' if args.quality is not None else '--lossless'}")
    if args.strip_metadata and args.metadata not in (None, "none"):
        raise UsageError(f"--strip-metadata contradicts --metadata {args.metadata}")
    if lossless and args.scale in (None, 1) and args.temperature:
        raise UsageError("--temperature has nothing to draw in a lossless file without a rescaler (--scale 2|4)")


def _encode(args: argparse.Namespace) -> None:
    from codec.pixels import IMAGE_SUFFIXES

    _refuse_contradictions(args)
    if args.metadata is not None:
        from codec.metadata import kinds_of

        try:
            kinds_of(args.metadata)
        except IrrError as e:
            raise UsageError(f"--metadata: {e}") from None
    jobs = jobs_of(args, IMAGE_SUFFIXES, ".irr")
    dst = jobs[0][1]
    if len(jobs) == 1 and dst != "-" and Path(dst).suffix.lower() != ".irr" and not is_stream(dst):
        say(args, f"irr: warning: {dst} will hold .irr data, though its name does not end in .irr")
    args.progress = len(jobs) == 1 and shows_progress(args)  # a batch has its own bar over the files
    run_batch(_encode_one, jobs, args)


def _output_extension(dst: str) -> str:
    from codec.outputs import OUTPUT_FORMATS

    extension = ".png" if dst == "-" else Path(dst).suffix.lower()
    if extension not in OUTPUT_FORMATS:
        raise UsageError(f"cannot tell the output format from {dst!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    return extension


def _decode(args: argparse.Namespace) -> None:
    jobs = jobs_of(args, {".irr"}, args.format)
    if args.compare and len(jobs) > 1 and not Path(args.compare).is_dir():
        raise UsageError("--compare with several inputs takes a folder of originals (matched by name)")
    if args.jpeg_quality is not None and any(_output_extension(dst) not in (".jpg", ".jpeg") for _, dst in jobs):
        raise UsageError("--jpeg-quality applies to .jpg outputs only (the others are lossless)")
    args.progress = len(jobs) == 1 and shows_progress(args)
    run_batch(_decode_one, jobs, args)


def _info(args: argparse.Namespace) -> None:
    from codec.summary import info  # the container only: no torch, a fast start

    if len(args.input) == 1:
        meta = info(read_input(args.input[0]))
        print(json.dumps(meta, indent=2) if args.json else _info_lines(meta))
        return
    found, failed = [], 0
    for path in args.input:
        try:
            found.append({"file": path, **info(read_input(path))})
        except IrrError as e:
            failed += 1
            print(f"irr: error: {path}: {e}", file=sys.stderr)
    print(json.dumps(found, indent=2) if args.json else "\n\n".join(f"{m['file']}:\n{_info_lines(m)}" for m in found))
    if failed:
        raise BatchFailed(f"{failed} of {len(args.input)} files failed")


def _info_lines(meta: dict) -> str:
    return "\n".join(f"{k:>20}: {v}" for k, v in meta.items() if k != "file")


def _rescale(args: argparse.Namespace) -> None:
    import io

    from codec import rescaling

    if args.output != "-" and not is_stream(args.output) and Path(args.output).suffix.lower() != ".png":
        raise UsageError(f"irr {args.command} writes PNG (lossless, with its metadata): name the output *.png")
    def one(src: str, dst: str, args: argparse.Namespace) -> str:
        source = io.BytesIO(read_input(src))
        im = (rescaling.downscale if args.command == "downscale" else rescaling.upscale)(source, args.scale, args.max_pixels)
        write_output(dst, rescaling.save_png(im), args.force, src)
        return f"{dst}: {im.width}x{im.height} {im.mode}"

    run_batch(one, [(args.input, args.output)], args)  # one file: its warnings and --quiet as encode's


COMMANDS = {"encode": _encode, "decode": _decode, "info": _info, "downscale": _rescale, "upscale": _rescale}
# Offline command groups, each with its own parser in its own package: run-time commands never
# import them. name -> (module with build_parser() and run(args), one-line help).
OFFLINE = {"train": ("codec.training.cli", "train irr's learned level (or a rescaler); resumable"),
           "tools": ("codec.tools.cli", "offline tools: fit entropy tables, compare entropy models, calibrate -q")}
# name -> (add its subparser, run it): commands a front door above codec adds (``bench.cli``'s
# ``irr bench``), so that codec never imports what depends on it.
Extensions = dict[str, tuple[Callable[[argparse._SubParsersAction], None], Callable[[argparse.Namespace], None]]]


def _offline_parser(argv: list[str]) -> argparse.ArgumentParser | None:
    """The parser of an offline command group when ``argv`` runs one (``irr [-v] train ...``)."""
    words = argv[:1]
    if not words or words[0] not in OFFLINE:
        return None
    import importlib

    return importlib.import_module(OFFLINE[words[0]][0]).build_parser()


def main(argv: list[str] | None = None, extensions: Extensions | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # -v works before or after the command, as users of other tools type it (no option takes a
    # value that could be "-v").
    verbose = any(w in ("-v", "--verbose") for w in argv)
    argv = [w for w in argv if w not in ("-v", "--verbose")]
    offline = _offline_parser(argv)
    try:
        args = (offline or build_parser(extensions)).parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    args.verbose = verbose
    try:
        if offline is not None:
            import importlib

            importlib.import_module(OFFLINE[args.command][0]).run(args)
        else:
            commands = {**COMMANDS, **{name: run for name, (_, run) in (extensions or {}).items()}}
            commands[args.command](args)
    except UsageError as e:
        print(f"irr: usage error: {e}", file=sys.stderr)
        return 2
    except BatchFailed as e:
        print(f"irr: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader of stdout left (`irr info x.irr | head`): stop quietly, as Unix tools do, and
        # point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (IrrError, OSError) as e:
        if args.verbose:
            raise
        print(f"irr: error: {e}", file=sys.stderr)
        return 1
    except MemoryError:
        print("irr: error: out of memory (try a smaller image or a larger machine)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("irr: error: interrupted", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
