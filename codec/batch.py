"""Many files at once: inputs (files, folders) paired with outputs, refused before anything is
written when two would collide or one exists; run one by one or in worker processes, each file's
error reported without stopping the others."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bitstream.errors import IrrError
from codec.files import check_output


class UsageError(Exception):
    """Bad command-line usage (exit 2)."""


class BatchFailed(IrrError):
    """Some files of a batch failed; each was already reported."""


def jobs_of(args: argparse.Namespace, suffixes: frozenset[str] | set[str], out_suffix: str) -> list[tuple[str, str]]:
    """(input, output) pairs: one file to one path, or many inputs (files, folders) into a folder.

    Refuses, before anything is written, a folder with nothing to code and two inputs that would
    land on the same output (``a.jpg`` and ``a.png`` both becoming ``a.irr``): one would silently
    replace the other.
    """
    inputs: list[str] = []
    for item in args.input:
        if item != "-" and Path(item).is_dir():
            found = [str(p) for p in sorted(Path(item).iterdir()) if p.is_file() and p.suffix.lower() in suffixes]
            if not found:
                raise IrrError(f"no {' or '.join(sorted(suffixes)) if len(suffixes) < 4 else 'image'} files in folder {item}")
            inputs += found
        else:
            inputs.append(item)
    many = len(args.input) > 1 or any(item != "-" and Path(item).is_dir() for item in args.input)
    if not many:
        check_output(args.output, args.force, inputs[0])
        return [(inputs[0], args.output)]
    if "-" in inputs or args.output == "-":
        raise UsageError("'-' (stdin/stdout) works with a single input only")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"-o {args.output} must be a folder when there are several inputs")
    jobs = [(src, str(out_dir / (Path(src).stem + out_suffix))) for src in inputs]
    _refuse_collisions(jobs)
    _refuse_existing(jobs, args.force)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise IrrError(f"cannot create output folder {args.output}: {e.strerror}") from None
    return jobs


def _refuse_collisions(jobs: list[tuple[str, str]]) -> None:
    """Two inputs for one output path (compared case-folded: macOS and Windows file systems fold case)."""
    seen: dict[str, str] = {}
    for src, dst in jobs:
        key = os.path.normcase(os.path.abspath(dst)).casefold()
        if key in seen:
            same = os.path.abspath(seen[key]) == os.path.abspath(src)
            if same:
                raise UsageError(f"{src} is given twice")
            raise IrrError(f"{seen[key]} and {src} would both be written to {dst}; nothing was written "
                           "(rename one, or code them into different folders)")
        seen[key] = src


def _refuse_existing(jobs: list[tuple[str, str]], force: bool) -> None:
    """Every output checked before the first is written: a batch never stops half-way for this."""
    refused = []
    for src, dst in jobs:
        try:
            check_output(dst, force, src)
        except IrrError as e:
            refused.append(str(e))
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise IrrError(f"{refused[0]}{more}; nothing was written")


def _run_one(task: tuple) -> tuple[str, str | None, str]:
    """Worker: (input, error or None, message). Errors of one file never stop the others."""
    fn, src, dst, args = task
    try:
        return src, None, fn(src, dst, args)
    except (IrrError, OSError) as e:
        return src, str(e), ""


def run_batch(fn, jobs: list[tuple[str, str]], args: argparse.Namespace) -> None:
    if len(jobs) == 1:
        print(fn(*jobs[0], args), file=sys.stderr)
        return
    tasks = [(fn, src, dst, args) for src, dst in jobs]
    if args.jobs == 1:
        results = map(_run_one, tasks)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: a forked child inherits torch's thread pools mid-state and can hang.
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_run_one, tasks))
    failed = 0
    for src, error, message in results:
        if error is None:
            print(message, file=sys.stderr)
        else:
            failed += 1
            print(f"irr: error: {src}: {error}", file=sys.stderr)
    if failed:
        raise BatchFailed(f"{failed} of {len(jobs)} files failed")
