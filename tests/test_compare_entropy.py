"""The entropy-model comparison behind the README's equal-symbol figures."""

from __future__ import annotations

import json
from importlib import resources

from PIL import Image

from codec.cli import main
from codec.tools import compare_entropy


def test_the_comparison_codes_the_same_photo_with_every_model_and_the_adaptive_one_wins(tmp_path, monkeypatch):
    with Image.open(str(resources.files("codec") / "samples" / "coffee.png")) as im:
        im.convert("RGB").resize((192, 128), Image.BICUBIC).save(tmp_path / "photo.png")
    monkeypatch.setattr(compare_entropy, "QUALITIES", (55,))
    out = tmp_path / "cmp.json"
    assert main(["tools", "compare-entropy", "--data", str(tmp_path), "-o", str(out)]) == 0
    result = json.loads(out.read_text())
    (row,) = result["rows"]
    assert set(row["equal_symbols"]) == set(compare_entropy.MODELS) | {compare_entropy.NO_SHIFTS}
    assert row["equal_symbols"]["w97-adaptive-1"] < row["equal_symbols"]["w97-laplace-1"]
    assert row["encoder"]["w97-adaptive-1"] < row["encoder"]["w97-laplace-2"]
    # the written-symbol refit pays on what the encoder writes, not on the plain symbols it was not fitted on
    assert row["encoder"]["w97-adaptive-2"] < row["encoder"]["w97-adaptive-1"]

    adaptation = tmp_path / "adaptation.json"
    assert main(["tools", "compare-entropy", "--data", str(tmp_path), "--adaptation", "-o", str(adaptation)]) == 0
    summary = json.loads(adaptation.read_text())["summary"]
    assert summary["none"] == 0 and summary["forward"] < 0  # the chosen shifts pay for their 24 bytes
