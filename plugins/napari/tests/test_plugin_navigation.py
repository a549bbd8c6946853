"""Reading as in a PACS: wheel and arrow keys scroll, Ctrl+wheel zooms, right- or middle-drag sets
width and level, number keys give window presets (MR ones from the data), and the contrast stays
at hand while a measurement layer is active; the prior is compared in a linked canvas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _gui import canvas, centre, drag, key, open_case_in_viewer, pump, wheel
from qtpy.QtCore import QPointF, Qt

from napari_mrecist._layers import MR_WINDOWS, WINDOWS
from napari_mrecist._qt import access

pytestmark = pytest.mark.gui


def _open(make_napari_viewer, qtbot, case: Path):  # type: ignore[no-untyped-def]
    return open_case_in_viewer(make_napari_viewer, qtbot, case)


def _window(c: float, width: float) -> tuple[float, float]:
    return (c - width / 2, c + width / 2)


def test_scroll_zoom_window_and_presets_like_a_pacs(make_napari_viewer, qtbot, sample_studies: Path) -> None:
    viewer, w = _open(make_napari_viewer, qtbot, sample_studies / "SYN-003" / "SYN-003.json")
    c = canvas(viewer)
    step = lambda: int(viewer.dims.current_step[0])  # noqa: E731
    last = int(viewer.dims.nsteps[0]) - 1
    start = step()
    wheel(qtbot, c, centre(c), -1)  # towards the reader: next slice
    assert step() == start + 1
    wheel(qtbot, c, centre(c), 2)
    assert step() == start - 1
    key(qtbot, c, Qt.Key.Key_Down)
    key(qtbot, c, Qt.Key.Key_Down)
    assert step() == start + 1
    key(qtbot, c, Qt.Key.Key_Up)
    assert step() == start
    key(qtbot, c, Qt.Key.Key_PageDown)
    assert step() == min(last, start + 10)
    key(qtbot, c, Qt.Key.Key_End)
    assert step() == last
    key(qtbot, c, Qt.Key.Key_Home)
    assert step() == 0

    cam = access.camera(viewer)
    zoom = cam.zoom
    at = QPointF(c.width() * 0.3, c.height() * 0.7)  # the point under the cursor stays put

    def under_cursor() -> tuple[float, float]:
        return (cam.center[-2] + (at.y() - c.height() / 2) / cam.zoom,
                cam.center[-1] + (at.x() - c.width() / 2) / cam.zoom)

    before = under_cursor()
    wheel(qtbot, c, at, 2, Qt.KeyboardModifier.ControlModifier)
    assert cam.zoom == pytest.approx(zoom * 1.15 ** 2)
    np.testing.assert_allclose(under_cursor(), before, atol=1e-6)
    assert step() == 0  # Ctrl+wheel does not scroll

    image = w.current_image_layer()
    lo, hi = image.contrast_limits
    drag(qtbot, c, centre(c), centre(c) + QPointF(200, 0), button=Qt.MouseButton.RightButton)
    lo2, hi2 = image.contrast_limits
    assert hi2 - lo2 == pytest.approx(2 * (hi - lo), rel=0.05)  # 200 px right: twice the width
    assert (lo2 + hi2) / 2 == pytest.approx((lo + hi) / 2, abs=1.0)
    drag(qtbot, c, centre(c), centre(c) + QPointF(0, 100), button=Qt.MouseButton.MiddleButton)
    lo3, hi3 = image.contrast_limits
    assert (lo3 + hi3) / 2 == pytest.approx((lo2 + hi2) / 2 + (hi2 - lo2) / 2, rel=0.05)
    assert step() == 0 and cam.zoom == pytest.approx(zoom * 1.15 ** 2)  # no pan, no zoom

    key(qtbot, c, Qt.Key.Key_2)
    assert tuple(image.contrast_limits) == pytest.approx(_window(*WINDOWS["soft tissue"]))
    # A measurement layer is active (painting): number keys still set the image's window.
    w.select_lesion("L1")
    w.run_action("paint_viable")
    assert viewer.layers.selection.active.name.startswith("viable")
    key(qtbot, c, Qt.Key.Key_3)
    assert tuple(image.contrast_limits) == pytest.approx(_window(*WINDOWS["lung"]))
    assert w.layers_for(w.current_tp)["viable"].mode == "paint"
    # a right-drag while the brush is out windows the image and paints nothing
    viable = w.layers_for(w.current_tp)["viable"]
    painted = int((viable.data > 0).sum())
    lo, hi = image.contrast_limits
    drag(qtbot, c, centre(c), centre(c) + QPointF(100, 0), button=Qt.MouseButton.RightButton)
    assert image.contrast_limits[1] - image.contrast_limits[0] == pytest.approx(2 ** 0.5 * (hi - lo), rel=0.05)
    w.sync_masks_now()
    assert int((viable.data > 0).sum()) == painted and viable.mode == "paint"
    key(qtbot, c, Qt.Key.Key_1)
    assert tuple(image.contrast_limits) == pytest.approx(_window(*WINDOWS["liver"]))
    # ... and so do the dock's range slider and preset box (keys on the box: Down = next preset).
    w.subject_panel.window_slider.setValue((-50.0, 250.0))
    assert tuple(image.contrast_limits) == pytest.approx((-50.0, 250.0))
    box = w.subject_panel.window_combo
    assert box.isVisible() and box.isEnabled() and w.subject_panel.window_slider.isVisible()
    box.setFocus()
    key(qtbot, box, Qt.Key.Key_Down)
    assert box.currentText() == "soft tissue"
    assert tuple(image.contrast_limits) == pytest.approx(_window(*WINDOWS["soft tissue"]))
    assert viewer.layers.selection.active.name.startswith("viable")  # the brush is still out


def test_mr_presets_come_from_the_data(make_napari_viewer, qtbot, sample_studies: Path) -> None:
    """SYN-001's last follow-up is an MR: its presets are percentiles of its own values, not HU."""
    viewer, w = _open(make_napari_viewer, qtbot, sample_studies / "SYN-001" / "SYN-001.json")
    mr = next(tp for tp in w.timepoint_ids() if w.volume_for(tp).modality == "MR")
    w.show_timepoint(mr)
    assert w.window_preset_names()[:len(MR_WINDOWS)] == list(MR_WINDOWS)
    data = w.volume_for(mr).array
    key(qtbot, canvas(viewer), Qt.Key.Key_1)
    lo, hi = w.current_image_layer().contrast_limits
    sample = np.asarray(data[:: max(1, data.shape[0] // 16)], dtype=float)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(sample, MR_WINDOWS["MR standard"])), rel=1e-3)
    assert hi > 300  # T1 signal, nothing like a liver CT window


def test_prior_compared_in_an_equal_canvas_linked_both_ways(make_napari_viewer, qtbot, sample_studies: Path) -> None:
    """FU2 beside any earlier timepoint (the previous follow-up FU1, or the baseline), in a second
    canvas of the same width; slice position, zoom, pan and window follow whichever leads."""
    viewer, w = _open(make_napari_viewer, qtbot, sample_studies / "SYN-003" / "SYN-003.json")
    w.show_timepoint("FU2")
    combo = w.subject_panel.compare_combo
    assert [combo.itemData(i) for i in range(combo.count())] == [None, "FU1", "BL"]
    combo.setCurrentIndex(1)
    combo.activated.emit(1)
    view = w.compare_view
    assert view is not None and w.compare_tp == "FU1"
    assert next(iter(view.model.layers)).name.startswith("FU1")
    label = access.text_overlay(view.model)
    assert label.visible and label.text.startswith("Prior: FU1")
    main_canvas, prior_canvas = canvas(viewer), access.canvas_widget(view.qt_viewer)
    # (the docks are laid out over several event-loop turns: generous on a loaded machine)
    qtbot.waitUntil(lambda: abs(main_canvas.width() - prior_canvas.width()) <= 8, timeout=15000)
    assert abs(main_canvas.height() - prior_canvas.height()) <= 8
    # on a 1366 x 768 screen napari's layer docks give way so that each canvas keeps ~30 %
    assert not any(d.isVisible() for d in access.side_docks(viewer))
    assert access.main_window(viewer).width() <= 1366 and main_canvas.width() >= 380
    # ... and they stay equal when the window changes.  The widths are equal before the resize
    # too, and it reaches the canvases only turns of the event loop later: wait for the window's
    # new width to have been shared out (both canvases narrower), then for equal widths.
    widths = (main_canvas.width(), prior_canvas.width())
    access.main_window(viewer).resize(1200, 768)
    qtbot.waitUntil(lambda: main_canvas.width() < widths[0] and prior_canvas.width() < widths[1]
                    and abs(main_canvas.width() - prior_canvas.width()) <= 8, timeout=15000)

    spacing = float(w.volume_for("FU1").spacing[0])
    key(qtbot, main_canvas, Qt.Key.Key_Down)
    assert view.model.dims.point[0] == pytest.approx(viewer.dims.point[0], abs=spacing / 2 + 1e-6)
    wheel(qtbot, prior_canvas, centre(prior_canvas), -3)  # the prior leads
    pump(qtbot)
    assert viewer.dims.point[0] == pytest.approx(view.model.dims.point[0], abs=spacing / 2 + 1e-6)

    cam, pcam = access.camera(viewer), access.camera(view.model)
    wheel(qtbot, prior_canvas, QPointF(40, 40), 2, Qt.KeyboardModifier.ControlModifier)
    assert cam.zoom == pytest.approx(pcam.zoom)
    np.testing.assert_allclose(cam.center[-2:], pcam.center[-2:])
    centre_now = list(cam.center)
    centre_now[-1] += 12.0
    cam.center = tuple(centre_now)  # a pan of the main canvas
    np.testing.assert_allclose(pcam.center[-2:], cam.center[-2:])
    before = np.array(cam.center[-2:])
    drag(qtbot, prior_canvas, centre(prior_canvas), centre(prior_canvas) + QPointF(60, 40))  # a hand's pan of the prior
    assert np.linalg.norm(np.array(pcam.center[-2:]) - before) > 1.0
    np.testing.assert_allclose(cam.center[-2:], pcam.center[-2:])

    drag(qtbot, main_canvas, centre(main_canvas), centre(main_canvas) + QPointF(100, 30),
         button=Qt.MouseButton.RightButton)
    assert tuple(view.layers.image.contrast_limits) == pytest.approx(tuple(w.current_image_layer().contrast_limits))
    drag(qtbot, prior_canvas, centre(prior_canvas), centre(prior_canvas) + QPointF(-60, 0),
         button=Qt.MouseButton.RightButton)
    assert tuple(w.current_image_layer().contrast_limits) == pytest.approx(tuple(view.layers.image.contrast_limits))

    combo = w.subject_panel.compare_combo
    index = combo.findData("BL")
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert w.compare_tp == "BL" and w.compare_view is view
    beside_prior = main_canvas.width()
    combo.setCurrentIndex(0)
    combo.activated.emit(0)
    assert w.compare_view is None
    assert all(d.isVisible() for d in access.side_docks(viewer))
    # the assessment dock gives the prior's share back to the main canvas (it kept ~740 px).
    # The dock was narrow beside the prior too: the main canvas growing is what says the
    # closed comparison has been laid out (405 -> 472 px here).
    dock = w.dock_widget()
    qtbot.waitUntil(lambda: main_canvas.width() > beside_prior and dock.width() <= 380
                    and main_canvas.width() > dock.width(), timeout=15000)


def test_an_mr_beside_a_ct_prior_keeps_each_its_own_window(make_napari_viewer, qtbot, sample_studies: Path) -> None:
    """SYN-001: the MR follow-up compared with the CT before it.  MR values are no Hounsfield
    units: windowing the MR (drag, keys) leaves the CT prior in a CT window and the reverse; the
    CT prior still follows a CT preset by name."""
    viewer, w = _open(make_napari_viewer, qtbot, sample_studies / "SYN-001" / "SYN-001.json")
    ids = w.timepoint_ids()
    mr = next(tp for tp in ids if w.volume_for(tp).modality == "MR")
    ct = ids[ids.index(mr) - 1]
    assert w.volume_for(ct).modality == "CT"
    key(qtbot, canvas(viewer), Qt.Key.Key_2)  # soft tissue, on the CT
    w.show_timepoint(mr)
    combo = w.subject_panel.compare_combo
    index = combo.findData(ct)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    view = w.compare_view
    assert view is not None and w.compare_tp == ct
    prior = view.layers.image
    soft = pytest.approx(_window(*WINDOWS["soft tissue"]))
    assert tuple(prior.contrast_limits) == soft
    main_canvas, prior_canvas = canvas(viewer), access.canvas_widget(view.qt_viewer)
    qtbot.waitUntil(lambda: prior_canvas.width() > 100, timeout=15000)

    mr_image = w.current_image_layer()
    key(qtbot, main_canvas, Qt.Key.Key_2)  # the MR's second preset, from its own data
    assert tuple(mr_image.contrast_limits) == pytest.approx(w.layer_set.presets_of(mr, w.volume_for(mr))["MR high contrast"])
    drag(qtbot, main_canvas, centre(main_canvas), centre(main_canvas) + QPointF(80, 20), button=Qt.MouseButton.RightButton)
    assert tuple(prior.contrast_limits) == soft  # the CT keeps its HU window
    mr_limits = tuple(mr_image.contrast_limits)
    drag(qtbot, prior_canvas, centre(prior_canvas), centre(prior_canvas) + QPointF(-60, 0), button=Qt.MouseButton.RightButton)
    assert tuple(prior.contrast_limits) != soft  # the prior was windowed ...
    assert tuple(mr_image.contrast_limits) == pytest.approx(mr_limits)  # ... and the MR kept its own
    combo.setCurrentIndex(0)
    combo.activated.emit(0)


def test_a_slice_step_recompiles_no_shader(make_napari_viewer, qtbot, sample_studies: Path, monkeypatch) -> None:
    """A wheel notch only redraws: napari hands the new slice's lines and calliper boxes to
    vispy meshes, which rebuilt and relinked their shader programs on each step (most of the
    step's time).  Counted, not timed, across the measured lesion's slice and the prior's
    canvas: after the first frames, no program is built again."""
    from vispy.visuals.shaders import program

    viewer, w = _open(make_napari_viewer, qtbot, sample_studies / "SYN-003" / "SYN-003.json")
    w.show_timepoint("FU2")
    combo = w.subject_panel.compare_combo
    combo.setCurrentIndex(1)
    combo.activated.emit(1)
    prior = w.compare_view
    line = w.session.line_lps("L1", "FU2")
    assert line is not None and prior is not None
    z_line = round(float(w.volume_for("FU2").lps_to_index(line)[0, 0]))
    c = canvas(viewer)
    # The prior's dock is laid out (and the canvases equalised) over later turns of the event
    # loop: counted frames start once both canvases have their place, so a first exposure of
    # the prior's canvas cannot fall in the counted frames on a slow machine.
    prior_canvas = access.canvas_widget(prior.qt_viewer)
    qtbot.waitUntil(lambda: prior_canvas.width() > 100 and abs(c.width() - prior_canvas.width()) <= 8, timeout=15000)
    builds: list[object] = []
    build = program.ModularProgram._build

    def counted(self: object) -> None:
        builds.append(self)
        build(self)

    monkeypatch.setattr(program.ModularProgram, "_build", counted)

    def frames(notches: list[int]) -> None:
        for n in notches:
            wheel(qtbot, c, centre(c), n)
            viewer.screenshot(canvas_only=True, flash=False)
            access.canvas_widget(prior.qt_viewer).grabFramebuffer()

    viewer.dims.set_current_step(0, max(0, z_line - 3))
    frames([-1] * 6 + [1] * 6)  # the first frames of every visual, on and off the line's slice
    builds.clear()
    frames([-1] * 6 + [1] * 6)
    assert int(viewer.dims.current_step[0]) == max(0, z_line - 3)
    assert not builds, [type(b).__name__ for b in builds]
