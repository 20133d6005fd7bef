"""Reading the CLI's inputs and writing its outputs without ever destroying what a path names.

An output is written by kind of what is already there:

- nothing: a temporary file in the same folder, then a rename (a failed run leaves nothing);
- a regular file: refused unless ``force`` (as cwebp, cjxl and avifenc users expect a tool to ask),
  and always refused when it is the input itself; with ``force``, replaced atomically;
- a symbolic link to a regular file: its target is replaced as above, the link stays a link;
- a character device or a FIFO (``/dev/null``, a pipe a reader waits on): written through, never
  replaced; a FIFO nobody reads is refused instead of hanging;
- a folder, a socket, a block device, a broken link: refused.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from bitstream.errors import IrrError


def read_input(path: str) -> bytes:
    """The bytes of ``path`` (``-``: stdin), or an ``IrrError`` that names it."""
    if path == "-":
        data = sys.stdin.buffer.read()
        if not data:
            raise IrrError("standard input is empty (nothing was piped in)")
        return data
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise IrrError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise IrrError(f"is a directory: {path}") from None
    except OSError as e:
        raise IrrError(f"cannot read {path}: {e.strerror}") from None


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file, however spelled (links, case-folding file systems)."""
    if a == "-" or b == "-":
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def is_stream(path: str) -> bool:
    """A character device or a FIFO (or a link to one): written through, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def check_output(path: str, force: bool, source: str | None = None) -> None:
    """Refuse, before any work, an output that would destroy something (see the module docstring)."""
    if path == "-":
        return
    if source is not None and same_file(source, path):
        raise IrrError(f"{path} is the input itself; write the output somewhere else")
    try:
        mode = os.stat(path).st_mode  # follows links: what a write would reach
    except FileNotFoundError:
        if os.path.islink(path):
            raise IrrError(f"cannot write {path}: it is a broken symbolic link") from None
        return
    except OSError as e:
        raise IrrError(f"cannot write {path}: {e.strerror or e}") from None
    if stat.S_ISDIR(mode):
        raise IrrError(f"cannot write {path}: it is a folder")
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return
    if not stat.S_ISREG(mode):
        raise IrrError(f"cannot write {path}: it is not a regular file, a character device or a FIFO")
    if not force:
        raise IrrError(f"{path} exists; use -f/--force to overwrite it")


def write_output(path: str, data: bytes, force: bool = False, source: str | None = None) -> None:
    """Write ``data`` to ``path`` (``-``: stdout) as the module docstring says; ``source``: the
    input it was made from, which is never replaced. Failures raise an ``IrrError`` naming the path
    and leave it as it was."""
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    check_output(path, force, source)
    try:
        if is_stream(path):
            _write_through(path, data, stat.S_ISFIFO(os.stat(path).st_mode))
        else:
            _replace_atomically(os.path.realpath(path) if os.path.islink(path) else path, data, os.path.exists(path))
    except FileExistsError:
        raise IrrError(f"{path} exists; use -f/--force to overwrite it") from None
    except OSError as e:
        if e.errno == errno.ENXIO:
            raise IrrError(f"cannot write {path}: it is a FIFO that no process is reading") from None
        raise IrrError(f"cannot write {path}: {e.strerror or e}") from None


def _write_through(path: str, data: bytes, fifo: bool) -> None:
    # O_NONBLOCK: opening a FIFO without a reader fails at once (ENXIO) instead of waiting forever.
    fd = os.open(path, os.O_WRONLY | (os.O_NONBLOCK if fifo else 0))
    try:
        if fifo:
            os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _replace_atomically(path: str, data: bytes, replace: bool) -> None:
    """A temporary file in the target's folder, then a rename over it (``replace``) or a link to a
    new name, which fails if something appeared there meanwhile."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".irr-", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; a finished file gets the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: the check above is the guard
            os.replace(tmp, path)
    finally:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
