"""The questions the widget asks: who is reading, remove for sure, save unsaved work, which
folder.  Each is an ordinary modal Qt dialog (tests answer them with real clicks and keys)."""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"
READER_TITLE = "Who is reading?"
UNSAVED_TITLE = "Unsaved changes"
REMOVE_TITLE = "Remove lesion"


def ask_reader(parent: Any, current: str = "") -> str | None:
    """The reader's id (initials or a trial reader code), or None when cancelled."""
    text, ok = QInputDialog.getText(
        parent, READER_TITLE,
        "Your reader id, stamped on every observation you record\n"
        "(initials or your trial reader code; it is remembered on this computer):",
        QLineEdit.EchoMode.Normal, current)
    text = (text or "").strip()
    return text if ok and text else None


def ask_unsaved(parent: Any, what: str) -> str:
    """Save / discard / cancel before ``what`` (e.g. "opening another subject")."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(UNSAVED_TITLE)
    box.setText(f"The reading has changes that are not saved in its case file.\n"
                f"Save them before {what}?")
    box.setInformativeText("Unsaved work is also kept in the autosave until you save or discard it.")
    box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard  # type: ignore[arg-type]
                           | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec_() if hasattr(box, "exec_") else box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return SAVE
    if answer == QMessageBox.StandardButton.Discard:
        return DISCARD
    return CANCEL


def confirm_remove(parent: Any, lesions: list[str], n_observations: int) -> bool:
    text = (f"Remove {', '.join(lesions)} with its {n_observations} observation(s), lines and masks?\n"
            "Undo (Ctrl+Z) brings it back; its id is not given to another lesion.")
    answer = QMessageBox.question(parent, REMOVE_TITLE, text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,  # type: ignore[arg-type]
                                  QMessageBox.StandardButton.No)
    return bool(answer == QMessageBox.StandardButton.Yes)


def _run(dialog: QFileDialog) -> str | None:
    # A dialog made here rather than by QFileDialog's static helpers: the same Qt dialog, but
    # one a script (or a test) can answer.
    ok = dialog.exec_() if hasattr(dialog, "exec_") else dialog.exec()
    files = dialog.selectedFiles()
    return files[0] if ok and files else None


def choose_folder(parent: Any, title: str, start: str = "") -> str | None:
    dialog = QFileDialog(parent, title, start)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    return _run(dialog)


def choose_case_file(parent: Any, start: str = "") -> str | None:
    dialog = QFileDialog(parent, "Open a case file", start, "Case files (*.json)")
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    return _run(dialog)


def choose_save_path(parent: Any, suggestion: str) -> str | None:
    dialog = QFileDialog(parent, "Save the case file", suggestion, "Case files (*.json)")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix("json")
    return _run(dialog)
