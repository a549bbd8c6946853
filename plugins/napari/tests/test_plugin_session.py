"""The pure session model (no Qt, no napari): edits, geometry, engine results, save and reopen."""

from __future__ import annotations

import json
import os
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from mrecist_tool.casefile import read_case
from mrecist_tool.dicom import Volume
from mrecist_tool.model import Timepoint
from mrecist_tool.rules import assess_case
from napari_mrecist import _io
from napari_mrecist._results import ablation_rows, timepoint_rows
from napari_mrecist._session import Session, SessionError


def _volume(shape=(10, 60, 60), spacing=(2.5, 0.7, 0.7), origin=(-40.0, -40.0, -100.0)) -> Volume:
    return Volume(np.zeros(shape, np.int16), spacing, origin, np.eye(3), series_uid="1.2.3.4")


def _session() -> Session:
    tps = [Timepoint("BL", date(2021, 2, 25)), Timepoint("FU1", date(2021, 4, 20)),
           Timepoint("FU2", date(2021, 7, 21))]
    return Session.new("CRLM-T01", tps, reader="reader-1")


def test_line_in_index_space_becomes_lps_and_length_in_mm() -> None:
    s, vol = _session(), _volume()
    s.add_lesion("target", site="segment VII")
    obs = s.measure_line("T1", "BL", (4, 10, 10), (4, 10, 50), vol)
    assert obs.status == "measured" and obs.viable_diameter_mm == Decimal("28.0")  # 40 px × 0.7 mm
    assert obs.geometry is not None and obs.geometry.series_uid == "1.2.3.4"
    (x0, y0, z0), (x1, _, _) = obs.geometry.line  # type: ignore[misc]
    assert (x0, y0, z0) == (Decimal("-33.00"), Decimal("-33.00"), Decimal("-90.00"))
    assert x1 == Decimal("-5.00")
    assert obs.reader == "reader-1" and obs.recorded_at and obs.recorded_at[-6] in "+-"


def test_diagonal_line_through_slices_uses_anisotropic_spacing() -> None:
    s, vol = _session(), _volume()
    s.add_lesion("target")
    obs = s.measure_line("T1", "BL", (0, 0, 0), (4, 0, 0), vol)  # 4 slices × 2.5 mm
    assert obs.viable_diameter_mm == Decimal("10.0")


def test_one_click_status_clears_the_diameter() -> None:
    s, vol = _session(), _volume()
    s.add_lesion("target")
    s.measure_line("T1", "FU1", (4, 10, 10), (4, 10, 30), vol)
    obs = s.set_status("T1", "FU1", "absent")
    assert obs.viable_diameter_mm is None and obs.geometry is not None  # evidence kept
    with pytest.raises(SessionError):
        s.set_status("T1", "FU1", "gone")


def test_target_limits_rec_b1_mr_b3() -> None:
    """REC-B1 / MR-B3: at most 2 targets per organ and 5 in all (default settings)."""
    s = _session()
    s.add_lesion("target")
    s.add_lesion("target")
    ok, why = s.can_add_target("liver")
    assert not ok and "per organ" in why
    s.add_lesion("target")  # allowed, but warned
    assert any("3 target lesions in liver" in w and "MR-B3" in w for w in s.target_limit_warnings())
    with pytest.raises(SessionError):
        s.add_lesion("target", enforce_limits=True)


def test_mask_gives_viable_diameter_mr_v1_and_gap_from_masks() -> None:
    """MR-V1: the diameter of a painted viable mask; the gap to the ablation zone from masks."""
    s, vol = _session(), _volume()
    s.add_lesion("target")
    viable = np.zeros(vol.shape, bool)
    viable[5, 10:20, 10:30] = True  # 20 columns → 19 × 0.7 between centres, Feret on the hull
    s.set_mask("T1", "FU2", "viable", viable, vol)
    obs = s.measure_mask("T1", "FU2", vol)
    assert obs.status == "measured" and Decimal("13") < obs.viable_diameter_mm < Decimal("16")  # type: ignore[operator]
    zone = np.zeros(vol.shape, bool)
    zone[5, 30:50, 10:30] = True  # 10 empty rows between them → 7 mm
    s.set_mask("T1", "FU2", "zone", zone, vol)
    obs = s.gap_from_masks("T1", "FU2")
    assert obs.gap_to_ablation_zone_mm == Decimal("7.0")
    s.set_mask("T1", "FU2", "viable", np.zeros(vol.shape, bool), vol)
    assert s.measure_mask("T1", "FU2", vol).status == "absent"


