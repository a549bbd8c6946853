"""Readable overlays and a dock that fits a laptop screen: calliper labels on a dark box, one
colour per lesion with the table as legend, viable tissue filled and the zone outlined, the gap
in the lesion's row; every control visible at 1366×768."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _gui import canvas, open_case_in_viewer, settled
from qtpy.QtWidgets import QPushButton

from napari_mrecist import assessment_widget
from napari_mrecist._qt import access
from napari_mrecist._qt.colors import lesion_color, rgba

pytestmark = pytest.mark.gui


def test_overlays_are_readable_and_the_dock_fits_1366x768(make_napari_viewer, qtbot, sample_studies: Path) -> None:
    viewer, w = open_case_in_viewer(make_napari_viewer, qtbot, sample_studies / "SYN-003" / "SYN-003.json")
    w.show_timepoint("FU2")
    layers = w.layers_for("FU2")

    callipers = layers["callipers"]
    assert list(callipers.features["label"]) == ["L1 11.8 mm", "N1 14.4 mm"]
    assert np.all(callipers.face_color[:, 3] > 0.6) and np.all(callipers.face_color[:, :3] < 0.1)  # dark box
    np.testing.assert_allclose(layers["lines"].edge_color, [rgba(lesion_color(1)), rgba(lesion_color(2))])
    assert max(layers["lines"].edge_width) <= 1.0  # thin: at most a voxel wide, the ends stay visible
    t = w.lesion_panel.table
    legend = [t.item(r, 0).background().color().name() for r in range(t.rowCount())]
    assert legend == [lesion_color(1), lesion_color(2)]
    assert layers["zone"].contour > 0 and layers["viable"].contour == 0  # outline vs filled
    row = [t.item(0, c).text() for c in range(t.columnCount())]
    gap = w.session.observation("L1", "FU2").gap_to_ablation_zone_mm
    assert row[0] == "L1" and gap is not None and row[-1].startswith(f"{gap} mm")  # the gap, in the row
    # ... and on screen in the ~360 px dock, beside the id and what counted, without scrolling
    t.horizontalScrollBar().setValue(0)
    for column in (0, t.columnCount() - 1):
        assert t.viewport().rect().contains(t.visualItemRect(t.item(0, column))), t.horizontalHeaderItem(column).text()
    assert t.viewport().rect().contains(t.visualItemRect(t.item(0, 5)).topLeft())  # "this timepoint" starts

    # The label's text is drawn inside its dark box (rendered, on a black canvas: white pixels).
    from _gui import data_to_canvas

    c = canvas(viewer)
    viewer.dims.set_current_step(0, round(float(callipers.data[0][0, 0])))
    hidden = [layer for layer in viewer.layers if layer is not callipers and layer.visible]
    for layer in hidden:
        layer.visible = False
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    for layer in hidden:
        layer.visible = True
    scale = shot.shape[1] / c.width()
    top_left = data_to_canvas(viewer, c, callipers, tuple(callipers.data[0][0]))
    bottom_right = data_to_canvas(viewer, c, callipers, tuple(callipers.data[0][2]))
    band = shot[int((top_left.y() + 3) * scale):int((bottom_right.y() - 3) * scale)]
    text = np.flatnonzero((band.min(axis=2) > 150).any(axis=0)) / scale
    assert len(text) and text.min() >= top_left.x() and text.max() <= bottom_right.x(), (
        text.min(), text.max(), top_left.x(), bottom_right.x())

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


def test_the_dock_stays_narrow_with_long_paths_and_a_worklist(make_napari_viewer, qtbot, tmp_path: Path) -> None:
    """At 1366×768 with napari's layer docks shown, the dock keeps to ≤ 380 px whatever the
    paths and the subject names: a long images or export path is elided in the middle (in full
    in its tooltip), a wide worklist table scrolls sideways inside itself, the buttons wrap --
    and none of them is clipped."""
    from _studies_fixture import write_subject
    from qtpy.QtCore import QPoint
    from qtpy.QtWidgets import QLabel

    export = tmp_path / ("NCT04562727-trial-export-" + "site-0042-reader-batch-" * 4) / "subjects"
    names = [f"NCT04562727-SITE042-SUBJECT-{i:04d}-CRLM-ABLATION-ARM-B" for i in (1, 2)]
    for name in names:
        write_subject(export / name, n_slices=4)
    viewer = make_napari_viewer(show=True)
    window = access.main_window(viewer)
    window.resize(1366, 768)
    w = assessment_widget(viewer)
    assert w.open_worklist(export)
    qtbot.waitUntil(lambda: w.worklist_panel.isVisible() and canvas(viewer).width() > 100, timeout=15000)
    settled(qtbot, viewer)
    assert all(d.isVisible() for d in access.side_docks(viewer))
    dock = w.dock_widget()
    assert dock is not None and dock.width() <= 380, dock.width()
    assert canvas(viewer).width() >= 550

    for label, full in ((w.subject_panel.images_label, f"Images: {export / names[0]}"),
                        (w.worklist_panel.folder_label, f"{export}  ·  2 subjects")):
        shown = QLabel.text(label)  # what is painted
        assert label.text() == full and label.toolTip() == full
        assert "…" in shown and label.fontMetrics().horizontalAdvance(shown) <= label.width()
    table = w.worklist_panel.table
    assert table.horizontalHeader().length() > table.viewport().width()  # wider than the dock ...
    assert table.horizontalScrollBar().maximum() > 0  # ... so it scrolls, inside the table

    area = w.scroll_area
    assert w.body.minimumSizeHint().width() <= area.viewport().width()
    for b in w.findChildren(QPushButton):
        if b.isVisibleTo(w):
            assert b.width() >= b.minimumSizeHint().width(), b.text()
            right = b.mapTo(w, QPoint(b.width(), 0)).x()
            assert right <= w.width(), (b.text(), right, w.width())
