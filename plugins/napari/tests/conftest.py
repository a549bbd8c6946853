"""Fixtures for the plugin tests: small real-DICOM subjects, isolated user folders, and real
mouse and key input on napari's canvas."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

from _studies_fixture import write_subject

# Hypothesis: in CI (``CI`` set, as ``.ci/run`` and ``make test`` do) every run explores the same
# examples, so a red build is reproducible and a green one is not luck; no example database is
# written into the checkout.  Local runs (pytest directly) keep random exploration, which is how
# new counterexamples are found.  No deadline either way: on a shared 2-core machine a deadline
# only measures the neighbours (speed is checked by benchmarks/, never by a timed test).
# ``HYPOTHESIS_PROFILE=ci|dev`` chooses explicitly.  (The same as tests/conftest.py: the plugin's
# tests also run on their own.)
# (Both from hypothesis' own defaults: a profile otherwise inherits whichever one is loaded.)
_DEFAULT = settings.get_profile("default")
settings.register_profile("ci", _DEFAULT, derandomize=True, deadline=None, database=None, print_blob=True)
settings.register_profile("dev", _DEFAULT, deadline=None)
_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _CI else "dev"))

TEST_READER = "test-reader"


@pytest.fixture(scope="session")
def _sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sample")


@pytest.fixture(autouse=True)
def _isolated_user(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                   _sample_dir: Path) -> Path:
    """Autosaves, the reader id and the installation salt live in fresh folders per test, not
    in the user's home; the reader is already known (a test of the first-run question removes
    it).  The generated sample studies are written once per test session."""
    config = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("MRECIST_SAMPLE_DIR", str(_sample_dir))
    from napari_mrecist import _config

    _config.remember_reader(TEST_READER)
    return config


@pytest.fixture(autouse=True)
def _dialog_answers_end_with_the_test() -> Iterator[None]:
    """A ``when_dialog`` answer armed in a test and never used stops with that test: it must not
    answer a question the next test's widget asks."""
    yield
    from _gui import disarm_dialogs

    disarm_dialogs()


@pytest.fixture
def make_napari_viewer(make_napari_viewer):  # type: ignore[no-untyped-def]
    """napari's fixture; at teardown the widgets stop asking about unsaved work (the viewers
    are closed by the fixture, with nobody to answer)."""
    yield make_napari_viewer
    from qtpy.QtWidgets import QApplication

    from napari_mrecist import AssessmentWidget

    for w in QApplication.allWidgets():
        if isinstance(w, AssessmentWidget):
            w.ask_unsaved = False


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


@pytest.fixture
def sample_studies(_sample_dir: Path, tmp_path: Path) -> Path:
    """The generated sample studies (``studies/SYN-00x``), written once per test session and
    given to each test as its own folder: case files and masks copied, DICOM linked.  A test's
    edits, saves and autosaves (written next to the case file) then never reach another test,
    nor the sample that File ▸ Open Sample opens."""
    from mrecist_tool.sample import generate_studies

    shared = generate_studies(_sample_dir, if_missing=True).studies_dir
    own = tmp_path / "studies"
    own.mkdir()
    for item in shared.iterdir():
        if not item.is_dir():
            shutil.copy2(item, own / item.name)
            continue
        (own / item.name).mkdir()
        for part in item.iterdir():
            if part.name == "dicom":
                (own / item.name / part.name).symlink_to(part, target_is_directory=True)
            elif part.is_dir():
                shutil.copytree(part, own / item.name / part.name)
            else:
                shutil.copy2(part, own / item.name / part.name)
    return own


@pytest.fixture
def own_napari_app(mock_app_model):  # type: ignore[no-untyped-def]
    """For a test that makes ``napari.Viewer()`` itself (as ``mrecist view`` does) instead of
    using ``make_napari_viewer``: its actions and plugin commands go to a throw-away app-model
    application, so viewers made this way in several tests do not register them twice."""
    from napari._qt._qapp_model.qactions import init_qactions
    from napari.plugins import _initialize_plugins

    _initialize_plugins.cache_clear()
    init_qactions.cache_clear()
    yield mock_app_model