def _ltp_case(s: Session, vol: Volume) -> None:
    s.add_lesion("target", site="VII")
    s.add_lesion("non-target")
    s.measure_line("T1", "BL", (4, 10, 10), (4, 10, 45), vol)
    s.set_status("NT1", "BL", "present")
    s.add_procedure("ablation", date(2021, 3, 30), ["T1"], "MWA")
    s.set_status("T1", "FU1", "absent")
    s.set_status("NT1", "FU1", "present")
    s.set_measurement("T1", "FU2", 8)
    s.update_observation("T1", "FU2", gap_to_ablation_zone_mm=0)
    s.set_status("NT1", "FU2", "present")


def test_results_are_the_engines_abl_ltp() -> None:
    """The results rows are read from assess_case: FU1 CR target / PR overall; FU2 LTP → PD (ABL-9)."""
    s, vol = _session(), _volume()
    _ltp_case(s, vol)
    a = s.assessment()
    assert a == assess_case(s.to_case())
    rows = {r[0].text.split()[0]: [c.text for c in r] for r in timepoint_rows(a)}
    assert rows["FU1"][6] == "CR" and rows["FU1"][9] == "PR"
    assert rows["FU2"][6] == "PD" and rows["FU2"][9] == "PD"
    header, arows = ablation_rows(a)
    assert arows[0][header.index("FU2")].text == "ltp"
    assert "rules:" in timepoint_rows(a)[2][9].tooltip


def test_save_reopen_is_lossless_with_masks(tmp_path: Path) -> None:
    s, vol = _session(), _volume()
    _ltp_case(s, vol)
    zone = np.zeros(vol.shape, bool)
    zone[4:6, 20:40, 20:40] = True
    s.set_mask("T1", "FU2", "zone", zone, vol)
    case_path = tmp_path / "CRLM-T01.json"
    assert _io.save_session(s, case_path) == []
    assert (tmp_path / "masks" / "T1_FU2_zone.nii.gz").exists()
    s2, notes, _ = _io.open_session(case_path)
    assert notes == []
    assert s2.to_case() == s.to_case()
    assert assess_case(read_case(case_path)).timepoints == assess_case(s.to_case()).timepoints
    np.testing.assert_array_equal(s2.mask("T1", "FU2", "zone"), zone)
    # NIfTI keeps the grid in float32: equal to a micrometre.
    np.testing.assert_allclose(s2.masks[("T1", "FU2", "zone")].spacing, vol.spacing, atol=1e-5)
    np.testing.assert_allclose(s2.masks[("T1", "FU2", "zone")].origin, vol.origin, atol=1e-4)


def test_autosave_is_restored_and_removed_after_save(tmp_path: Path) -> None:
    s, vol = _session(), _volume()
    s.add_lesion("target")
    s.measure_line("T1", "BL", (4, 10, 10), (4, 10, 45), vol)
    case_path = tmp_path / "c.json"
    _io.save_session(s, case_path)
    s.set_status("T1", "FU1", "absent")  # not saved: only autosaved
    viable = np.zeros(vol.shape, bool)
    viable[4, 5:9, 5:9] = True
    s.set_mask("T1", "FU1", "viable", viable, vol)
    side = _io.write_autosave(s)
    assert side == tmp_path / "c.autosave.json"
    assert json.loads(case_path.read_text())["observations"][-1]["timepoint"] == "BL"  # untouched
    later = time.time() + 5
    os.utime(side, (later, later))
    s2, notes, _ = _io.open_session(case_path)
    assert any("restored" in n for n in notes)
    assert s2.observation("T1", "FU1").status == "absent"  # type: ignore[union-attr]
    np.testing.assert_array_equal(s2.mask("T1", "FU1"), viable)
    _io.save_session(s2, case_path)
    assert not side.exists() and not (tmp_path / "c.autosave-masks").exists()
    assert (tmp_path / "masks" / "T1_FU1_viable.nii.gz").exists()
    s3, notes, _ = _io.open_session(case_path)
    assert notes == [] and s3.to_case() == s2.to_case()


