"""A series whose pixels carry burned-in annotation is marked in the series list (issue 12
item 6): the reader sees it before sharing a screenshot."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from qtpy.QtCore import Qt

from napari_mrecist import assessment_widget

pytestmark = pytest.mark.gui


def test_burned_in_annotation_is_marked_in_the_series_list(make_napari_viewer, subject_dicom: Path,
                                                           tmp_path: Path, qtbot) -> None:
    folder = tmp_path / "dicom"
    for path in sorted(subject_dicom.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        if path.parent.name == "study0":  # the baseline's series says its pixels show text
            ds.BurnedInAnnotation = "YES"
        target = folder / path.relative_to(subject_dicom)
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(target)
    viewer = make_napari_viewer(show=True)
    w = assessment_widget(viewer)
    assert w.open_dicom(folder)
    combo = w.subject_panel.series_combo
    qtbot.waitUntil(lambda: combo.count() > 0, timeout=15000)
    labels = {w.current_tp: [combo.itemText(i) for i in range(combo.count())]}
    assert all("burned-in annotation" in text for text in labels[w.current_tp]), labels
    assert "patient's name or ID" in str(combo.itemData(0, Qt.ItemDataRole.ToolTipRole))
    w.subject_panel.timepoint_list.setCurrentRow(1)  # a follow-up: nothing to mark
    qtbot.waitUntil(lambda: w.current_tp == "FU1", timeout=15000)
    assert combo.count() > 0 and not any("burned-in" in combo.itemText(i) for i in range(combo.count()))
