"""The offline tools' hooks into the codec (no monkeypatching of the quality constant)."""

from __future__ import annotations

from codec.settings import LEVEL_STEP_AT_50, EncodeSettings
from codec.tools.calibrate_quality import irr_at
from tests.conftest import photo_like


def test_a_calibration_candidate_changes_the_step_and_nothing_else():
    photo = photo_like(48, 64, seed=5)
    fine, coarse = irr_at(photo, 75, 12.0), irr_at(photo, 75, 48.0)
    assert fine[1] > coarse[1] and fine[0] > coarse[0]  # more bytes, higher PSNR
    assert irr_at(photo, 75) == irr_at(photo, 75, LEVEL_STEP_AT_50)
    assert EncodeSettings(quality=75).lr_step == EncodeSettings(quality=75, step_at_50=LEVEL_STEP_AT_50).lr_step


def test_validate_rescaler_reports_the_yardstick_for_each_weights_file(tmp_path, capsys):
    import json

    from PIL import Image

    from codec.cli import main
    from tests.conftest import photo_like

    for i in range(2):
        Image.fromarray(photo_like(32, 48, seed=i)).save(tmp_path / f"p{i}.png")
    from codec import models

    weights = str(models.weights_path("irr-x2", 1))
    assert main(["tools", "validate-rescaler", weights, weights, "--data", str(tmp_path), "--all"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and rows[0] == rows[1] and rows[0]["images"] == 2 and rows[0]["scale"] == 2
    assert abs(rows[0]["val_gain_db"] - (rows[0]["val_psnr"] - rows[0]["val_bicubic_psnr"])) < 1e-9
