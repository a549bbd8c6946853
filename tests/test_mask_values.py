"""Mask files must be binary before "inside" means anything (a silently wrong margin otherwise).

A DICOM label series stored with a rescale intercept of -1024 has no zero voxel; read as
"non-zero is inside" the whole box became the tumour and the margin came out 4.9 mm instead of
3.65 mm. Every reader of masks (the margin command, the image step of assess, SEG export, the
viewer) now accepts 0 outside and one value inside and refuses the rest with what it found.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mrecist_tool.cli.main import main
from mrecist_tool.geometry.mask_values import MaskValueError, binary_inside
from mrecist_tool.pipeline import assess_file, steps_for, table_text


def _ball(shape: tuple[int, int, int] = (9, 24, 24), r: float = 6.0) -> np.ndarray:
    zz, yy, xx = np.indices(shape)
    c = [(n - 1) / 2 for n in shape]
    return ((zz - c[0]) * 2.0) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= r * r


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.bool_])
def test_zero_and_one_value_is_the_mask_whatever_the_type(dtype: type) -> None:
    ball = _ball()
    assert np.array_equal(binary_inside(ball.astype(dtype)), ball)


@pytest.mark.parametrize("label", [1, 2, 255, -1, 0.5])
def test_any_single_label_is_inside(label: float) -> None:
    ball = _ball()
    assert np.array_equal(binary_inside(np.where(ball, label, 0)), ball)


def test_empty_mask_is_all_outside_and_a_full_mask_of_ones_is_all_inside() -> None:
    assert not binary_inside(np.zeros((3, 4, 5), np.uint8)).any()
    assert binary_inside(np.ones((3, 4, 5), np.uint8)).all()


def test_label_series_with_a_rescale_intercept_is_refused() -> None:
    stored = np.where(_ball(), 1, 0).astype(np.int16) - 1024  # what the pixel values become
    with pytest.raises(MaskValueError, match=r"no voxel is 0 \(values from -1024 to -1023\)"):
        binary_inside(stored)


def test_uniform_non_zero_other_than_one_is_refused() -> None:
    with pytest.raises(MaskValueError, match=r"no voxel is 0 \(every voxel is -1024\)"):
        binary_inside(np.full((3, 4, 5), -1024, np.int16))


@pytest.mark.parametrize("values", [(0, 1, 2), (0, 0.5, 1.0), (0, -1, 1)])
def test_multi_label_and_probability_maps_are_refused(values: tuple[float, ...]) -> None:
    array = np.array(values * 10, dtype=float).reshape(3, 10)
    with pytest.raises(MaskValueError, match="more than one non-zero value"):
        binary_inside(array)


def test_nan_is_refused() -> None:
    array = np.zeros((2, 3, 4), np.float32)
    array[1, 1, 1] = np.nan
    with pytest.raises(MaskValueError, match="NaN"):
        binary_inside(array)


@given(arrays(np.int16, (4, 5, 6), elements=st.integers(-3, 3)))
def test_accepted_means_exactly_zero_and_one_label(array: np.ndarray) -> None:
    nonzero = set(np.unique(array[array != 0]).tolist())
    try:
        inside = binary_inside(array)
    except MaskValueError:
        assert len(nonzero) > 1 or (0 not in array and set(np.unique(array).tolist()) != {1})
        return
    assert len(nonzero) <= 1
    assert np.array_equal(inside, array != 0)


# ---- every reader refuses it: the margin command, the image step of assess ----------------------

def _write(path: Path, array: np.ndarray, spacing: tuple[float, float, float] = (0.8, 0.8, 2.0)) -> Path:
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), True)
    return path


def test_margin_command_refuses_a_tumour_mask_without_background(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zone = _write(tmp_path / "zone.nii.gz", _ball(r=10.0).astype(np.uint8))
    tumour = _write(tmp_path / "tumour.nii.gz", _ball(r=4.0).astype(np.int16) - 1024)
    rc = main(["margin", "--tumour", str(tumour), "--zone", str(zone), "--registration", "none", "--json"])
    err = capsys.readouterr().err
    assert rc != 0
    assert str(tumour) in err and "no voxel is 0" in err


def test_assess_does_not_measure_a_multi_label_mask_and_says_why(tmp_path: Path) -> None:
    labels = _ball(r=8.0).astype(np.uint8) + _ball(r=4.0).astype(np.uint8)  # 0, 1 and 2
    _write(tmp_path / "masks" / "BL_L1.nii.gz", labels)
    doc = {
        "format": "mrecist-case", "version": 1, "subject": {"id": "MASK-VALUES"},
        "timepoints": [{"id": "BL", "date": "2021-01-04", "baseline": True},
                       {"id": "FU1", "date": "2021-03-01"}],
        "lesions": [{"id": "L1", "role": "target"}],
        "observations": [
            {"lesion": "L1", "timepoint": "BL", "status": "measured", "viable_diameter_mm": 12.8,
             "geometry": {"mask": "masks/BL_L1.nii.gz"}},
            {"lesion": "L1", "timepoint": "FU1", "status": "absent"},
        ],
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = assess_file(path, steps=steps_for(table_text), keep_assessment=True)
    assert not result.refused, result.problems
    assert result.assessment is not None
    messages = [w.message for w in result.assessment.warnings]
    assert any("masks/BL_L1.nii.gz" in m and "more than one non-zero value (1 and 2)" in m for m in messages), messages
