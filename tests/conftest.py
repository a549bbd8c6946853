"""Shared test set-up: tests/ on sys.path for the small case builder; session fixtures for the
exchange, PACS and privacy tests (a generated subject, one Orthanc); the hypothesis profiles."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

# Hypothesis: in CI (``CI`` set, as ``.ci/run`` and ``make test`` do) every run explores the same
# examples, so a red build is reproducible and a green one is not luck; no example database is
# written into the checkout.  Local runs (pytest directly) keep random exploration, which is how
# new counterexamples are found.  No deadline either way: on a shared 2-core machine a deadline
# only measures the neighbours (speed is checked by benchmarks/, never by a timed test).
# ``HYPOTHESIS_PROFILE=ci|dev`` chooses explicitly.
# (Both from hypothesis' own defaults: a profile otherwise inherits whichever one is loaded.)
_DEFAULT = settings.get_profile("default")
settings.register_profile("ci", _DEFAULT, derandomize=True, deadline=None, database=None, print_blob=True)
settings.register_profile("dev", _DEFAULT, deadline=None)
_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _CI else "dev"))


@pytest.fixture(scope="session")
def generated_subject(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The case file of one generated sample subject (SYN-001: two CT and one MR study, masks),
    written once per session.  Read it; never change it (copy it first)."""
    from mrecist_tool.sample import generate_studies

    return generate_studies(tmp_path_factory.mktemp("generated"), subjects=1).case_files[0]


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real Orthanc for the session (DICOMweb and DIMSE on loopback, temporary storage);
    tests that kill a PACS start their own."""
    from orthanc_server import start

    server = start(tmp_path_factory.mktemp("orthanc"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pacs_subject(orthanc: Any, generated_subject: Path) -> dict[str, Any]:
    """The session's PACS holds the generated subject's studies (stored over DICOMweb)."""
    import os

    import pydicom
    from orthanc_server import PASSWORD, USER

    from mrecist_tool.exchange.pacs import Pacs, push

    dicom = generated_subject.parent / "dicom"
    os.environ["MRECIST_SESSION_PACS_PASSWORD"] = PASSWORD
    try:
        n = push(Pacs(url=orthanc.dicomweb, username=USER, password_env="MRECIST_SESSION_PACS_PASSWORD"),
                 sorted(dicom.rglob("*.dcm")))
    finally:
        del os.environ["MRECIST_SESSION_PACS_PASSWORD"]
    first = next(iter(sorted(dicom.rglob("*.dcm"))))
    patient_id = str(pydicom.dcmread(first, stop_before_pixels=True).PatientID)
    return {"dicom": dicom, "files": n, "patient_id": patient_id, "case": generated_subject}
