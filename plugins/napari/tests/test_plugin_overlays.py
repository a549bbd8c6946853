"""Readable overlays and a dock that fits a laptop screen: calliper labels on a dark box, one
colour per lesion with the table as legend, viable tissue filled and the zone outlined, the gap
in the lesion's row; every control visible at 1366×768."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _gui import canvas, settled
from qtpy.QtWidgets import QPushButton

from napari_mrecist import assessment_widget
from napari_mrecist._qt import access
from napari_mrecist._qt.colors import lesion_color, rgba

pytestmark = pytest.mark.gui


def test_overlays_are_readable_and_the_dock_fits_1366x768(make_napari_viewer, qtbot, sample_studies: Path) -> None:
    viewer = make_napari_viewer(show=True)
    access.main_window(viewer).resize(1366, 768)
    w = assessment_widget(viewer)
    assert w.open_case(sample_studies / "SYN-003" / "SYN-003.json", use_autosave=False)
    qtbot.waitUntil(lambda: canvas(viewer).width() > 100, timeout=15000)
    settled(qtbot, viewer)
    w.show_timepoint("FU2")
    layers = w.layers_for("FU2")

    callipers = layers["callipers"]
    assert list(callipers.features["label"]) == ["L1 11.8 mm", "N1 14.4 mm"]
    assert np.all(callipers.face_color[:, 3] > 0.6) and np.all(callipers.face_color[:, :3] < 0.1)  # dark box
    np.testing.assert_allclose(layers["lines"].edge_color, [rgba(lesion_color(1)), rgba(lesion_color(2))])
    t = w.lesion_panel.table
    legend = [t.item(r, 0).background().color().name() for r in range(t.rowCount())]
    assert legend == [lesion_color(1), lesion_color(2)]
    assert layers["zone"].contour > 0 and layers["viable"].contour == 0  # outline vs filled
    row = [t.item(0, c).text() for c in range(t.columnCount())]
    gap = w.session.observation("L1", "FU2").gap_to_ablation_zone_mm
    assert row[0] == "L1" and gap is not None and row[-1].startswith(f"{gap} mm")  # the gap, in the row

    zoom = access.camera(viewer).zoom
    width = np.ptp(callipers.data[0][:, 2])
    access.camera(viewer).zoom = zoom * 2
    qtbot.waitUntil(lambda: abs(np.ptp(callipers.data[0][:, 2]) - width / 2) < width * 0.05, timeout=15000)

    # The dock fits: no button clipped, no sideways scrolling needed.
    area = w.scroll_area
    assert w.body.minimumSizeHint().width() <= area.viewport().width()
    for b in w.findChildren(QPushButton):
        if b.isVisibleTo(w):
            assert b.width() >= b.minimumSizeHint().width(), b.text()
