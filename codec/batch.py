"""Many files at once: inputs (files, folders) paired with outputs, refused before anything is
written when two would collide or one exists; run one by one or in worker processes, each file's
error reported without stopping the others."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from pathlib import Path

from bitstream.errors import IrrError
from codec.files import check_output


class UsageError(Exception):
    """Bad command-line usage (exit 2)."""


class BatchFailed(IrrError):
    """Some files of a batch failed; each was already reported."""


def jobs_of(args: argparse.Namespace, suffixes: frozenset[str] | set[str], out_suffix: str) -> list[tuple[str, str]]:
    """(input, output) pairs: one file to one path, or files and folders into a folder.

    A folder's files are taken by suffix, case-folded (``UP.PNG`` too); with ``args.recursive``
    its subfolders as well, mirrored under the output folder. What a folder holds and is not
    taken (other files, subfolders without ``-r``) is said on stderr. One input into an existing
    folder (or a path ending in ``/``) lands in it under its own name. Refuses, before anything
    is written, a folder with nothing to code and two inputs that would land on the same output
    (``a.jpg`` and ``a.png`` both becoming ``a.irr``): one would silently replace the other.
    """
    pairs: list[tuple[str, Path]] = []  # (input, its output path relative to the output folder)
    for item in args.input:
        if item != "-" and Path(item).is_dir():
            pairs += _folder_inputs(Path(item), suffixes, out_suffix, args)
        else:
            pairs.append((item, Path(Path(item).stem + out_suffix)))
    many = len(args.input) > 1 or any(item != "-" and Path(item).is_dir() for item in args.input)
    into_folder = args.output != "-" and (Path(args.output).is_dir() or args.output.endswith(os.sep))
    if not many and not into_folder:
        check_output(args.output, args.force, pairs[0][0])
        return [(pairs[0][0], args.output)]
    if "-" in (src for src, _ in pairs) or args.output == "-":
        raise UsageError("'-' (stdin/stdout) works with a single input into a single output only")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"-o {args.output} must be a folder when there are several inputs")
    jobs = [(src, str(out_dir / rel)) for src, rel in pairs]
    _refuse_collisions(jobs)
    _refuse_existing(jobs, args.force)
    try:
        for folder in sorted({Path(dst).parent for _, dst in jobs}):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise IrrError(f"cannot create output folder {e.filename}: {e.strerror}") from None
    return jobs


def _folder_inputs(folder: Path, suffixes: frozenset[str] | set[str], out_suffix: str,
                   args: argparse.Namespace) -> list[tuple[str, Path]]:
    """A folder's inputs (its subfolders' too with ``args.recursive``) with their outputs' paths
    relative to the output folder; says on stderr what it leaves out."""
    recursive = getattr(args, "recursive", False)
    found: list[tuple[str, Path]] = []
    others, subfolders = [], []
    for path in sorted(folder.rglob("*") if recursive else folder.iterdir()):
        if path.is_dir():
            subfolders.append(path)
        elif path.is_file() and path.suffix.lower() in suffixes:
            found.append((str(path), path.relative_to(folder).with_suffix(out_suffix)))
        elif path.is_file():
            others.append(path.name)
    kinds = " or ".join(sorted(suffixes)) if len(suffixes) < 4 else "image"
    if not found:
        hint = f" (it has {len(subfolders)} subfolder{'s' * (len(subfolders) > 1)}: use -r)" if subfolders and not recursive else ""
        raise IrrError(f"no {kinds} files in folder {folder}{hint}")
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        say(args, f"irr: note: {folder}: skipped {len(others)} file{'s' * (len(others) > 1)} with other extensions "
                  f"than {kinds} files: {shown}")
    if subfolders and not recursive:
        say(args, f"irr: note: {folder}: skipped {len(subfolders)} subfolder{'s' * (len(subfolders) > 1)} "
                  "(-r codes them too, mirrored in the output folder)")
    return found


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


def noting_warnings(fn, src: str, *rest) -> str:
    """``fn(src, *rest)``'s message, after one ``irr: warning:`` line per warning it raised (in a
    worker process too, where Python's own warning output would be lost or garbled)."""
    from codec.pixels import MetadataWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")  # the libraries' deprecations are not the user's business
        warnings.simplefilter("always", MetadataWarning)
        message = fn(src, *rest)
    where = "" if src == "-" else f"{src}: "
    lines = [f"irr: warning: {where}{w.message}" for w in caught]
    return "\n".join([*lines, message])


def _run_one(task: tuple) -> tuple[str, str | None, str]:
    """Worker: (input, error or None, message). Errors of one file never stop the others."""
    fn, src, dst, args = task
    try:
        return src, None, noting_warnings(fn, src, dst, args)
    except (IrrError, OSError) as e:
        return src, str(e), ""


def say(args: argparse.Namespace, text: str) -> None:
    """A line for the user on stderr (output lines, notes, warnings), unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


def shows_progress(args: argparse.Namespace) -> bool:
    """Progress bars: on a terminal only, and not with ``--quiet``."""
    return sys.stderr.isatty() and not getattr(args, "quiet", False)


def run_batch(fn, jobs: list[tuple[str, str]], args: argparse.Namespace) -> None:
    """Each job through ``fn(src, dst, args) -> message``; errors are always said, the rest unless
    ``--quiet``; a bar over the files on a terminal."""
    if len(jobs) == 1:
        say(args, noting_warnings(fn, *jobs[0], args))
        return
    from tqdm import tqdm

    tasks = [(fn, src, dst, args) for src, dst in jobs]
    failed = 0
    with contextlib.ExitStack() as stack:
        if args.jobs == 1:
            results = map(_run_one, tasks)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: a forked child inherits torch's thread pools mid-state and can hang.
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=args.jobs,
                                                           mp_context=multiprocessing.get_context("spawn")))
            results = pool.map(_run_one, tasks)
        bar = stack.enter_context(tqdm(total=len(jobs), unit="file", leave=False, disable=not shows_progress(args)))
        for src, error, message in results:
            bar.update()
            if error is not None:
                failed += 1
                bar.write(f"irr: error: {src}: {error}", file=sys.stderr)
            elif not getattr(args, "quiet", False):
                bar.write(message, file=sys.stderr)
    if failed:
        raise BatchFailed(f"{failed} of {len(jobs)} files failed")