def test_each_autosave_writes_its_own_masks_and_links_the_unchanged_ones(tmp_path: Path) -> None:
    """An autosave's masks live in a folder of their own (g<n>), written before its side file;
    the previous folder goes once the side file names the new one.  A mask not changed since
    the last autosave is hard-linked, not written again (same file on disk)."""
    s, vol = _session(), _volume()
    s.add_lesion("target")
    s.measure_line("T1", "BL", (4, 10, 10), (4, 10, 45), vol)
    case_path = tmp_path / "c.json"
    _io.save_session(s, case_path)
    s.set_status("T1", "FU1", "absent")
    viable, zone = np.zeros(vol.shape, bool), np.zeros(vol.shape, bool)
    viable[4, 5:9, 5:9] = True
    zone[3:6, 20:40, 20:40] = True
    s.set_mask("T1", "FU1", "viable", viable, vol)
    s.set_mask("T1", "FU1", "zone", zone, vol)
    last = _io.AutosaveMasks()
    side = _io.write_autosave(s, last)
    root = tmp_path / "c.autosave-masks"
    geometry = json.loads(side.read_text())["observations"][-1]["geometry"]
    assert geometry["mask"] == "c.autosave-masks/g1/T1_FU1_viable.nii.gz"
    assert geometry["ablation_zone_mask"] == "c.autosave-masks/g1/T1_FU1_zone.nii.gz"
    zone_file = os.stat(root / "g1" / "T1_FU1_zone.nii.gz").st_ino

    viable[4, 5:12, 5:12] = True  # the reader paints on: the viable mask changes, the zone not
    s.set_mask("T1", "FU1", "viable", viable.copy(), vol)
    _io.write_autosave(s, last)
    geometry = json.loads(side.read_text())["observations"][-1]["geometry"]
    assert geometry["mask"] == "c.autosave-masks/g2/T1_FU1_viable.nii.gz"
    assert sorted(p.name for p in root.iterdir()) == ["g2"]
    assert os.stat(root / "g2" / "T1_FU1_zone.nii.gz").st_ino == zone_file  # linked, not rewritten
    later = time.time() + 5
    os.utime(side, (later, later))
    s2, notes, _ = _io.open_session(case_path)
    assert any("restored" in n for n in notes)
    np.testing.assert_array_equal(s2.mask("T1", "FU1", "viable"), viable)
    np.testing.assert_array_equal(s2.mask("T1", "FU1", "zone"), zone)


_CRASHING_AUTOSAVE = """
import os, signal, sys
from datetime import date
from pathlib import Path
import numpy as np
import mrecist_tool.casefile
from mrecist_tool.dicom import Volume
from mrecist_tool.model import Timepoint
from napari_mrecist import _io
from napari_mrecist._session import Session

folder = Path(sys.argv[1])
vol = Volume(np.zeros((10, 60, 60), np.int16), (2.5, 0.7, 0.7), (-40.0, -40.0, -100.0), np.eye(3), series_uid="1.2.3.4")
s = Session.new("CRLM-T01", [Timepoint("BL", date(2021, 2, 25)), Timepoint("FU1", date(2021, 4, 20))], reader="r")
s.add_lesion("target")
s.measure_line("T1", "BL", (4, 10, 10), (4, 10, 45), vol)
_io.save_session(s, folder / "c.json")
mask = np.zeros(vol.shape, bool)
mask[4, 5:9, 5:9] = True
s.set_status("T1", "FU1", "present")
s.set_mask("T1", "FU1", "viable", mask, vol)
last = _io.AutosaveMasks()
_io.write_autosave(s, last)  # state A: 16 voxels, present
bigger = mask.copy()
bigger[4, 5:20, 5:20] = True
s.set_mask("T1", "FU1", "viable", bigger, vol)  # state B: 225 voxels, absent
s.set_status("T1", "FU1", "absent")
real = mrecist_tool.casefile.write_case
def killed(*args, **kwargs):  # napari dies after B's masks are on disk, before its side file
    os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[2] == "autosave":
    mrecist_tool.casefile.write_case = killed
    _io.write_autosave(s, last)
else:  # a save, as the viewer saves: the autosave brought up to date first
    _io.write_autosave(s, last)
    mrecist_tool.casefile.write_case = killed
    _io.save_session(s, folder / "c.json")
"""


