"""Privacy in every output (issue 12 item 6).

A generated subject's studies are turned into a realistic hospital export: the patient's names,
IDs, birth date, other dates, descriptions, comments, physicians, institution, private tags and
the export's folder names all carry identifiers (:mod:`privacy_corpus`).  Every output of
``scan``, ``validate``, ``assess``, ``explain``, ``analyze``, ``export sdtm|sr|seg`` and
``import sr`` -- what they print, every file they write and every log record emitted meanwhile
(at DEBUG level) -- is searched for them.  Positive controls show the search finds them where a
user asked for them (``--show-identity --show-descriptions``, ``--keep-patient-identity``).
The PACS commands are searched in ``test_exchange_pacs.py`` with the same corpus.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from privacy_corpus import FOLDER, SECRETS, found_in, plant_export

from mrecist_tool.casefile import read_case, write_case
from mrecist_tool.cli.main import main
from mrecist_tool.dicom import scan, studies_to_timepoints


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory, generated_subject: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("privacy")
    generated = generated_subject
    export = root / "export"
    patient = plant_export(generated.parent / "dicom", export, burned_in_series="ART")
    # The trial's case file, made the way the viewer makes one from a DICOM folder (timepoints
    # from the scanned studies), with the sample reader's lesions, observations and masks.
    trial = root / "trial"
    shutil.copytree(generated.parent / "masks", trial / "masks")
    case = read_case(generated)
    timepoints = studies_to_timepoints(scan(export))
    assert [(t.id, t.date) for t in timepoints] == [(t.id, t.date) for t in case.sorted_timepoints()]
    case_file = trial / generated.name
    write_case(dataclasses.replace(case, timepoints=tuple(timepoints)), case_file)
    return {"root": root, "export": export, "patient": patient, "case": case_file}


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every log record of every library, at DEBUG level, while the commands run."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str], outputs: dict[str, str | bytes],
         expect: int = 0) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code == expect, f"mrecist {' '.join(argv)} exited {code}:\n{text}"
    outputs[f"mrecist {' '.join(argv)} (printed, run {len(outputs)})"] = text
    return text


def _files(folder: Path, outputs: dict[str, str | bytes]) -> None:
    for path in sorted(folder.rglob("*")):
        outputs[f"{path.relative_to(folder.parent)} (name)"] = path.name
        if path.is_file():
            outputs[str(path.relative_to(folder.parent))] = path.read_bytes()


def test_the_corpus_carries_the_identifiers(hospital: dict[str, Any]) -> None:
    first = next(hospital["patient"].rglob("*.dcm"))
    planted = found_in(first.read_bytes())
    assert {"MCALLISTER", "MRN4471923", "19520317", "20201111", "19990909", "ACC77310442"} <= set(planted)


def test_no_identifier_in_any_output(
    hospital: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    debug_log: io.StringIO,
) -> None:
    export, case = str(hospital["export"]), str(hospital["case"])
    out = tmp_path / "out"
    outputs: dict[str, str | bytes] = {}
    listing = _run(["scan", export], capsys, outputs)
    _run(["scan", export, "--json"], capsys, outputs)
    _run(["validate", case], capsys, outputs)
    _run(["assess", case, "--out", str(out / "results"), "--print", "always"], capsys, outputs)
    _run(["explain", case, "--timepoint", "FU1"], capsys, outputs)
    _run(["analyze", str(out / "results"), "--out", str(out / "report"), "--jobs", "1"], capsys, outputs)
    _run(["export", "sdtm", case, "--out", str(out / "sdtm"), "--studyid", "NCT04562727"], capsys, outputs)
    seg, sr = out / "dicom" / "fu1_seg.dcm", out / "dicom" / "fu1_sr.dcm"
    _run(["export", "seg", case, "--timepoint", "FU1", "--dicom", export, "--out", str(seg)], capsys, outputs)
    _run(["export", "sr", case, "--timepoint", "FU1", "--dicom", export, "--seg", str(seg),
          "--out", str(sr)], capsys, outputs)
    _run(["import", "sr", str(sr), "--subject", "SYN-001", "--out", str(out / "imported.json")],
         capsys, outputs)
    outputs["case file"] = Path(case).read_bytes()
    _files(out, outputs)
    outputs["log records (DEBUG)"] = debug_log.getvalue()

    leaks = {name: found_in(data) for name, data in outputs.items()}
    leaks = {name: found for name, found in leaks.items() if found}
    assert not leaks, "identifiers found in outputs:\n" + "\n".join(f"  {k}: {v}" for k, v in leaks.items())
    assert len([k for k in outputs if k.endswith(".csv")]) >= 7  # assess, analyze and SDTM tables

    # Burned-in annotation is flagged; descriptions are hidden, not lost.
    assert "BURNED-IN ANNOTATION" in listing and "series with burned-in annotation" in listing
    assert "(hidden)" in listing and "--show-descriptions" in listing
    # The derived objects carry the case's subject id as the patient.
    for path in (seg, sr):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert (str(ds.PatientID), str(ds.PatientName)) == ("SYN-001", "SYN-001^")
        assert ds.PatientBirthDate == "" and ds.AccessionNumber == "" and ds.PatientIdentityRemoved == "YES"
        assert "StudyDescription" not in ds and "PatientAge" not in ds and not any(e.tag.is_private for e in ds)
        assert ds.StudyDate  # the study date stays: the case timeline needs it


def test_identity_and_descriptions_appear_only_when_asked(
    hospital: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    export, case = str(hospital["export"]), str(hospital["case"])
    outputs: dict[str, str | bytes] = {}
    shown = _run(["scan", export, "--show-identity", "--show-descriptions"], capsys, outputs)
    assert {"MCALLISTER", "MRN4471923", "19520317", "EUGENIA"} <= set(found_in(shown))
    assert FOLDER in shown and "README_MCALLISTER.txt" in shown
    sr = tmp_path / "sr.dcm"
    _run(["export", "sr", case, "--timepoint", "BL", "--dicom", export, "--out", str(sr),
          "--keep-patient-identity"], capsys, outputs)
    ds = pydicom.dcmread(sr)
    assert (str(ds.PatientID), ds.PatientBirthDate, ds.AccessionNumber) == ("MRN4471923", "19520317", "ACC77310442")
    assert "MCALLISTER" in str(ds.PatientName)
    assert set(SECRETS) & set(found_in(sr.read_bytes()))


def test_pull_and_push_print_and_log_no_identifier(
    orthanc: Any, hospital: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    debug_log: io.StringIO, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from orthanc_server import AET, OUR_AET, PASSWORD, USER
    from privacy_corpus import with_new_uids

    # The planted studies under UIDs of their own: the session's PACS holds the originals too.
    export = with_new_uids(hospital["export"], tmp_path / "export", studies=1)
    monkeypatch.setenv("PRIVACY_PACS_PASSWORD", PASSWORD)
    monkeypatch.setenv("MRECIST_PATIENT_ID", "MRN4471923")
    web = ["--url", orthanc.dicomweb, "--user", USER, "--password-env", "PRIVACY_PACS_PASSWORD"]
    dimse = ["--dimse", f"127.0.0.1:{orthanc.dicom_port}", "--called-aet", AET, "--aet", OUR_AET]
    outputs: dict[str, str | bytes] = {}
    _run(["push", *web, str(export)], capsys, outputs)
    pulled = tmp_path / "pulled"
    _run(["pull", *web, "--out", str(pulled / "web")], capsys, outputs)
    _run(["pull", *dimse, "--out", str(pulled / "dimse")], capsys, outputs)
    some = sorted((pulled / "dimse").rglob("*.dcm"))[:3]
    _run(["push", *dimse, *map(str, some)], capsys, outputs)
    monkeypatch.setenv("MRECIST_PATIENT_ID", "MRN4471924")  # nobody: the refusal is clean too
    _run(["pull", *dimse, "--out", str(pulled / "nobody")], capsys, outputs, expect=1)
    for path in sorted(pulled.rglob("*")):
        outputs[f"{path.relative_to(tmp_path)} (name)"] = path.name
    outputs["log records (DEBUG)"] = debug_log.getvalue()
    assert len(list((pulled / "dimse").rglob("*.dcm"))) == len(list(export.rglob("*.dcm")))
    # The libraries did log the queries, with the patient ID replaced.
    assert "<identifier>" in debug_log.getvalue()

    leaks = {name: found for name, data in outputs.items() if (found := found_in(data))}
    assert not leaks, "identifiers found in outputs:\n" + "\n".join(f"  {k}: {v}" for k, v in leaks.items())
