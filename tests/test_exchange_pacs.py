"""A real PACS (Orthanc on loopback, DICOMweb): pull, assess, push, query back (issue 12 item 4).

One Orthanc serves the module (started once, with a temporary storage folder); the test of a
PACS killed mid-transfer starts its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from orthanc_server import PASSWORD, USER, Orthanc, start

from mrecist_tool.casefile import read_case
from mrecist_tool.cli.main import main
from mrecist_tool.dicom import scan
from mrecist_tool.exchange.pacs import Pacs, PacsError, open_subject_from_pacs, pull, push
from mrecist_tool.exchange.sr_import import read_sr
from mrecist_tool.rules import assess_case

PASSWORD_ENV = "MRECIST_TEST_PACS_PASSWORD"


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    server = start(tmp_path_factory.mktemp("orthanc"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def subject(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mrecist_tool.sample import generate_studies

    return generate_studies(tmp_path_factory.mktemp("sample"), subjects=1).case_files[0]


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> Pacs:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return Pacs(url="", username=USER, password_env=PASSWORD_ENV, timeout_s=20)


def _patient_id(folder: Path) -> str:
    first = next(p for p in sorted(folder.rglob("*.dcm")))
    return str(pydicom.dcmread(first, stop_before_pixels=True).PatientID)


def _pacs(server: Orthanc, **kw: Any) -> Pacs:
    return Pacs(url=server.dicomweb, username=USER, password_env=PASSWORD_ENV, **kw)


def test_pull_assess_push_and_query_back(
    orthanc: Orthanc, subject: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    sample_dicom = subject.parent / "dicom"
    n_files = len(list(sample_dicom.rglob("*.dcm")))
    # The hospital's PACS holds the subject's studies.
    assert main(["push", "--url", orthanc.dicomweb, "--user", USER, "--password-env", PASSWORD_ENV,
                 str(sample_dicom)]) == 0
    assert f"stored {n_files} instance(s)" in capsys.readouterr().err

    # Pull them by patient ID (from an environment variable, never printed).
    patient_id = _patient_id(sample_dicom)
    monkeypatch.setenv("MRECIST_PATIENT_ID", patient_id)
    pulled = tmp_path / "pulled"
    assert main(["pull", "--url", orthanc.dicomweb, "--user", USER, "--password-env", PASSWORD_ENV,
                 "--out", str(pulled)]) == 0
    err = capsys.readouterr().err
    assert patient_id not in err and f"{n_files} instances" in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    # scan reads the layout: the same studies and series as the originals.
    original, got = scan(sample_dicom), scan(pulled)
    assert {s.study_uid for s in got.studies} == {s.study_uid for s in original.studies}
    assert {s.series_uid for s in got.loadable_series} == {s.series_uid for s in original.loadable_series}

    # Assess the case and export its SR and SEG from the pulled images; push them.
    case = read_case(subject)
    assessment = assess_case(case)
    tp = case.sorted_timepoints()[-1]
    out = tmp_path / "results"
    seg_file, sr_file = out / "seg.dcm", out / "sr.dcm"
    assert main(["export", "seg", str(subject), "--timepoint", tp.id, "--dicom", str(pulled),
                 "--out", str(seg_file)]) == 0
    assert main(["export", "sr", str(subject), "--timepoint", tp.id, "--dicom", str(pulled),
                 "--seg", str(seg_file), "--out", str(sr_file)]) == 0
    assert main(["push", "--url", orthanc.dicomweb, "--user", USER, "--password-env", PASSWORD_ENV,
                 str(sr_file), str(seg_file)]) == 0

    # Query them back from the PACS (QIDO by modality) and compare the values with the case.
    client = _pacs(orthanc).client()
    study = str(pydicom.dcmread(sr_file, stop_before_pixels=True).StudyInstanceUID)
    modalities = {}
    for item in client.search_for_series(study_instance_uid=study):
        modalities[item["00080060"]["Value"][0]] = item["0020000E"]["Value"][0]
    assert {"SR", "SEG"} <= set(modalities)
    (back,) = list(client.iter_series(study, modalities["SR"]))
    back_file = tmp_path / "back_sr.dcm"
    back.save_as(back_file)
    report = read_sr(back_file)
    by_lesion = {g.tracking_id: g for g in report.groups}
    for obs in case.observations:
        if obs.timepoint != tp.id:
            continue
        assert by_lesion[obs.lesion].viable_mm == obs.viable_diameter_mm
        assert by_lesion[obs.lesion].status == obs.status
    (seg_back,) = list(client.iter_series(study, modalities["SEG"]))
    assert seg_back.SOPInstanceUID == pydicom.dcmread(seg_file).SOPInstanceUID
    assert assessment.timepoint(tp.id) is not None

    # The viewer's entry point: a subject pulled into a cache folder named without the patient
    # ID, reused on the next call.
    folder = open_subject_from_pacs(_pacs(orthanc), patient_id, tmp_path / "cache")
    assert patient_id not in str(folder)
    assert {s.study_uid for s in scan(folder).studies} >= {s.study_uid for s in original.studies}
    mtime = folder.stat().st_mtime_ns
    assert open_subject_from_pacs(_pacs(orthanc), patient_id, tmp_path / "cache") == folder
    assert folder.stat().st_mtime_ns == mtime


def test_orthanc_killed_mid_transfer_leaves_no_partial_case(
    orthanc: Orthanc, subject: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    doomed = start(tmp_path / "doomed")
    try:
        push(_pacs(doomed), sorted((subject.parent / "dicom").rglob("*.dcm")))
        calls = []

        def kill_after_first_series(series: str, done: int) -> None:
            calls.append(series)
            if len(calls) == 1:
                doomed.kill()

        target = tmp_path / "pulled"
        with pytest.raises(PacsError, match=r"cannot connect to the PACS|connection to the PACS broke"):
            pull(_pacs(doomed), _patient_id(subject.parent / "dicom"), target,
                 progress=kill_after_first_series)
        assert calls and not target.exists()
        assert [p.name for p in tmp_path.iterdir() if p.name != "doomed"] == []
    finally:
        doomed.stop()


def test_wrong_password_unreachable_pacs_and_unknown_patient_are_clear(
    orthanc: Orthanc, subject: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    with pytest.raises(PacsError, match=r"refused the credentials .*HTTP 401"):
        pull(_pacs(orthanc), "anyone", tmp_path / "a")
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    from orthanc_server import free_port

    nowhere = Pacs(url=f"http://127.0.0.1:{free_port()}/dicom-web", timeout_s=3)
    with pytest.raises(PacsError, match=r"cannot connect to the PACS .*connection refused"):
        pull(nowhere, "anyone", tmp_path / "b")
    with pytest.raises(PacsError, match=r"no study found for the patient ID given"):
        pull(_pacs(orthanc), "NO-SUCH-PATIENT", tmp_path / "c")
    assert list(tmp_path.iterdir()) == []
    assert os.environ[PASSWORD_ENV] == PASSWORD