def test_a_crash_in_the_middle_of_an_autosave_restores_the_previous_one_whole(tmp_path: Path) -> None:
    """The process is killed (SIGKILL) after the new masks are written and before the side file
    is: reopening restores the previous autosave with *its* masks.  (Overwriting the masks in
    place restored the old measurements beside the new masks: a 225-voxel mask under a lesion
    recorded with 16.)"""
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", _CRASHING_AUTOSAVE, str(tmp_path), "autosave"],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr
    assert (tmp_path / "c.autosave-masks" / "g2" / "T1_FU1_viable.nii.gz").exists()  # B was on disk
    side = tmp_path / "c.autosave.json"
    later = time.time() + 5
    os.utime(side, (later, later))
    s, notes, _ = _io.open_session(tmp_path / "c.json")
    assert any("restored" in n for n in notes)
    assert s.observation("T1", "FU1").status == "present"  # type: ignore[union-attr]
    assert int(s.mask("T1", "FU1", "viable").sum()) == 16


def test_a_crash_in_the_middle_of_a_save_reopens_what_was_being_saved(tmp_path: Path) -> None:
    """Killed after the save wrote ``masks/`` and before the case file: the autosave written
    just before the save is newer than the case, so reopening gives the reading being saved
    (absent, 225 voxels), not the old case file."""
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", _CRASHING_AUTOSAVE, str(tmp_path), "save"],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr
    assert (tmp_path / "masks" / "T1_FU1_viable.nii.gz").exists()  # the save had begun
    assert read_case(tmp_path / "c.json").timepoints  # the old case file is whole
    s, notes, _ = _io.open_session(tmp_path / "c.json")
    assert any("restored" in n for n in notes)
    assert s.observation("T1", "FU1").status == "absent"  # type: ignore[union-attr]
    assert int(s.mask("T1", "FU1", "viable").sum()) == 225


def test_sample_cases_round_trip_same_assessment(tmp_path: Path) -> None:
    """Every hand-written sample case, opened in a session and saved again, means the same."""
    root = Path(__file__).resolve().parents[3] / "sample_data" / "cases"
    files = sorted(root.glob("*.json"))
    if not files:
        pytest.skip("no sample case files")
    for f in files:
        original = read_case(f)
        s, _, _ = _io.open_session(f, use_autosave=False)
        out = tmp_path / f.name
        _io.save_session(s, out)
        again = read_case(out)
        assert again == original, f.name
        assert assess_case(again).timepoints == assess_case(original).timepoints, f.name


def test_generated_sample_subjects_round_trip_with_masks(tmp_path: Path) -> None:
    """The generated subjects' ground-truth case files (with their masks), opened and saved
    again elsewhere, are the same cases with the same assessment; the masks are copied."""
    from mrecist_tool.sample import generate_studies

    result = generate_studies(os.environ["MRECIST_SAMPLE_DIR"], if_missing=True)
    assert result.case_files
    for f in result.case_files:
        original = read_case(f)
        s, notes, _ = _io.open_session(f, use_autosave=False)
        assert notes == [], notes
        out = tmp_path / f.parent.name / f.name
        out.parent.mkdir()
        _io.save_session(s, out)
        again = read_case(out)
        assert again == original, f.name
        assert assess_case(again).timepoints == assess_case(original).timepoints
        assert assess_case(again).ablations == assess_case(original).ablations
        for obs in again.observations:
            for rel in filter(None, (obs.geometry and obs.geometry.mask,
                                     obs.geometry and obs.geometry.ablation_zone_mask)):
                np.testing.assert_array_equal(_io.read_mask(out.parent / rel).array,
                                              _io.read_mask(f.parent / rel).array)


