"""A real PACS (Orthanc on loopback) over DICOMweb and DIMSE: pull, assess, push, query back
(issue 12 item 4).

One Orthanc serves the session (``conftest.orthanc``); the tests of a PACS killed mid-transfer
start their own.  The subject is pulled by patient ID, a case is built on the pulled studies the
way the viewer builds one (timepoints from the scanned studies), ``mrecist assess`` runs on it
and must give the tables of the original case; SR and SEG exported from the pulled images are
pushed and read back from the PACS.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
import socket
import threading
from pathlib import Path
from typing import Any

import pydicom
import pytest
from orthanc_server import AET, OUR_AET, PASSWORD, USER, Orthanc, free_port, start

from mrecist_tool.casefile import read_case, write_case
from mrecist_tool.cli.main import main
from mrecist_tool.dicom import scan, studies_to_timepoints
from mrecist_tool.exchange.dimse import DimsePacs
from mrecist_tool.exchange.pacs import Pacs, PacsError, open_subject_from_pacs, pull, push
from mrecist_tool.exchange.sr_import import read_sr

PASSWORD_ENV = "MRECIST_TEST_PACS_PASSWORD"
TABLES = ("timepoints.csv", "lesions.csv", "subjects.csv", "ablations.csv")


def _patient_id(folder: Path) -> str:
    first = next(p for p in sorted(folder.rglob("*.dcm")))
    return str(pydicom.dcmread(first, stop_before_pixels=True).PatientID)


def _web(server: Orthanc, **kw: Any) -> Pacs:
    return Pacs(url=server.dicomweb, username=USER, password_env=PASSWORD_ENV, **kw)


def _dimse(server: Orthanc, **kw: Any) -> DimsePacs:
    return DimsePacs(host="127.0.0.1", port=server.dicom_port, called_aet=AET, calling_aet=OUR_AET, **kw)


def _web_args(server: Orthanc) -> list[str]:
    return ["--url", server.dicomweb, "--user", USER, "--password-env", PASSWORD_ENV]


def _dimse_args(server: Orthanc) -> list[str]:
    return ["--dimse", f"127.0.0.1:{server.dicom_port}", "--called-aet", AET, "--aet", OUR_AET]


@pytest.fixture
def in_pacs(pacs_subject: dict[str, Any]) -> dict[str, Any]:
    """The hospital's PACS holds the generated subject's studies."""
    return pacs_subject


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def case_on(pulled: Path, original: Path, folder: Path) -> Path:
    """The original case re-built on a pulled folder: timepoints from the scanned studies (as
    the viewer makes them), the reader's lesions, observations and masks."""
    case = read_case(original)
    timepoints = studies_to_timepoints(scan(pulled))
    assert [(t.id, t.date, t.study_uid) for t in timepoints] == [
        (t.id, t.date, t.study_uid) for t in case.sorted_timepoints()]
    folder.mkdir(parents=True)
    shutil.copytree(original.parent / "masks", folder / "masks")
    target = folder / original.name
    write_case(dataclasses.replace(case, timepoints=tuple(timepoints)), target)
    return target


def _tables(folder: Path) -> dict[str, list[dict[str, str]]]:
    out = {}
    for name in TABLES:
        with open(folder / name, newline="", encoding="utf-8") as fh:
            out[name] = [{k: v for k, v in row.items() if k not in ("file", "source")} for row in csv.DictReader(fh)]
    return out


def _assess_like_the_original(case: Path, original: Path, out: Path) -> None:
    assert main(["assess", str(case), "--out", str(out / "pulled"), "--print", "never"]) == 0
    assert main(["assess", str(original), "--out", str(out / "original"), "--print", "never"]) == 0
    assert _tables(out / "pulled") == _tables(out / "original")


def _sop_uids(folder: Path) -> set[str]:
    return {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in folder.rglob("*.dcm")}


