"""Work survives ``kill -9``: a real napari process (under the same Xvfb) reads, is killed in the
middle of an edit, and the reading reopens exactly as it was at its last autosave.

* Defect 1: a reading begun from a DICOM folder used to be autosaved under a pseudonym salted
  afresh at every launch, so after a crash it reopened empty.  Its name is now a hash of the
  patient and studies with a per-installation salt.
* The scripted full read of issue 11: open DICOM folder → measure → zone → LTP focus → new
  lesion → save → kill -9 mid-edit → reopen → the same assessment and masks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from napari_mrecist import assessment_widget

pytestmark = pytest.mark.gui
CHILD = Path(__file__).with_name("_child_read.py")


def _read_until_killed(mode: str, folder: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, str(CHILD), mode, str(folder), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 180
        while not (out / "ready").exists():
            if proc.poll() is not None:
                raise AssertionError(f"the reading process ended early:\n{proc.stdout.read().decode()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("the reading process did not get ready in time")
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)  # mid-edit: the brush is down
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return json.loads((out / "expected.json").read_text())


def _state(w) -> dict:  # type: ignore[no-untyped-def]
    from _child_read import mask_digest

    return {
        "categories": w.result_categories(),
        "observations": {f"{o.lesion}/{o.timepoint}": [o.status, str(o.viable_diameter_mm),
                                                       str(o.gap_to_ablation_zone_mm), o.reader]
                         for o in w.session.observations.values()},
        "masks": mask_digest(w.session),
    }


def test_defect1_a_reading_from_dicom_is_restored_after_kill_9(make_napari_viewer, case_dir: Path, tmp_path: Path,
                                                               notifications) -> None:
    expected = _read_until_killed("autosave", case_dir / "dicom", tmp_path / "run")
    w = assessment_widget(make_napari_viewer())
    assert w.open_dicom(case_dir / "dicom")  # a new process, a new launch
    assert w.session.subject.id == expected["subject"]
    assert _state(w)["observations"] == expected["observations"]
    assert w.session.observation("T1", "BL").status == "present"
    assert any("restored" in str(n.message) for n in notifications)


def test_full_read_killed_mid_edit_reopens_as_it_was(make_napari_viewer, case_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    expected = _read_until_killed("full", case_dir / "dicom", out)
    assert expected["autosave_after_s"] < 2.5  # the autosave follows an edit within ~1.5 s
    assert set(expected["observations"]) >= {"T1/BL", "T1/FU1", "T1/FU2", "N1/FU2", "N2/FU2"}
    assert expected["categories"]["FU2"]["overall"] == "PD"
    w = assessment_widget(make_napari_viewer())
    assert w.open_case(out / "case.json")
    state = _state(w)
    assert state["observations"] == expected["observations"]
    assert state["masks"] == expected["masks"]
    assert state["categories"] == expected["categories"]
    assert w.session.observation("T1", "FU2").status == "too-small"  # the autosaved edit is back
