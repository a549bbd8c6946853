"""Shared test set-up: tests/ on sys.path for the small case builder; session fixtures for the
exchange, PACS and privacy tests (a generated subject, one Orthanc)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))


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
