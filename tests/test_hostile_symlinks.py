"""Masks never leave the case folder through a symbolic link (issue 8, item 5): not on reading
(``validate`` / ``assess`` refuse, ``export seg`` refuses) and not on writing (the viewer's save
refuses before writing anything; the reporter saw six files rewritten outside the folder).

The read side of ``validate``/``assess``/``explain`` is in ``test_hostile_casefiles.py``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from mrecist_tool.dicom import Volume
from mrecist_tool.errors import DicomError, SaveError
from mrecist_tool.model import Timepoint
from mrecist_tool.safe_files import OutsideFolderError, is_inside, resolve_inside

GOOD = Path(__file__).parent / "malformed" / "valid" / "example.json"


def _outside_link(tmp_path: Path) -> tuple[Path, Path]:
    """``case/masks`` -> ``elsewhere`` (outside the case folder)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    (case_dir / "masks").symlink_to(elsewhere, target_is_directory=True)
    return case_dir, elsewhere


def test_resolve_inside_follows_links_of_folders_and_files_and_dotdot(tmp_path: Path) -> None:
    case_dir, elsewhere = _outside_link(tmp_path)
    with pytest.raises(OutsideFolderError, match="leads outside the folder"):
        resolve_inside(case_dir, "masks/new_file_not_yet_written.nii.gz")
    (case_dir / "inner").mkdir()
    (case_dir / "inner" / "link.nii.gz").symlink_to(elsewhere / "x.nii.gz")
    with pytest.raises(OutsideFolderError):
        resolve_inside(case_dir, "inner/link.nii.gz")
    with pytest.raises(OutsideFolderError):
        resolve_inside(case_dir, "inner/../../elsewhere/x.nii.gz")
    assert resolve_inside(case_dir, "inner/../ok.nii.gz") == case_dir / "inner/../ok.nii.gz"
    assert is_inside(case_dir, case_dir / "inner") and not is_inside(case_dir, elsewhere)


def test_the_viewer_save_refuses_to_write_masks_through_a_link_out_of_the_folder(tmp_path: Path) -> None:
    from napari_mrecist import _io
    from napari_mrecist._session import Session

    case_dir, elsewhere = _outside_link(tmp_path)
    session = Session.new("CRLM-T01", [Timepoint("BL", date(2021, 2, 25))], reader="reader-1")
    volume = Volume(np.zeros((4, 16, 16), np.int16), (2.0, 0.7, 0.7), (0.0, 0.0, 0.0), np.eye(3),
                    series_uid="1.2.3.4")
    session.add_lesion("target")
    session.measure_line("T1", "BL", (1, 2, 2), (1, 2, 12), volume)
    mask = np.zeros(volume.shape, bool)
    mask[1, 4:8, 4:8] = True
    session.set_mask("T1", "BL", "viable", mask, volume)
    case_path = case_dir / "CRLM-T01.json"
    with pytest.raises(SaveError, match="masks are written only inside the case file's folder"):
        _io.save_session(session, case_path)
    assert list(elsewhere.iterdir()) == []  # nothing written outside
    assert not case_path.exists()  # and no case file pointing at it


def test_export_seg_refuses_a_mask_through_a_link_out_of_the_folder(tmp_path: Path) -> None:
    from mrecist_tool.casefile import case_from_dict
    from mrecist_tool.exchange.dicom_seg import _mask_jobs

    case_dir, elsewhere = _outside_link(tmp_path)
    (elsewhere / "L1_BL.nii.gz").write_bytes(b"not read")
    data = json.loads(GOOD.read_text("utf-8"))
    data["observations"][0]["geometry"] = {"mask": "masks/L1_BL.nii.gz"}
    case = case_from_dict(data)  # built in Python: never went through the folder check
    import dataclasses

    case = dataclasses.replace(case, source=case_dir / "case.json")
    with pytest.raises(DicomError, match="leads outside the folder"):
        _mask_jobs(case, case.observations)
