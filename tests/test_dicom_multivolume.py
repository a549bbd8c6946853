"""A series holding several volumes (dynamic contrast MR: every temporal position in one series)
is refused as a whole, listed part by part by scan, and each part loads on request."""

from __future__ import annotations

import numpy as np
import pytest

from mrecist_tool.dicom import read_series, scan
from mrecist_tool.dicom.testing import write_series
from mrecist_tool.errors import DicomError

TIMES = {1: "101450", 2: "101530", 3: "101610"}  # injection at 10:15:00 → -10 s, 30 s, 70 s


@pytest.fixture
def dce(tmp_path):
    series_uid = study_uid = None
    written = {}
    for t, acquired in TIMES.items():
        w = write_series(
            tmp_path, n_slices=4, spacing=3.0, modality="MR", description="T1 VIBE dynamic",
            series_uid=series_uid, study_uid=study_uid, prefix=f"T{t}_", seed=t, intercept=0,
            extra={"TemporalPositionIdentifier": t, "AcquisitionTime": acquired,
                   "ContrastBolusAgent": "Dotarem", "ContrastBolusStartTime": "101500"},
        )
        series_uid, study_uid = w.series_uid, w.study_uid
        written[t] = w
    return tmp_path, written


def test_whole_series_is_refused_and_names_the_parts(dce):
    folder, _ = dce
    with pytest.raises(DicomError) as err:
        read_series(folder)
    text = str(err.value)
    assert "duplicate slice position" in text and "Temporal Position Identifier" in text
    assert "temporal=1 (4 files)" in text and "temporal=3" in text


def test_scan_lists_each_temporal_position_with_its_phase_from_timing(dce):
    folder, _ = dce
    info = scan(folder).series[0]
    assert info.kind == "multi-volume" and not info.loadable
    assert [p.part for p in info.parts] == ["temporal=1", "temporal=2", "temporal=3"]
    assert [p.phase for p in info.parts] == ["non-contrast", "arterial", "portal-venous"]
    assert all(p.loadable and p.n_slices == 4 for p in info.parts)
    assert info.parts[0].spacing == pytest.approx((3.0, 0.75, 0.5))


def test_each_part_loads_with_its_own_values(dce):
    folder, written = dce
    vol = read_series(folder, part="temporal=2")
    assert vol.shape == (4, 32, 32) and vol.phase == "arterial"
    assert vol.extra["part"] == "temporal=2"
    files = [str(f) for f in written[2].files]
    for k, f in enumerate(vol.extra["files"]):
        np.testing.assert_array_equal(vol.array[k], written[2].arrays[files.index(f)])
    with pytest.raises(DicomError, match="no files with Temporal Position Identifier 9"):
        read_series(folder, part="temporal=9")
    with pytest.raises(DicomError, match="is not one of"):
        read_series(folder, part="phase=2")


def test_timepoint_lists_each_dynamic_volume_with_its_phase(dce):
    from mrecist_tool.dicom import studies_to_timepoints

    folder, _ = dce
    (tp,) = studies_to_timepoints(scan(folder))
    assert tp.phases == frozenset({"non-contrast", "arterial", "portal-venous"})
    parts = [s.extra["part"] for s in tp.series or ()]
    assert parts == ["temporal=1", "temporal=2", "temporal=3"]
