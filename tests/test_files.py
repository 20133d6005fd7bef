"""Outputs never destroy what a path names: devices and FIFOs are written through, an existing file
needs --force, the input is never its own output, links stay links."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from bitstream.errors import IrrError
from codec.cli import main
from codec.files import write_output
from tests.conftest import photo_like


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "a.png"
    Image.fromarray(photo_like(32, 48)).save(path)
    return path


def test_an_existing_file_is_kept_unless_forced(tmp_path):
    target = tmp_path / "out.irr"
    target.write_bytes(b"mine")
    with pytest.raises(IrrError, match="--force"):
        write_output(str(target), b"new")
    assert target.read_bytes() == b"mine"
    write_output(str(target), b"new", force=True)
    assert target.read_bytes() == b"new"


def test_a_new_file_appears_whole_and_no_temporary_stays(tmp_path):
    write_output(str(tmp_path / "new.irr"), b"x" * 1000)
    assert (tmp_path / "new.irr").read_bytes() == b"x" * 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.irr"]


def test_a_character_device_is_written_through_not_replaced(tmp_path):
    link = tmp_path / "null"
    link.symlink_to(os.devnull)  # a link to /dev/null: what mknod would make, without root
    write_output(str(link), b"data", force=False)
    assert link.is_symlink() and Path(os.devnull).is_char_device()


def test_a_fifo_is_written_through_and_one_without_reader_is_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(IrrError, match="no process is reading"):
        write_output(str(fifo), b"data")
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    for _ in range(200):  # the reader opens the FIFO in its own time
        try:
            write_output(str(fifo), b"data" * 50_000)
            break
        except IrrError:
            threading.Event().wait(0.01)
    reader.join(10)
    assert received == [b"data" * 50_000] and fifo.is_fifo()


def test_a_link_to_a_file_stays_a_link_and_its_target_is_replaced(tmp_path):
    target, link = tmp_path / "real.irr", tmp_path / "link.irr"
    target.write_bytes(b"old")
    link.symlink_to(target)
    write_output(str(link), b"new", force=True)
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_folders_broken_links_and_sockets_are_refused(tmp_path):
    import socket

    with pytest.raises(IrrError, match="folder"):
        write_output(str(tmp_path), b"x", force=True)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(IrrError, match="broken symbolic link"):
        write_output(str(tmp_path / "dangling"), b"x", force=True)
    sock_path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        with pytest.raises(IrrError, match="not a regular file"):
            write_output(str(sock_path), b"x", force=True)


def test_encode_never_replaces_its_input_however_spelled(png, tmp_path, capsys):
    before = png.read_bytes()
    os.link(png, tmp_path / "hard.png")
    (tmp_path / "soft.png").symlink_to(png)
    for out in (png, tmp_path / "." / "a.png", tmp_path / "hard.png", tmp_path / "soft.png"):
        assert main(["encode", str(png), "-o", str(out), "-f"]) == 1
        assert "is the input itself" in capsys.readouterr().err
    assert png.read_bytes() == before


def test_cli_refuses_to_overwrite_without_force_and_warns_on_a_foreign_suffix(png, tmp_path, capsys):
    out = tmp_path / "a.irr"
    assert main(["encode", str(png), "-o", str(out), "-q", "20"]) == 0
    first = out.read_bytes()
    assert main(["encode", str(png), "-o", str(out)]) == 1
    assert "exists; use -f/--force" in capsys.readouterr().err and out.read_bytes() == first
    assert main(["encode", str(png), "-o", str(out), "--force"]) == 0 and out.read_bytes() != first
    capsys.readouterr()
    assert main(["encode", str(png), "-o", str(tmp_path / "b.png")]) == 0
    assert "warning: " in capsys.readouterr().err
    decoded = tmp_path / "d.png"
    assert main(["decode", str(out), "-o", str(decoded)]) == 0
    assert main(["decode", str(out), "-o", str(decoded)]) == 1
    assert main(["decode", str(out), "-o", str(decoded), "-f"]) == 0


def test_a_batch_with_an_existing_output_writes_nothing(png, tmp_path, capsys):
    second = tmp_path / "b.png"
    second.write_bytes(png.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.irr").write_bytes(b"keep")
    assert main(["encode", str(png), str(second), "-o", str(out), "-q", "20"]) == 1
    assert "nothing was written" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["b.irr"] and (out / "b.irr").read_bytes() == b"keep"
    assert main(["encode", str(png), str(second), "-o", str(out), "-q", "20", "-f"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.irr", "b.irr"] and (out / "b.irr").read_bytes() != b"keep"
