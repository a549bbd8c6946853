"""``mrecist margin``: one tumour from NIfTI masks, as scripts call it (issue 10, MAR-7)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from phantoms import GRIDS, Ellipsoid, grid_around, render, sitk_image, sphere_margin

from mrecist_tool.cli.main import main

KEYS = ["mam_mm", "mam_corrected_mm", "coverage", "fraction_ge_5mm", "fraction_ge_10mm", "q05_mm", "q50_mm",
        "min_location_lps", "registration"]


def _write(path, array, grid):
    import SimpleITK as sitk

    sitk.WriteImage(sitk_image(array.astype(np.uint8), grid), str(path))
    return path


@pytest.fixture(scope="module")
def masks(tmp_path_factory):
    d = tmp_path_factory.mktemp("margin")
    zone = Ellipsoid.sphere((0, 0, 0), 12.0)
    tumour = Ellipsoid.sphere((2.5, -1.0, 1.5), 5.0)
    gz, sz = grid_around(GRIDS["0.8x0.8x2.5"], np.eye(3), (0, 0, 0), 16)
    # the tumour on another, finer grid of the same space (a different series)
    gt, st = grid_around(GRIDS["0.5iso"], np.eye(3), (2.5, -1.0, 1.5), 8)
    return {
        "zone": _write(d / "zone.nii.gz", render(zone.inside, gz, sz), gz),
        "tumour": _write(d / "tumour.nii.gz", render(tumour.inside, gt, st), gt),
        "liver": _write(d / "liver.nii.gz", np.ones(sz, bool), gz),
        "empty": _write(d / "empty.nii.gz", np.zeros(sz, bool), gz),
        "exact": sphere_margin(tumour, zone)[0],
        "dir": d,
    }


def test_json_object_with_the_issue_keys(masks, capsys):
    rc = main(["margin", "--tumour", str(masks["tumour"]), "--zone", str(masks["zone"]), "--registration", "none",
               "--liver-post", str(masks["liver"]), "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    doc = json.loads(out)
    assert list(doc)[: len(KEYS)] == KEYS
    assert doc["mam_mm"] == pytest.approx(masks["exact"], abs=1.2)
    assert doc["mam_corrected_mm"] == pytest.approx(doc["mam_mm"], abs=1e-6)  # nowhere near the capsule
    assert doc["coverage"] == 1.0
    assert len(doc["min_location_lps"]) == 3
    assert doc["registration"]["method"] == "none"
    assert doc["registration"]["liver_dice"] is None
    assert isinstance(doc["margin_flags"], list)


def test_without_liver_mask_the_corrected_margin_is_null_and_flagged(masks, capsys):
    rc = main(["margin", "--tumour", str(masks["tumour"]), "--zone", str(masks["zone"]), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert doc["mam_corrected_mm"] is None
    assert any("subcapsular" in f for f in doc["margin_flags"])


def test_human_readable_output(masks, capsys):
    assert main(["margin", "--tumour", str(masks["tumour"]), "--zone", str(masks["zone"])]) == 0
    out = capsys.readouterr().out
    assert "minimal ablative margin (MAM)" in out and "coverage" in out


def test_unusable_inputs_are_named(masks, capsys):
    assert main(["margin", "--tumour", str(masks["empty"]), "--zone", str(masks["zone"]), "--json"]) == 1
    assert "empty" in capsys.readouterr().err
    missing = masks["dir"] / "nope.nii.gz"
    assert main(["margin", "--tumour", str(missing), "--zone", str(masks["zone"])]) == 1
    err = capsys.readouterr().err
    assert "--tumour" in err and "nope.nii.gz" in err
    not_image = masks["dir"] / "notes.txt"
    not_image.write_text("hello")
    assert main(["margin", "--tumour", str(not_image), "--zone", str(masks["zone"])]) == 1
    assert "cannot be read as an image" in capsys.readouterr().err


def test_registration_needs_both_images(masks, capsys):
    rc = main(["margin", "--tumour", str(masks["tumour"]), "--zone", str(masks["zone"]), "--registration", "rigid"])
    assert rc == 2
    assert "--pre-image" in capsys.readouterr().err
