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
