"""The architecture holds: encoding and decoding import nothing from the offline packages
(``codec.training``, ``codec.tools``), and training runs without the coder's native dependencies."""

from __future__ import annotations

import subprocess
import sys

OFFLINE = ("codec.training", "codec.tools")


def _modules_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_encode_decode_and_the_cli_codec_path_import_nothing_offline(tmp_path):
    code = f"""
import numpy as np, codec
from codec.cli import main
rgb = (np.indices((40, 56)).sum(0) % 256).astype(np.uint8)[..., None].repeat(3, 2)
for options in ({{}}, {{"scale": 1}}, {{"scale": 2}}, {{"lossless": True}}):
    codec.decode(codec.encode(rgb, **options))
import PIL.Image; PIL.Image.fromarray(rgb).save({str(tmp_path / 'a.png')!r})
assert main(["encode", {str(tmp_path / 'a.png')!r}, "-o", {str(tmp_path / 'a.irr')!r}]) == 0
assert main(["decode", {str(tmp_path / 'a.irr')!r}, "-o", {str(tmp_path / 'b.png')!r}]) == 0
"""
    modules = _modules_after(code)
    assert "codec.api" in modules and "entropy.coder" in modules  # the check looked where it should
    assert not [m for m in modules if m.startswith(OFFLINE)]


def test_training_imports_neither_compressai_nor_construct():
    modules = _modules_after("import codec.training.level, codec.training.rescaler, codec.training.loop")
    assert "codec.training.proxy" in modules
    assert not [m for m in modules if m.split(".")[0] in ("compressai", "construct")]


def test_no_module_is_over_400_lines():
    """One job a module: a file past ~400 lines has grown a second one (the issue that split
    entropy/coder.py at 673 and codec/api.py at 513)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sizes = {str(p.relative_to(root)): len(p.read_text().splitlines())
             for package in ("codec", "entropy", "bitstream", "bench") for p in (root / package).rglob("*.py")}
    assert len(sizes) > 30  # the check looked where the code is
    assert {path: n for path, n in sizes.items() if n > 400} == {}


def test_every_package_is_installed():
    """A wheel holds every package of the tree (a hand-kept list once left out ``codec.modes``)."""
    import tomllib
    from pathlib import Path

    from setuptools import find_packages

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    installed = set(find_packages(str(root), include=config["include"]))
    tree = {".".join(p.parent.relative_to(root).parts) for top in ("codec", "entropy", "bitstream", "bench")
            for p in (root / top).rglob("__init__.py")}
    assert "codec.modes" in tree and tree <= installed
