"""SR import never corrupts a case (issue 12 item 2, issue 8 item 12).

The hostile SR set: malformed NumericValue (``abc``, ``NaN``, ``Inf``, empty, ``1e400``,
negative), a wrong template, a duplicated measurement group, a tracking-UID collision and a
report that would change a recorded measurement.  Each bad file is refused on its own with its
name and the content item of the problem, the good files beside it are still imported, the
case is untouched by the refused file, and nothing ends in a traceback.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom import config as pydicom_config
from test_exchange_dicom import study  # noqa: F401  (module-scoped fixture reused)

from mrecist_tool.casefile import read_case
from mrecist_tool.cli.main import main
from mrecist_tool.exchange import codes as K
from mrecist_tool.exchange.dicom_sr import write_sr
from mrecist_tool.exchange.sr_import import SRImportError, read_sr


@pytest.fixture(scope="module")
def srs(study: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # noqa: F811
    folder = tmp_path_factory.mktemp("srs")
    case = read_case(study["case_path"])
    out = {}
    for tp in ("BL", "FU1"):
        out[tp] = folder / f"{tp}.dcm"
        write_sr(case, tp, study["dicom"], out[tp])
    return out


def _groups(ds: Any) -> list[Any]:
    container = next(i for i in ds.ContentSequence
                     if i.ConceptNameCodeSequence[0].CodeValue == K.IMAGING_MEASUREMENTS.value)
    return list(container.ContentSequence)


def _tracking(group: Any, code: str) -> Any:
    return next(i for i in group.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == code)


def _group_of(ds: Any, lesion: str) -> Any:
    return next(g for g in _groups(ds) if _tracking(g, K.TRACKING_IDENTIFIER.value).TextValue == lesion)


def _num(group: Any, concept: K.Concept) -> Any:
    return next(i for i in group.ContentSequence if i.ValueType == "NUM"
                and i.ConceptNameCodeSequence[0].CodeValue == concept.value)


def mutated(src: Path, dst: Path, change: Callable[[Any], None]) -> Path:
    """A copy of ``src`` with ``change`` applied, saved without pydicom's value checks (the
    point is to write values pydicom would refuse)."""
    old_r, old_w = pydicom_config.settings.reading_validation_mode, pydicom_config.settings.writing_validation_mode
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
    pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE
    try:
        ds = pydicom.dcmread(src)
        change(ds)
        ds.save_as(dst)
    finally:
        pydicom_config.settings.reading_validation_mode = old_r
        pydicom_config.settings.writing_validation_mode = old_w
    return dst


def with_numeric_value(src: Path, dst: Path, old: str, new: str) -> Path:
    """A copy of ``src`` whose NumericValue ``old`` reads ``new``, patched in the file's bytes
    (pydicom cannot hold ``abc`` in a DS element; a file can).  pydicom writes sequences and
    items with undefined length, so only the element's own length changes."""
    import struct

    def element(text: str) -> bytes:
        value = text.encode("ascii")
        value += b" " * (len(value) % 2)
        return b"\x40\x00\x0a\xa3DS" + struct.pack("<H", len(value)) + value

    data = src.read_bytes()
    assert data.count(element(old)) == 1, "the value to patch must occur once"
    dst.write_bytes(data.replace(element(old), element(new)))
    return dst


BAD_VALUES = {
    "abc": "is not a number",
    "NaN": "is not a number",
    "Inf": "is not a number",
    "  ": "NumericValue is empty",  # (padding only: an empty DS value)
    "1e400": "not a plausible lesion length",
    "-5": "is negative",
}


