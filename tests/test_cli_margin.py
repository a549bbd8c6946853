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


def _write_dicom_mask(folder, array, grid, name):
    """A mask written as a real DICOM series (one CT slice file per z, value 1 inside), the way a
    workstation exports a binary label volume: the margin must read it by its DICOM geometry."""
    from mrecist_tool.sample.dicom_writer import SeriesInfo, StudyInfo, make_uid, write_series
    from mrecist_tool.sample.render import AxialGrid

    study = StudyInfo("MARGIN-DICOM", "", str(make_uid("margin-test", "study")), str(make_uid("margin-test", "for")),
                      "20210301", "120000", "1", "A1", "mask export", "CT")
    series = SeriesInfo(str(make_uid("margin-test", name)), 900 + len(name), f"{name} mask", "portal-venous",
                        "120000", False, "")
    axial = AxialGrid(array.shape, tuple(float(v) for v in grid.spacing), tuple(float(v) for v in grid.origin))
    # the writer's CT series rescale stored values by -1024: store 1024 + label so the mask reads 0 / 1
    write_series(folder, study, series, axial, [(0, array.astype(np.uint16) + 1024)])
    return folder


def test_dicom_folders_as_masks_give_the_analytic_margin(tmp_path, capsys):
    """``--tumour`` and ``--zone`` as DICOM series folders (axial, 0.8×0.8×2.5 mm, the tumour's
    grid offset from the zone's): the MAM is the analytic one, its location in LPS."""
    zone = Ellipsoid.sphere((-40.0, 10.0, 25.0), 12.0)
    tumour = Ellipsoid.sphere((-37.5, 9.0, 26.5), 5.0)
    exact, at = sphere_margin(tumour, zone)
    gz, sz = grid_around(GRIDS["0.8x0.8x2.5"], np.eye(3), zone.centre, 16)
    gt, st = grid_around(GRIDS["0.8x0.8x2.5"], np.eye(3), tumour.centre, 8, jitter=(0.3, -0.2, 1.1))
    zone_dir = _write_dicom_mask(tmp_path / "zone", render(zone.inside, gz, sz), gz, "zone")
    tumour_dir = _write_dicom_mask(tmp_path / "tumour", render(tumour.inside, gt, st), gt, "tumour")
    rc = main(["margin", "--tumour", str(tumour_dir), "--zone", str(zone_dir), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert doc["mam_mm"] == pytest.approx(exact, abs=0.5 + 2.5 / 2)  # 0.5 mm + half a slice (issue 10)
    assert np.linalg.norm(np.subtract(doc["min_location_lps"], at)) < 2.5
    # the same masks as NIfTI files give the same numbers: the DICOM geometry was read right
    nz, nt = _write(tmp_path / "zone.nii.gz", render(zone.inside, gz, sz), gz), _write(
        tmp_path / "tumour.nii.gz", render(tumour.inside, gt, st), gt)
    assert main(["margin", "--tumour", str(nt), "--zone", str(nz), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mam_mm"] == pytest.approx(doc["mam_mm"], abs=0.01)


@pytest.mark.slow
def test_dicom_image_folders_for_a_rigid_registration(generated_subject, capsys):
    """``--pre-image`` / ``--post-image`` as the DICOM series folders of a generated study
    (baseline and first follow-up CT, portal-venous, 4 mm slices); the generated anatomy does
    not move between visits, so the registered MAM is the unregistered one within MAR-2's ±1 mm
    and the registration is recorded, its missing liver-Dice QA flagged rather than hidden."""
    root = generated_subject.parent
    pre = next((root / "dicom").glob("2021-03-01_CT-*/004_PV-*"))
    post = next((root / "dicom").glob("2021-05-03_CT-*/004_PV-*"))
    base = ["margin", "--tumour", str(root / "masks" / "BL_L1.nii.gz"),
            "--zone", str(root / "masks" / "FU1_L1_zone.nii.gz"), "--json"]
    assert main([*base, "--registration", "none"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*base, "--pre-image", str(pre), "--post-image", str(post), "--registration", "rigid"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["registration"]["method"] == "rigid"
    assert doc["mam_mm"] == pytest.approx(plain["mam_mm"], abs=1.0)
    assert any("liver Dice" in f and "not measured" in f for f in doc["registration"]["flags"])


def test_masks_inside_their_images_carry_no_edge_flag(masks, capsys):
    main(["margin", "--tumour", str(masks["tumour"]), "--zone", str(masks["zone"]), "--json"])
    flags = json.loads(capsys.readouterr().out)["margin_flags"]
    assert not [f for f in flags if "-at-image-edge" in f]


@pytest.mark.parametrize(("half_extent", "cut"), [(10.0, True), (13.5, False)])
def test_a_zone_cut_by_the_edge_of_its_image_is_flagged(masks, tmp_path, capsys, half_extent, cut):
    """MAR-7: where the zone mask reaches the image's edge, the surface the margin is measured to
    is the image's, not the zone's. The r = 12 mm zone on a grid of half extent 10 mm reaches
    every side; at 13.5 mm (more than a voxel beyond it on each side) it reaches none."""
    zone = Ellipsoid.sphere((0, 0, 0), 12.0)
    grid, shape = grid_around(GRIDS["0.8x0.8x2.5"], np.eye(3), (0, 0, 0), half_extent)
    path = _write(tmp_path / "zone.nii.gz", render(zone.inside, grid, shape), grid)
    rc = main(["margin", "--tumour", str(masks["tumour"]), "--zone", str(path), "--json"])
    assert rc == 0
    flags = json.loads(capsys.readouterr().out)["margin_flags"]
    edge = [f for f in flags if "-at-image-edge" in f]
    if cut:
        (flag,) = edge  # the tumour is well inside its own grid
        assert flag.startswith("zone-at-image-edge: the zone mask reaches the edge of its image (")
        assert "first row, last row, first column, last column); the surface there is the image's edge" in flag
    else:
        assert edge == []
