"""Plugin command: open a subject from a PACS (DICOMweb).

A thin form over :func:`mrecist_tool.exchange.pacs.open_subject_from_pacs`, which retrieves the
patient's studies into a cache folder (complete or not at all) and returns it; the folder is
then opened in the Assessment widget (docked if it is not yet), as *Open…* opens a subject's
DICOM folder.  The patient ID field is masked and never shown in messages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "napari-mrecist" / "pacs"


def open_from_pacs_widget() -> Any:
    """The dock form: DICOMweb URL, user, password variable, patient ID, and an Open button."""
    from magicgui import magicgui

    @magicgui(
        call_button="Open subject",
        url={"label": "DICOMweb URL", "value": "http://127.0.0.1:8042/dicom-web"},
        user={"label": "User"},
        password_env={"label": "Password variable", "value": "MRECIST_PACS_PASSWORD"},
        patient_id={"label": "Patient ID", "widget_type": "Password"},
    )
    def open_from_pacs(url: str, user: str = "", password_env: str = "MRECIST_PACS_PASSWORD",
                       patient_id: str = "") -> None:
        import napari
        from napari.utils.notifications import show_error, show_info

        from mrecist_tool.errors import MrecistError
        from mrecist_tool.exchange.pacs import Pacs, open_subject_from_pacs

        from ._studies import for_reader

        viewer = napari.current_viewer()
        if not patient_id.strip():
            show_error("Enter the patient ID")
            return
        pacs = Pacs(url=url, username=user or None, password_env=password_env or None)
        try:
            folder = open_subject_from_pacs(pacs, patient_id.strip(), _cache())
        except (MrecistError, OSError) as exc:
            show_error(for_reader(str(exc)))
            return
        show_info("Retrieved the subject's studies from the PACS")
        if viewer is not None:
            from . import assessment_widget

            assessment_widget(viewer).open_dicom(folder)

    return open_from_pacs
