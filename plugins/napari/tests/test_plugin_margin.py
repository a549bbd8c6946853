"""The ablative margin in the viewer (issue 10, item 6): two analytic spheres painted as masks,
the Margin button pressed with the mouse, the coloured tumour surface, MAM and the minimum."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from _gui import canvas, key, pump, settled
from _studies_fixture import PIXEL_MM, SLICE_MM, write_subject
from qtpy.QtCore import Qt

from napari_mrecist import assessment_widget
from napari_mrecist._qt import access
from napari_mrecist._qt.panels.margin import AMBER, GREEN, RED, MarginPanel, margin_colors, slice_contours

pytestmark = pytest.mark.gui

N_SLICES = 14
SPACING = np.array([SLICE_MM, PIXEL_MM, PIXEL_MM])
TUMOUR_R, ZONE_R = 5.0, 12.0
TUMOUR_C = np.array([7 * SLICE_MM, 64 * PIXEL_MM, 57 * PIXEL_MM])  # mm from the grid's origin (z, y, x)
ZONE_C = TUMOUR_C + np.array([0.0, 0.0, 8.0])  # the tumour protrudes 1 mm along -x
MAM = ZONE_R - (8.0 + TUMOUR_R)  # -1 mm, at TUMOUR_C - 5 mm along x
TOL = 0.75 + PIXEL_MM / 2  # issue 10: 0.75 mm plus half the voxel along the minimum's direction


def _ball(shape: tuple[int, int, int], centre: np.ndarray, radius: float) -> np.ndarray:
    z, y, x = np.indices(shape, dtype=float)
    d2 = ((z * SPACING[0] - centre[0]) ** 2 + (y * SPACING[1] - centre[1]) ** 2
          + (x * SPACING[2] - centre[2]) ** 2)
    return d2 <= radius**2


@pytest.fixture
def widget(make_napari_viewer, tmp_path: Path, qtbot):
    folder = write_subject(tmp_path / "dicom", n_slices=N_SLICES)
    viewer = make_napari_viewer(show=True)
    access.main_window(viewer).resize(1280, 900)
    w = assessment_widget(viewer)
    assert w.open_dicom(folder)
    qtbot.waitUntil(lambda: w.lesion_panel.table.isVisible(), timeout=15000)
    settled(qtbot, viewer)
    return w


def _click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    pump(qtbot)


def test_margin_colours_bands() -> None:
    c = margin_colors(np.array([-0.1, 0.0, 4.99, 5.0, 12.0]))
    np.testing.assert_array_equal(c, [RED, AMBER, AMBER, GREEN, GREEN])


def test_slice_contours_of_a_square_pyramid_side() -> None:
    verts = np.array([[0.0, 0, 0], [2.0, 0, 0], [2.0, 2, 0]])
    pts, vals = slice_contours(verts, np.array([[0, 1, 2]]), np.array([0.0, 2.0, 4.0]))
    assert set(pts[:, 0]) == {0.0, 1.0}
    mid = pts[pts[:, 0] == 1.0]
    np.testing.assert_allclose(np.sort(mid[:, 1]), [0.0, 1.0])
    np.testing.assert_allclose(np.sort(vals[pts[:, 0] == 1.0]), [1.0, 2.0])


def test_margin_of_two_spheres_is_shown_and_found(widget, qtbot, notifications) -> None:
    w = widget
    panel = w.panel(MarginPanel)
    viewer = w.viewer
    assert panel.compute_btn.isEnabled() and not panel.goto_btn.isEnabled()

    # nothing selected, then a lesion without its ablation, then no zone mask: a reason each time
    _click(qtbot, panel.compute_btn)
    assert "Select a treated lesion" in panel.label.text()
    w.add_lesion("target")
    w.select_lesion("T1")
    _click(qtbot, panel.compute_btn)
    assert "no ablation recorded" in panel.label.text()
    w.add_procedure("ablation", date(2021, 3, 10), ["T1"])
    shape = (N_SLICES, 128, 128)
    w.session.set_mask("T1", "BL", "viable", _ball(shape, TUMOUR_C, TUMOUR_R), w.volume_for("BL"))
    _click(qtbot, panel.compute_btn)
    assert "No ablation-zone mask of T1 after its ablation" in panel.label.text()
    assert any("No ablation-zone mask" in str(n.message) for n in notifications)
    assert not any(n.message.startswith("Traceback") for n in notifications)
    assert not [la for la in viewer.layers if la.name.startswith("margin")]

    w.session.set_mask("T1", "FU1", "zone", _ball(shape, ZONE_C, ZONE_R), w.volume_for("FU1"))
    w.show_timepoint("BL")
    _click(qtbot, panel.compute_btn)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30000)  # computed in a worker thread
    m = panel.result
    assert m is not None, panel.label.text()
    assert w.current_tp == "FU1"  # the zone's timepoint is shown
    assert abs(m.mam_mm - MAM) <= TOL, (m.mam_mm, MAM)
    text = panel.label.text()
    assert f"MAM {m.mam_mm:.1f} mm" in text and "not corrected" in text

    surface = viewer.layers["margin T1"]
    assert surface._type_string == "surface" and surface.visible
    verts, faces = surface.data[0], surface.data[1]
    assert len(verts) > 100 and len(faces) > 100
    image = w.layers_for("FU1")["image"]
    np.testing.assert_allclose(surface.scale, image.scale)
    np.testing.assert_allclose(surface.translate, image.translate)
    # each vertex's colour is the band of its analytic margin (away from the band edges)
    truth = ZONE_R - np.linalg.norm(verts * SPACING - ZONE_C, axis=1)
    colours = np.asarray(surface.vertex_colors)
    for band, colour in ((truth < -TOL, RED), ((truth > TOL) & (truth < 5 - TOL), AMBER), (truth > 5 + TOL, GREEN)):
        assert band.sum() > 10
        np.testing.assert_allclose(colours[band], np.broadcast_to(colour, (band.sum(), 4)))
    shown = surface.metadata["mrecist_margin"]["margin_mm"]
    assert np.max(np.abs(shown - truth)) <= 2 * TOL
    # the 2D slice of the surface: points on whole slices, coloured the same way
    contour = viewer.layers["margin T1 (slice)"]
    assert len(contour.data) > 50 and np.all(contour.data[:, 0] == np.round(contour.data[:, 0]))

    # the minimum: where the analytic one is, and the 2D view goes there
    minimum = viewer.layers["margin T1 minimum"]
    at = np.asarray(m.min_index) * SPACING
    assert np.linalg.norm(at - (TUMOUR_C - [0, 0, TUMOUR_R])) <= 2 * SLICE_MM
    viewer.dims.set_current_step(0, 0)
    assert panel.goto_btn.isEnabled()
    _click(qtbot, panel.goto_btn)
    assert viewer.dims.current_step[0] == round(m.min_index[0]) == 7
    world = minimum.data_to_world(np.asarray(m.min_index))
    np.testing.assert_allclose(access.camera(viewer).center[-2:], world[-2:], atol=1e-6)

    # another timepoint hides the margin layers; the zone's timepoint shows them again
    w.show_timepoint("FU2")
    assert not surface.visible
    w.show_timepoint("FU1")
    assert surface.visible
    # the surface in 3D
    viewer.dims.ndisplay = 3
    # Waited for, not a fixed 50 ms: the 3D slice of the surface is every face (in 2D it is the
    # faces of one slice), and a first 3D view may take a while on a loaded machine.
    qtbot.waitUntil(lambda: len(surface._view_faces) == len(faces), timeout=15000)
    assert surface.visible
    viewer.dims.ndisplay = 2
    pump(qtbot)


def _two_spheres(w) -> None:  # type: ignore[no-untyped-def]
    shape = (N_SLICES, 128, 128)
    w.add_lesion("target")
    w.select_lesion("T1")
    w.add_procedure("ablation", date(2021, 3, 10), ["T1"])
    w.session.set_mask("T1", "BL", "viable", _ball(shape, TUMOUR_C, TUMOUR_R), w.volume_for("BL"))
    w.session.set_mask("T1", "FU1", "zone", _ball(shape, ZONE_C, ZONE_R), w.volume_for("FU1"))


def test_the_margin_is_computed_off_the_ui_thread(widget, qtbot) -> None:
    """The Margin button returns at once: the computation runs in a worker thread while the
    reader scrolls; the result is shown when it arrives.  A margin whose masks changed while it
    was computed is not shown (the reader is asked to press Margin again)."""
    w = widget
    panel = w.panel(MarginPanel)
    _two_spheres(w)
    qtbot.mouseClick(panel.compute_btn, Qt.MouseButton.LeftButton)  # no event loop turn after it
    assert panel.busy and panel.result is None and not panel.compute_btn.isEnabled()
    assert "Computing the margin of T1" in panel.label.text()
    step = int(w.viewer.dims.current_step[0])
    key(qtbot, canvas(w.viewer), Qt.Key.Key_Down)  # the viewer still scrolls meanwhile
    assert int(w.viewer.dims.current_step[0]) == step + 1
    qtbot.waitUntil(lambda: not panel.busy, timeout=30000)
    assert panel.result is not None and abs(panel.result.mam_mm - MAM) <= TOL
    assert panel.compute_btn.isEnabled()

    qtbot.mouseClick(panel.compute_btn, Qt.MouseButton.LeftButton)
    assert panel.busy and panel.result is None and not [la for la in w.viewer.layers if la.name.startswith("margin")]
    shape = (N_SLICES, 128, 128)
    w.session.set_mask("T1", "FU1", "zone", _ball(shape, ZONE_C, ZONE_R + 2), w.volume_for("FU1"))  # meanwhile
    qtbot.waitUntil(lambda: not panel.busy, timeout=30000)
    assert panel.result is None and "changed while its margin was computed" in panel.label.text()
    assert not [la for la in w.viewer.layers if la.name.startswith("margin")]