def _oblique_volume() -> Volume:
    """An empty series whose slices are tilted 30° about the x axis (series 1.2.3.9)."""
    a = np.radians(30.0)
    tilted = np.array([[1.0, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    return Volume(np.zeros((10, 60, 60), np.int16), (2.5, 0.7, 0.7), (-40.0, -40.0, -100.0), tilted,
                  series_uid="1.2.3.9")


def test_mask_on_an_oblique_series_is_refused_with_a_located_message_not_measured() -> None:
    """In-plane diameters of an oblique (or coronal) series would come from the wrong plane: the
    session refuses, naming lesion, timepoint, series and orientation; the mask, the record and
    the 3-D gap are untouched."""
    from napari_mrecist._session import NonAxialSeries

    vol = _oblique_volume()
    s = _session()
    s.add_lesion("target")
    viable = np.zeros(vol.shape, bool)
    viable[5, 10:20, 10:30] = True
    s.set_mask("T1", "FU2", "viable", viable, vol)
    before = s.observation("T1", "FU2")
    with pytest.raises(NonAxialSeries) as err:
        s.measure_mask("T1", "FU2", vol)
    msg = str(err.value)
    assert msg.startswith("T1 at FU2: the viable diameter was not taken from the mask (series 1.2.3.9)")
    assert "the slices are oblique" in msg and "wrong plane" in msg
    assert s.observation("T1", "FU2") == before and s.mask("T1", "FU2") is not None
    zone = np.zeros(vol.shape, bool)
    zone[5, 30:50, 10:30] = True
    s.set_mask("T1", "FU2", "zone", zone, vol)
    assert s.gap_from_masks("T1", "FU2").gap_to_ablation_zone_mm == Decimal("7.0")  # 3-D: any orientation


def test_line_on_an_oblique_series_is_refused_with_a_located_message_not_measured() -> None:
    """A line drawn on an oblique series is a length in the wrong plane: refused like a mask,
    naming lesion, timepoint, series and orientation; nothing is recorded."""
    from napari_mrecist._session import NonAxialSeries

    vol = _oblique_volume()
    s = _session()
    s.add_lesion("target")
    with pytest.raises(NonAxialSeries) as err:
        s.measure_line("T1", "FU2", (5, 10, 10), (5, 10, 40), vol)
    msg = str(err.value)
    assert msg.startswith("T1 at FU2: the line was not kept and no viable diameter was recorded (series 1.2.3.9)")
    assert "the slices are oblique" in msg and "wrong plane" in msg
    assert s.observation("T1", "FU2") is None and s.line_lps("T1", "FU2") is None


def test_positions_kept_in_the_config_are_salted_and_bounded(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Where the reader was in a reading: found again by the reading's path, named by no path
    (subject folders may carry identifiers), and only the latest readings kept."""
    import json

    from napari_mrecist import _config

    reading = tmp_path / "readings" / "dr-a" / "Doe-John-123.json"
    assert _config.remembered_position(reading) == (None, None, None)
    _config.remember_position(reading, "FU2", "T1", "2026-12-03T17:00:00+00:00")
    assert _config.remembered_position(reading) == ("FU2", "T1", "2026-12-03T17:00:00+00:00")
    assert "Doe" not in (_config.config_dir() / _config.CONFIG_NAME).read_text()
    monkeypatch.setattr(_config, "POSITIONS_KEPT", 3)
    for k in range(4):
        _config.remember_position(tmp_path / f"r{k}.json", "BL", None, f"2026-12-03T18:0{k}:00+00:00")
    kept = json.loads((_config.config_dir() / _config.CONFIG_NAME).read_text())["positions"]
    assert len(kept) == 3 and _config.remembered_position(reading) == (None, None, None)  # the oldest went
