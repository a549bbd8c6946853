"""Image work of every case: masks measured again and compared with the recorded numbers.

Masks are real NIfTI files (SimpleITK) of analytic shapes: a disk of 20 mm diameter in one slice
of a 0.8 mm grid, and a zone and a focus a known distance apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mrecist_tool.pipeline import assess_file, steps_for, table_text

SPACING = (2.0, 0.8, 0.8)  # z, y, x mm
SHAPE = (5, 64, 64)


def _write_mask(path: Path, mask: np.ndarray) -> None:
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(mask.astype(np.uint8))
    img.SetSpacing((SPACING[2], SPACING[1], SPACING[0]))
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(img, str(path), True)


def _disk(cy: float, cx: float, diameter_mm: float, z: int = 2) -> np.ndarray:
    yy, xx = np.mgrid[0:SHAPE[1], 0:SHAPE[2]]
    r = diameter_mm / 2
    inside = ((yy - cy) * SPACING[1]) ** 2 + ((xx - cx) * SPACING[2]) ** 2 <= r * r
    out = np.zeros(SHAPE, dtype=bool)
    out[z] = inside
    return out


def _case(folder: Path, observations: list[dict[str, Any]], **extra: Any) -> Path:
    doc = {
        "format": "mrecist-case", "version": 1, "subject": {"id": "MASK-1"},
        "timepoints": [{"id": "BL", "date": "2021-01-04", "baseline": True},
                       {"id": "FU1", "date": "2021-03-01"}],
        "procedures": [{"id": "A1", "type": "ablation", "date": "2021-01-20", "lesions": ["L1"]}],
        "lesions": [{"id": "L1", "role": "target"}, {"id": "N1", "role": "new"}],
        "observations": observations, **extra,
    }
    path = folder / "case.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _warnings(path: Path) -> list[str]:
    result = assess_file(path, steps=steps_for(table_text), keep_assessment=True)
    assert not result.refused, result.problems
    assert result.assessment is not None
    record = json.loads(result.outputs["tables"].record_json)
    assert [w["message"] for w in record["warnings"]] == [w.message for w in result.assessment.warnings]
    return [f"{w.rule} {w.lesion} {w.message}" for w in result.assessment.warnings if w.rule in ("MR-V1", "ABL-6", "REC-M1")]


@pytest.fixture
def disk_case(tmp_path: Path) -> Path:
    _write_mask(tmp_path / "masks" / "BL_L1.nii.gz", _disk(32, 32, 20.0))
    return tmp_path


def _bl(value: float, **geometry: Any) -> dict[str, Any]:
    return {"lesion": "L1", "timepoint": "BL", "status": "measured", "viable_diameter_mm": value,
            "geometry": {"mask": "masks/BL_L1.nii.gz", **geometry}}


FU1_ABSENT = {"lesion": "L1", "timepoint": "FU1", "status": "absent"}


def test_a_diameter_that_agrees_with_its_mask_adds_nothing(disk_case: Path) -> None:
    assert _warnings(_case(disk_case, [_bl(20.0), FU1_ABSENT])) == []


@pytest.mark.parametrize("recorded", [14.0, 26.5])
def test_a_diameter_far_from_its_mask_is_a_located_warning_mr_v1(disk_case: Path, recorded: float) -> None:
    (warning,) = _warnings(_case(disk_case, [_bl(recorded), FU1_ABSENT]))
    assert warning.startswith("MR-V1 L1 at BL, the recorded viable diameter")
    assert f"{recorded:.1f} mm differs from its mask's" in warning and "masks/BL_L1.nii.gz" in warning


def test_tolerance_is_one_pixel_diagonal_at_least_one_mm(disk_case: Path) -> None:
    # The 0.8 mm grid's pixel diagonal is 1.13 mm: 0.9 mm apart passes, 2 mm apart does not.
    import SimpleITK as sitk

    from mrecist_tool import geometry

    arr = sitk.GetArrayFromImage(sitk.ReadImage(str(disk_case / "masks" / "BL_L1.nii.gz"))) > 0
    measured = geometry.viable_diameter(arr, SPACING).diameter_mm
    assert _warnings(_case(disk_case, [_bl(round(measured + 0.9, 1)), FU1_ABSENT])) == []
    assert len(_warnings(_case(disk_case, [_bl(round(measured + 2.0, 1)), FU1_ABSENT]))) == 1


def _rotated_about_x(degrees: float) -> tuple[float, ...]:
    """A direction (row-major, columns = LPS x, y, z index axes) tilted about the L axis."""
    a = np.radians(degrees)
    m = np.array([[1.0, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    return tuple(float(v) for v in m.ravel())


@pytest.mark.parametrize(("degrees", "kind"), [(30.0, "oblique"), (90.0, "coronal")])
def test_a_non_axial_mask_is_refused_for_diameters_with_a_located_warning(
        tmp_path: Path, degrees: float, kind: str) -> None:
    """An in-plane diameter of a coronal or oblique series would come from the wrong plane: the
    mask is not measured, and the warning names the lesion, timepoint, file and orientation --
    even when the recorded number happens to agree with the in-plane one."""
    import SimpleITK as sitk

    path = tmp_path / "masks" / "BL_L1.nii.gz"
    _write_mask(path, _disk(32, 32, 20.0))
    img = sitk.ReadImage(str(path))
    img.SetDirection(_rotated_about_x(degrees))
    sitk.WriteImage(img, str(path), True)
    (warning,) = _warnings(_case(tmp_path, [_bl(20.0), FU1_ABSENT]))
    assert warning.startswith("MR-V1 L1 at BL, the viable diameter was not measured from the mask 'masks/BL_L1.nii.gz'")
    assert f"the slices are {kind}" in warning and "wrong plane" in warning


def test_a_slightly_tilted_mask_is_still_axial(tmp_path: Path) -> None:
    """Within MAX_AXIAL_TILT_DEG (5°, a gantry tilt) the slices count as axial."""
    import SimpleITK as sitk

    path = tmp_path / "masks" / "BL_L1.nii.gz"
    _write_mask(path, _disk(32, 32, 20.0))
    img = sitk.ReadImage(str(path))
    img.SetDirection(_rotated_about_x(4.0))
    sitk.WriteImage(img, str(path), True)
    assert _warnings(_case(tmp_path, [_bl(20.0), FU1_ABSENT])) == []


def test_absent_with_tissue_in_its_mask_is_a_warning(disk_case: Path) -> None:
    _write_mask(disk_case / "masks" / "FU1_L1.nii.gz", _disk(30, 30, 6.0))
    fu1 = {**FU1_ABSENT, "geometry": {"mask": "masks/FU1_L1.nii.gz"}}
    (warning,) = _warnings(_case(disk_case, [_bl(20.0), fu1]))
    assert "recorded absent but its mask 'masks/FU1_L1.nii.gz' holds tissue" in warning


def _gap_case(folder: Path, recorded_gap: float, z: int = 2) -> Path:
    zone = _disk(32, 20, 12.0, z=z)  # x from about 12.5 to 27.5 voxels
    focus = _disk(32, 47, 6.0, z=z)
    _write_mask(folder / "masks" / "FU1_zone.nii.gz", zone)
    _write_mask(folder / "masks" / "FU1_N1.nii.gz", focus)
    return _case(folder, [
        _bl(20.0), {**FU1_ABSENT, "geometry": {"ablation_zone_mask": "masks/FU1_zone.nii.gz"}},
        {"lesion": "N1", "timepoint": "FU1", "status": "measured", "viable_diameter_mm": 6.0,
         "enhancement": "typical", "near_lesion": "L1", "gap_to_ablation_zone_mm": recorded_gap,
         "geometry": {"mask": "masks/FU1_N1.nii.gz"}},
    ])


def _mask_gap(folder: Path) -> float:
    import SimpleITK as sitk

    from mrecist_tool import geometry

    def read(name: str) -> np.ndarray:
        return sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "masks" / name))) > 0

    return geometry.gap_mm(read("FU1_N1.nii.gz"), read("FU1_zone.nii.gz"), SPACING)


def test_gap_that_agrees_with_the_masks_adds_nothing(disk_case: Path) -> None:
    _gap_case(disk_case, 0.0)
    gap = _mask_gap(disk_case)
    assert 10.0 < gap < 16.0
    assert [w for w in _warnings(_gap_case(disk_case, round(gap, 1))) if "ABL-6" in w] == []


def test_gap_far_from_the_masks_is_a_warning_abl_6(disk_case: Path) -> None:
    _gap_case(disk_case, 0.0)
    (warning,) = [w for w in _warnings(_gap_case(disk_case, 2.0)) if w.startswith("ABL-6")]
    assert "ABL-6 N1 at FU1, the recorded gap to the ablation zone 2.0 mm differs from the masks'" in warning


def test_gap_on_the_other_side_of_the_ltp_distance_is_a_warning(tmp_path: Path) -> None:
    # Within tolerance of the masks' gap, but LTP by the number and distant progression by the
    # masks (ABL-6 uses <= ltp_max_distance_mm).
    _gap_case(tmp_path, 0.0)
    gap = _mask_gap(tmp_path)
    path = _gap_case(tmp_path, 0.0)
    doc = json.loads(path.read_text())
    limit = round(gap - 0.5, 1)
    doc["settings"] = {"ltp_max_distance_mm": limit}
    doc["observations"][2]["gap_to_ablation_zone_mm"] = limit
    path.write_text(json.dumps(doc))
    (warning,) = [w for w in _warnings(path) if w.startswith("ABL-6")]
    assert f"fall on either side of ltp_max_distance_mm = {limit:.1f}" in warning


def test_a_mask_that_is_not_an_image_is_a_warning_not_a_crash(disk_case: Path) -> None:
    (disk_case / "masks" / "BL_L1.nii.gz").write_bytes(b"not a nifti file at all")
    (warning,) = _warnings(_case(disk_case, [_bl(20.0), FU1_ABSENT]))
    assert "was not measured: it cannot be read as an image" in warning


def _refused_or_warned(path: Path, words: str) -> None:
    result = assess_file(path, steps=steps_for(table_text), keep_assessment=True)
    if result.refused:  # the case-file reader may refuse such a mask path itself (issue 8)
        assert any("mask" in p.path for p in result.errors), result.problems
        return
    assert result.assessment is not None
    assert any(words in w.message for w in result.assessment.warnings), result.assessment.warnings


def test_a_mask_leaving_the_folder_through_a_link_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write_mask(outside / "BL_L1.nii.gz", _disk(32, 32, 20.0))
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    os.symlink(outside, case_dir / "masks")
    _refused_or_warned(_case(case_dir, [_bl(20.0), FU1_ABSENT]), "leaves the case file's folder")


def test_a_fifo_as_mask_does_not_hang(tmp_path: Path) -> None:
    (tmp_path / "masks").mkdir()
    os.mkfifo(tmp_path / "masks" / "BL_L1.nii.gz")
    _refused_or_warned(_case(tmp_path, [_bl(20.0), FU1_ABSENT]), "not a regular file")


def test_a_missing_mask_is_left_to_the_readers_warning(tmp_path: Path) -> None:
    assert _warnings(_case(tmp_path, [_bl(20.0), FU1_ABSENT])) == []


def test_cases_without_masks_import_no_imaging_library(tmp_path: Path) -> None:
    path = _case(tmp_path, [{"lesion": "L1", "timepoint": "BL", "status": "measured", "viable_diameter_mm": 20},
                            FU1_ABSENT])
    code = ("import sys; from mrecist_tool.pipeline import assess_file, steps_for, table_text;"
            f"r = assess_file({str(path)!r}, steps=steps_for(table_text)); assert not r.refused, r.problems;"
            "heavy = [m for m in ('SimpleITK', 'numpy', 'scipy') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# A structure cut by the edge of its image is measured only up to that edge (MR-V1, REC-M1, ABL-6).

def _bl_mask(folder: Path, mask: np.ndarray, recorded: float) -> Path:
    _write_mask(folder / "masks" / "BL_L1.nii.gz", mask)
    return _case(folder, [_bl(recorded), FU1_ABSENT])


@pytest.mark.parametrize(("z", "edge"), [(0, "first slice"), (SHAPE[0] - 1, "last slice")])
def test_mr_v1_a_mask_on_the_first_or_last_slice_says_the_lesion_may_continue(
        tmp_path: Path, z: int, edge: str) -> None:
    (warning,) = _warnings(_bl_mask(tmp_path, _disk(32, 32, 20.0, z=z), 20.0))
    assert warning == (f"MR-V1 L1 at BL, the mask 'masks/BL_L1.nii.gz' reaches the edge of its image ({edge}): "
                       "the lesion may continue beyond what was imaged, so its viable diameter may be too small")


@pytest.mark.parametrize("z", [1, SHAPE[0] - 2])
def test_mr_v1_a_mask_one_slice_inside_the_edge_adds_nothing(tmp_path: Path, z: int) -> None:
    assert _warnings(_bl_mask(tmp_path, _disk(32, 32, 20.0, z=z), 20.0)) == []


def test_mr_v1_a_mask_cut_by_the_side_of_the_image_names_both_sides_it_reaches(tmp_path: Path) -> None:
    # Centred on column 5 and row 60 of 64: the disk (radius 12.5 voxels) is cut by the first
    # column and the last row; the recorded number is the cut disk's, so only the edge is told.
    from mrecist_tool import geometry

    mask = _disk(60, 5, 20.0)
    measured = geometry.viable_diameter(mask, SPACING).diameter_mm
    (warning,) = _warnings(_bl_mask(tmp_path, mask, round(measured, 1)))
    assert "reaches the edge of its image (last row, first column)" in warning


def test_mr_v1_a_mask_one_voxel_from_the_side_adds_nothing(tmp_path: Path) -> None:
    # Radius 12.5 voxels centred on column 13.5: the disk's first column is 1, not 0.
    mask = _disk(32, 13.5, 20.0)
    assert not mask[:, :, 0].any() and mask[:, :, 1].any()
    from mrecist_tool import geometry

    measured = geometry.viable_diameter(mask, SPACING).diameter_mm
    assert _warnings(_bl_mask(tmp_path, mask, round(measured, 1))) == []


def test_rec_m1_the_edge_is_told_under_recist_too(tmp_path: Path) -> None:
    _write_mask(tmp_path / "masks" / "BL_L1.nii.gz", _disk(32, 32, 20.0, z=0))
    path = _case(tmp_path, [{"lesion": "L1", "timepoint": "BL", "status": "measured", "longest_diameter_mm": 20.0,
                             "geometry": {"mask": "masks/BL_L1.nii.gz"}}, FU1_ABSENT],
                 settings={"criteria": "RECIST1.1"})
    (warning,) = _warnings(path)
    assert warning.startswith("REC-M1 L1 at BL, the mask 'masks/BL_L1.nii.gz' reaches the edge of its image "
                              "(first slice)") and "its longest diameter may be too small" in warning


def test_abl_6_an_ablation_zone_cut_by_the_image_edge_says_the_gap_may_be_too_large(tmp_path: Path) -> None:
    _gap_case(tmp_path, 0.0, z=SHAPE[0] - 1)
    path = _gap_case(tmp_path, round(_mask_gap(tmp_path), 1), z=SHAPE[0] - 1)  # the number agrees
    abl6 = [w for w in _warnings(path) if w.startswith("ABL-6")]
    assert abl6 == ["ABL-6 N1 at FU1, the ablation zone mask 'masks/FU1_zone.nii.gz' reaches the edge of its image "
                    "(last slice): the zone may continue beyond what was imaged, so the gap measured to it may "
                    "be too large"]
