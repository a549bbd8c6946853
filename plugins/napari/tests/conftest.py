"""Fixtures for the plugin tests: small real-DICOM subjects and an isolated cache folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _studies_fixture import write_subject


@pytest.fixture(scope="session")
def _sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sample")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                    _sample_dir: Path) -> None:
    # Autosaves of never-saved cases go here, not to the user's home; the generated sample
    # studies are written once per test session.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("MRECIST_SAMPLE_DIR", str(_sample_dir))


@pytest.fixture(scope="session")
def subject_dicom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A subject folder with three dated CT studies (baseline and two follow-ups)."""
    return write_subject(tmp_path_factory.mktemp("subject") / "dicom")


@pytest.fixture
def case_dir(tmp_path: Path, subject_dicom: Path) -> Path:
    """An empty case folder whose ``dicom/`` holds the subject's studies (a symlink)."""
    (tmp_path / "dicom").symlink_to(subject_dicom, target_is_directory=True)
    return tmp_path


@pytest.fixture
def notifications() -> list:
    """Every napari notification shown during the test."""
    from napari.utils.notifications import notification_manager

    seen: list = []
    notification_manager.notification_ready.connect(seen.append)
    yield seen
    notification_manager.notification_ready.disconnect(seen.append)
