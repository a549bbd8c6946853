"""The viewer's "Open from PACS" form, driven with real key and mouse events in a real napari
viewer under Xvfb, against the session's Orthanc (issue 12 item 4).

A reader types the DICOMweb address, the user, the password variable and the patient ID (a
masked field), clicks *Open subject*, and the subject opens in the Assessment widget with its
three timepoints; the patient ID is never shown.  A wrong password gives one clear notification
and opens nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from orthanc_server import PASSWORD, USER, Orthanc
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLineEdit

pytestmark = pytest.mark.gui

PASSWORD_VAR = "MRECIST_GUI_PACS_PASSWORD"


@pytest.fixture
def reader_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin's cache, autosaves and reader id in fresh folders; the reader is known."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    from napari_mrecist import _config

    _config.remember_reader("test-reader")


@pytest.fixture
def notifications() -> Any:
    from napari.utils.notifications import notification_manager

    seen: list[Any] = []
    notification_manager.notification_ready.connect(seen.append)
    yield seen
    notification_manager.notification_ready.disconnect(seen.append)


def _type_into(qtbot: Any, field: QLineEdit, text: str) -> None:
    """Click into the field, select what is there (Ctrl+A) and type over it."""
    qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    qtbot.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(field, Qt.Key.Key_Delete)
    qtbot.keyClicks(field, text)


def _form(viewer: Any) -> Any:
    _, form = viewer.window.add_plugin_dock_widget("napari-mrecist", "Open from PACS")
    return form


def _fill_and_open(qtbot: Any, form: Any, url: str, patient_id: str) -> None:
    _type_into(qtbot, form.url.native, url)
    _type_into(qtbot, form.user.native, USER)
    _type_into(qtbot, form.password_env.native, PASSWORD_VAR)
    _type_into(qtbot, form.patient_id.native, patient_id)
    qtbot.mouseClick(form.call_button.native, Qt.MouseButton.LeftButton)


def test_open_from_pacs_with_keys_and_clicks(
    make_napari_viewer: Any, qtbot: Any, orthanc: Orthanc, pacs_subject: dict[str, Any], reader_home: None,
    notifications: list[Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from napari_mrecist import assessment_widget

    monkeypatch.setenv(PASSWORD_VAR, PASSWORD)
    viewer = make_napari_viewer(show=True)
    form = _form(viewer)
    patient_id = pacs_subject["patient_id"]
    assert form.patient_id.native.echoMode() == QLineEdit.EchoMode.Password
    _fill_and_open(qtbot, form, orthanc.dicomweb, patient_id)

    widget = assessment_widget(viewer)
    qtbot.waitUntil(lambda: widget.session is not None and len(widget.session.timepoints) == 3, timeout=120_000)
    assert list(widget.session.timepoints) == ["BL", "FU1", "FU2"]
    assert widget.session.subject.id != patient_id  # a pseudonym
    qtbot.waitUntil(lambda: any(layer.name.startswith("BL") for layer in viewer.layers), timeout=30_000)
    shown = " ".join(str(n.message) for n in notifications)
    assert "Retrieved" in shown and patient_id not in shown
    cache = Path(str(widget.session.images_root))
    assert patient_id not in str(cache) and cache.is_dir()


def test_a_refused_password_is_one_clear_message_and_opens_nothing(
    make_napari_viewer: Any, qtbot: Any, orthanc: Orthanc, pacs_subject: dict[str, Any], reader_home: None,
    notifications: list[Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_VAR, "wrong")
    viewer = make_napari_viewer(show=True)
    form = _form(viewer)
    _fill_and_open(qtbot, form, orthanc.dicomweb, pacs_subject["patient_id"])
    qtbot.waitUntil(lambda: any("refused the credentials" in str(n.message) for n in notifications), timeout=30_000)
    assert len(viewer.layers) == 0
    assert pacs_subject["patient_id"] not in " ".join(str(n.message) for n in notifications)