@pytest.mark.parametrize("text", list(BAD_VALUES))
def test_a_malformed_numeric_value_refuses_that_file_only(
    text: str, srs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = with_numeric_value(srs["FU1"], tmp_path / "bad.dcm", "12.3", text)
    with pytest.raises(SRImportError) as info:
        read_sr(bad)
    assert str(bad) in str(info.value) and BAD_VALUES[text] in str(info.value)
    out = tmp_path / "new.json"
    code = main(["import", "sr", str(srs["BL"]), str(bad), "--subject", "CRLM-0007", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and "internal error" not in err
    # The file, the content item and the problem, on one line.
    lines = [line for line in err.splitlines() if line.startswith(f"{bad}: content item 1.")]
    assert lines and BAD_VALUES[text] in lines[0] and "Viable tumor longest diameter" in lines[0]
    assert f"{bad}: refused" in err
    imported = read_case(out)  # the good file is imported
    assert [t.id for t in imported.timepoints] == ["BL"]


def test_bad_files_in_a_batch_never_stop_it(srs: dict[str, Path], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    files = [with_numeric_value(srs["FU1"], tmp_path / f"bad{i}.dcm", "12.3", t) for i, t in enumerate(BAD_VALUES)]
    out = tmp_path / "new.json"
    code = main(["import", "sr", *map(str, files), str(srs["BL"]), str(srs["FU1"]),
                 "--subject", "CRLM-0007", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert all(f"{f}: refused" in err for f in files)
    assert [t.id for t in read_case(out).timepoints] == ["BL", "FU1"]


def test_a_report_of_another_template_is_refused(srs: dict[str, Path], tmp_path: Path) -> None:
    def change(ds: Any) -> None:
        ds.ContentTemplateSequence[0].TemplateIdentifier = "2000"
        ds.ConceptNameCodeSequence[0].CodeValue = "18748-4"
        ds.ConceptNameCodeSequence[0].CodingSchemeDesignator = "LN"
        ds.ConceptNameCodeSequence[0].CodeMeaning = "Diagnostic Imaging Report"

    bad = mutated(srs["FU1"], tmp_path / "other.dcm", change)
    with pytest.raises(SRImportError, match=r"content item 1: not a TID 1500 Measurement Report"):
        read_sr(bad)


def test_a_duplicated_group_is_refused_unless_conflicts_are_accepted(
    study: dict[str, Any], srs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    def change(ds: Any) -> None:
        container = next(i for i in ds.ContentSequence
                         if i.ConceptNameCodeSequence[0].CodeValue == K.IMAGING_MEASUREMENTS.value)
        twin = copy.deepcopy(_group_of(ds, "N1"))
        _num(twin, K.SHORT_AXIS).MeasuredValueSequence[0].NumericValue = "11"
        container.ContentSequence.append(twin)

    bad = mutated(srs["FU1"], tmp_path / "dup.dcm", change)
    with pytest.raises(SRImportError, match=r"duplicate group: the short axis of this lesion is already given"):
        read_sr(bad)
    out = tmp_path / "new.json"
    assert main(["import", "sr", str(bad), "--subject", "CRLM-0007", "--out", str(out)]) == 1
    assert "duplicate group" in capsys.readouterr().err and not out.exists()


def test_a_tracking_uid_collision_is_refused_and_the_case_left_as_it_was(
    study: dict[str, Any], srs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    def change(ds: Any) -> None:
        l1_uid = _tracking(_group_of(ds, "L1"), K.TRACKING_UID.value).UID
        _tracking(_group_of(ds, "L2"), K.TRACKING_UID.value).UID = l1_uid

    bad = mutated(srs["FU1"], tmp_path / "collide.dcm", change)
    case_dir = tmp_path / "case"
    shutil.copytree(study["case_path"].parent, case_dir)
    case_file = case_dir / study["case_path"].name
    before = case_file.read_bytes()
    code = main(["import", "sr", str(bad), "--case", str(case_file), "--in-place"])
    err = capsys.readouterr().err
    assert code == 1
    assert "(L2): tracking UID collision: measurement group 1.11.1+1.11.2 has the same tracking UID but the tracking identifier 'L1'" in err
    assert case_file.read_bytes() == before
    assert not list(case_dir.glob(".*.tmp"))


def test_a_changed_measurement_is_refused_unless_conflicts_are_accepted(
    study: dict[str, Any], srs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    changed = with_numeric_value(srs["FU1"], tmp_path / "changed.dcm", "12.3", "13.0")
    case_dir = tmp_path / "case"
    shutil.copytree(study["case_path"].parent, case_dir)
    case_file = case_dir / study["case_path"].name
    before = case_file.read_bytes()
    assert main(["import", "sr", str(changed), "--case", str(case_file), "--in-place"]) == 1
    err = capsys.readouterr().err
    assert "would change the recorded observation of L1 at FU1 (viable_diameter_mm 12.3 -> 13.0)" in err
    assert case_file.read_bytes() == before
    assert main(["import", "sr", str(changed), "--case", str(case_file), "--in-place",
                 "--accept-conflicts"]) == 0
    assert "replaced (--accept-conflicts)" in capsys.readouterr().err
    obs = read_case(case_file).observation_index()[("L1", "FU1")]
    assert str(obs.viable_diameter_mm) == "13.0"


def test_not_a_regular_file_and_not_dicom_are_refused_with_the_name(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    with pytest.raises(SRImportError, match=r"pipe\.dcm: a named pipe \(FIFO\), not a regular file"):
        read_sr(fifo)
    text = tmp_path / "notes.dcm"
    text.write_text(json.dumps({"not": "dicom"}))
    with pytest.raises(SRImportError, match=r"notes\.dcm: not a DICOM file"):
        read_sr(text)