def _check_pulled(pulled: Path, in_pacs: dict[str, Any], printed: str) -> None:
    """Every image of the subject arrived; anything else is an SR or SEG another test stored."""
    got = {str(ds.SOPInstanceUID): str(ds.Modality) for ds in
           (pydicom.dcmread(p, stop_before_pixels=True) for p in pulled.rglob("*.dcm"))}
    originals = _sop_uids(in_pacs["dicom"])
    assert originals <= set(got)
    assert {m for uid, m in got.items() if uid not in originals} <= {"SR", "SEG"}
    assert f"{len(got)} instances" in printed and in_pacs["patient_id"] not in printed


def _check_sr_values(path: Path, case_file: Path, tp: str) -> None:
    case = read_case(case_file)
    by_lesion = {g.tracking_id: g for g in read_sr(path).groups}
    observed = [o for o in case.observations if o.timepoint == tp]
    assert observed
    for obs in observed:
        assert by_lesion[obs.lesion].viable_mm == obs.viable_diameter_mm
        assert by_lesion[obs.lesion].status == obs.status


def test_dicomweb_pull_assess_push_and_query_back(
    orthanc: Orthanc, in_pacs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    patient_id = in_pacs["patient_id"]
    monkeypatch.setenv("MRECIST_PATIENT_ID", patient_id)
    pulled = tmp_path / "pulled"
    assert main(["pull", *_web_args(orthanc), "--out", str(pulled)]) == 0
    _check_pulled(pulled, in_pacs, capsys.readouterr().err)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left

    # A case on the pulled subject assesses exactly as the original.
    case = case_on(pulled, in_pacs["case"], tmp_path / "case")
    _assess_like_the_original(case, in_pacs["case"], tmp_path / "results")

    # SR and SEG from the pulled images, for the hospital PACS (its patient identity kept).
    tp = "BL"
    seg_file, sr_file = tmp_path / "out" / "seg.dcm", tmp_path / "out" / "sr.dcm"
    assert main(["export", "seg", str(case), "--timepoint", tp, "--dicom", str(pulled),
                 "--keep-patient-identity", "--out", str(seg_file)]) == 0
    assert main(["export", "sr", str(case), "--timepoint", tp, "--dicom", str(pulled), "--seg", str(seg_file),
                 "--keep-patient-identity", "--out", str(sr_file)]) == 0
    assert main(["push", *_web_args(orthanc), str(sr_file), str(seg_file)]) == 0
    capsys.readouterr()

    # Query them back (QIDO by study, then modality) and compare the values with the case.
    client = _web(orthanc).client()
    study = str(pydicom.dcmread(sr_file, stop_before_pixels=True).StudyInstanceUID)
    modalities: dict[str, list[str]] = {}
    for item in client.search_for_series(study_instance_uid=study):
        modalities.setdefault(item["00080060"]["Value"][0], []).append(item["0020000E"]["Value"][0])
    sr_uid = str(pydicom.dcmread(sr_file, stop_before_pixels=True).SeriesInstanceUID)
    seg_uid = str(pydicom.dcmread(seg_file, stop_before_pixels=True).SeriesInstanceUID)
    assert sr_uid in modalities["SR"] and seg_uid in modalities["SEG"]
    (back,) = list(client.iter_series(study, sr_uid))
    back_file = tmp_path / "back_sr.dcm"
    back.save_as(back_file)
    _check_sr_values(back_file, case, tp)
    (seg_back,) = list(client.iter_series(study, seg_uid))
    assert seg_back.SOPInstanceUID == pydicom.dcmread(seg_file).SOPInstanceUID

    # The viewer's entry point: a subject pulled into a cache folder named without the patient
    # ID, reused on the next call.
    folder = open_subject_from_pacs(_web(orthanc), patient_id, tmp_path / "cache")
    assert patient_id not in str(folder)
    assert {s.study_uid for s in scan(folder).studies} >= {s.study_uid for s in scan(in_pacs["dicom"]).studies}
    mtime = folder.stat().st_mtime_ns
    assert open_subject_from_pacs(_web(orthanc), patient_id, tmp_path / "cache") == folder
    assert folder.stat().st_mtime_ns == mtime


def test_dimse_pull_assess_push_and_query_back(
    orthanc: Orthanc, in_pacs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    patient_id = in_pacs["patient_id"]
    monkeypatch.setenv("MRECIST_PATIENT_ID", patient_id)
    pulled = tmp_path / "pulled"
    assert main(["pull", *_dimse_args(orthanc), "--out", str(pulled)]) == 0
    _check_pulled(pulled, in_pacs, capsys.readouterr().err)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    # C-GET brings the instances as stored: the pixel data are the originals'.
    original = {str(pydicom.dcmread(p).SOPInstanceUID): pydicom.dcmread(p).PixelData
                for p in sorted(in_pacs["dicom"].rglob("*.dcm"))[:5]}
    for p in pulled.rglob("*.dcm"):
        ds = pydicom.dcmread(p)
        if str(ds.SOPInstanceUID) in original:
            assert ds.PixelData == original[str(ds.SOPInstanceUID)]

    case = case_on(pulled, in_pacs["case"], tmp_path / "case")
    _assess_like_the_original(case, in_pacs["case"], tmp_path / "results")

    tp = "FU2"  # the MR study
    seg_file, sr_file = tmp_path / "out" / "seg.dcm", tmp_path / "out" / "sr.dcm"
    assert main(["export", "seg", str(case), "--timepoint", tp, "--dicom", str(pulled),
                 "--keep-patient-identity", "--out", str(seg_file)]) == 0
    assert main(["export", "sr", str(case), "--timepoint", tp, "--dicom", str(pulled), "--seg", str(seg_file),
                 "--keep-patient-identity", "--out", str(sr_file)]) == 0
    assert main(["push", *_dimse_args(orthanc), str(sr_file), str(seg_file)]) == 0
    assert "stored 2 instance(s)" in capsys.readouterr().err

    # Query back over DIMSE (C-FIND of the study's series) and retrieve the SR (C-GET).
    study = str(pydicom.dcmread(sr_file, stop_before_pixels=True).StudyInstanceUID)
    sr_uid = str(pydicom.dcmread(sr_file, stop_before_pixels=True).SeriesInstanceUID)
    with _dimse(orthanc).session() as session:
        series = dict(session.list_series(study))
        assert series[sr_uid] == 1
        back = tmp_path / "back"
        back.mkdir()
        assert session.retrieve_series(study, sr_uid, back) == 1
    _check_sr_values(next(back.glob("*.dcm")), case, tp)


def _pull_and_kill(server: Orthanc, pacs: Any, target: Path, patient_id: str) -> None:
    """Pull, killing the PACS once the first series has arrived."""
    calls: list[str] = []

    def kill_after_first_series(series: str, done: int) -> None:
        calls.append(series)
        if len(calls) == 1:
            server.kill()

    with pytest.raises(PacsError, match=r"cannot connect to the PACS|connection to the PACS broke"):
        pull(pacs, patient_id, target, progress=kill_after_first_series)
    assert calls and not target.exists()


def test_orthanc_killed_mid_transfer_leaves_no_partial_case(generated_subject: Path, tmp_path: Path) -> None:
    dicom = generated_subject.parent / "dicom"
    folder = tmp_path / "doomed"
    server = start(folder)
    try:
        push(_web(server), sorted(dicom.rglob("*.dcm")))
        _pull_and_kill(server, _dimse(server, timeout_s=5), tmp_path / "pulled-dimse", _patient_id(dicom))
    finally:
        server.stop()
    server = start(folder)  # again, on the same storage
    try:
        _pull_and_kill(server, _web(server), tmp_path / "pulled-web", _patient_id(dicom))
    finally:
        server.stop()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doomed"]


def _silent_listener() -> tuple[socket.socket, int]:
    """A TCP port that accepts connections and never says a word (a hung PACS)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return sock, int(sock.getsockname()[1])


def test_dimse_refusals_timeouts_and_unknown_patients_are_clear(
    orthanc: Orthanc, in_pacs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pid = in_pacs["patient_id"]
    stranger = DimsePacs("127.0.0.1", orthanc.dicom_port, called_aet=AET, calling_aet="STRANGER", timeout_s=5)
    with pytest.raises(PacsError, match=r"rejected the association .*'STRANGER' registered"):
        pull(stranger, pid, tmp_path / "a")
    wrong_called = DimsePacs("127.0.0.1", orthanc.dicom_port, called_aet="NOT-ORTHANC", calling_aet=OUR_AET, timeout_s=5)
    with pytest.raises(PacsError, match=r"rejected the association"):
        pull(wrong_called, pid, tmp_path / "b")
    with pytest.raises(PacsError, match=r"cannot connect to the PACS .*connection refused"):
        pull(DimsePacs("127.0.0.1", free_port(), called_aet=AET, timeout_s=3), pid, tmp_path / "c")
    sock, port = _silent_listener()
    try:
        with pytest.raises(PacsError, match=r"did not take up the association within 1 s"):
            pull(DimsePacs("127.0.0.1", port, called_aet=AET, timeout_s=1), pid, tmp_path / "d")
    finally:
        sock.close()
    with pytest.raises(PacsError, match=r"no study found for the patient ID given"):
        pull(_dimse(orthanc), "NO-SUCH-PATIENT", tmp_path / "e")
    # The command line: one sentence, exit 1, nothing written; a bad address is a usage error.
    monkeypatch.setenv("MRECIST_PATIENT_ID", pid)
    assert main(["pull", "--dimse", f"127.0.0.1:{orthanc.dicom_port}", "--called-aet", AET,
                 "--aet", "STRANGER", "--timeout", "5", "--out", str(tmp_path / "f")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rejected the association" in err and pid not in err
    assert main(["pull", "--dimse", "no-port", "--out", str(tmp_path / "g")]) == 2
    assert "expected HOST:PORT" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_wrong_password_unreachable_pacs_and_unknown_patient_are_clear(
    orthanc: Orthanc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    with pytest.raises(PacsError, match=r"refused the credentials .*HTTP 401"):
        pull(_web(orthanc), "anyone", tmp_path / "a")
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    nowhere = Pacs(url=f"http://127.0.0.1:{free_port()}/dicom-web", timeout_s=3)
    with pytest.raises(PacsError, match=r"cannot connect to the PACS .*connection refused"):
        pull(nowhere, "anyone", tmp_path / "b")
    with pytest.raises(PacsError, match=r"no study found for the patient ID given"):
        pull(_web(orthanc), "NO-SUCH-PATIENT", tmp_path / "c")
    assert list(tmp_path.iterdir()) == []


def test_push_says_when_objects_carry_the_subject_id_not_the_patient(
    orthanc: Orthanc, generated_subject: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from pydicom.uid import generate_uid

    from mrecist_tool.dicom.privacy import DEIDENTIFICATION_METHOD, pseudonymise_derived

    ds = pydicom.dcmread(next(iter(sorted((generated_subject.parent / "dicom").rglob("*.dcm")))))
    # A patient, study and series of its own: the session's PACS keeps the subject as it was.
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    pseudonymise_derived(ds, "PUSH-NOTE", "BL")
    assert ds.DeidentificationMethod == DEIDENTIFICATION_METHOD
    path = tmp_path / "pseudonymised.dcm"
    ds.save_as(path, enforce_file_format=True)
    assert main(["push", *_web_args(orthanc), str(path)]) == 0
    assert "note: 1 of them carry the case's subject id" in capsys.readouterr().err
