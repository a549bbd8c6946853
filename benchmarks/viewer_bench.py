"""Benchmark of the napari plugin (issues 4 and 11): opening a 300-slice series, an edit's
refresh, one click to a 3D mask, and a slice step with rendering.

Measured in this one run, under Xvfb (``make bench`` runs it with ``xvfb-run``):

* **open → first frame**: from ``widget.open_dicom(folder)`` on a 512×512×300 CT series (300
  files, 150 MB) to the first rendered frame of the canvas (``viewer.screenshot``), in a viewer
  that is already up (napari's own start-up is not the plugin's).  Baseline: SimpleITK's
  ``ImageSeriesReader`` reading the same known file list (the fastest plain read, headless-gui.md).
* **edit → results panel**: from a one-click status change (``mark absent``) to the refreshed
  lesion table and results panel, on a case with 3 timepoints and 4 lesions.  Baseline: one bare
  ``assess_case`` call on the same case.

* **click → 3D mask**: one-click growth of an ablation zone (a 30 mm sphere, 70 HU darker than
  the liver around it, noise 12 HU, in the 512×512×300 series), from the seed to the mask in
  the session, measured and drawn (``editing.grow_at``, what a click on the canvas calls); the
  first click on a timepoint also makes its mask layer, so it is reported on its own.
  Baseline: SimpleITK's ``ConnectedThreshold`` on the whole series with the same seed and the
  thresholds the growth ended with (the plain region growing a simple tool would run).
* **slice step → frame**: a wheel notch on the canvas (the plugin's PACS scrolling) until the
  next frame is rendered (``viewer.screenshot``), ten notches down and ten up around the
  grown zone, twice: with the zone only, then with the lesion also measured (a line and its
  calliper label on a slice the steps pass through).  Baseline: rendering the same frame again
  with no step, so the ratio is what stepping adds to drawing.

Targets: open → frame < 2 s; edit → panel < 0.1 s; click → mask < 1 s; slice step < 50 ms.
Run: ``xvfb-run -a .venv/bin/python benchmarks/viewer_bench.py [--slices 300] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ZONE_RADIUS_MM = 15.0
LIVER_HU, ZONE_HU, NOISE_HU = 100, 30, 12


def write_series(folder: Path, n_slices: int, size: int = 512, zone: bool = False) -> list[Path]:
    """A CT series of ``n_slices`` real-header slices (pydicom's CT_small), upsampled to ``size``;
    with ``zone``, a noisy liver-like square holding a spherical ablation zone at the centre."""
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    src = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    base = src.pixel_array
    reps = size // base.shape[0]
    big = np.kron(base, np.ones((reps, reps), dtype=base.dtype)).astype(np.int16)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    rng = np.random.default_rng(11)
    half = size // 2
    yy, xx = np.mgrid[:size, :size]
    for z in range(n_slices):
        ds = src.copy()
        ds.Rows, ds.Columns = big.shape
        pixels = big
        if zone:  # stored value 1024 is 0 HU (RescaleIntercept -1024)
            pixels = big.copy()
            square = slice(half - 150, half + 150)
            pixels[square, square] = 1024 + LIVER_HU
            dz = (z - n_slices // 2) * 1.25
            r2 = ZONE_RADIUS_MM ** 2 - dz ** 2
            if r2 > 0:
                pixels[((yy - half) * 0.7) ** 2 + ((xx - half) * 0.7) ** 2 <= r2] = 1024 + ZONE_HU
            noise = rng.normal(0, NOISE_HU, (300, 300)).round().astype(np.int16)
            pixels[square, square] += noise
        ds.PixelData = np.ascontiguousarray(pixels, dtype=np.int16).tobytes()
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyDate = "20210225"
        ds.SeriesDescription = "LIVER ARTERIAL"
        ds.InstanceNumber = z + 1
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-180.0, -180.0, -400.0 + z * 1.25]
        ds.PixelSpacing = [0.7, 0.7]
        ds.SliceThickness = 1.25
        path = folder / f"IM{z:04d}.dcm"
        ds.save_as(path)
        files.append(path)
    return files


def sitk_read(files: list[Path]) -> float:
    import SimpleITK as sitk

    t0 = time.perf_counter()
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(f) for f in files])
    reader.Execute()
    return time.perf_counter() - t0


def click_to_mask(widget: Any, repeat: int) -> tuple[float, float, float, int]:
    """Seconds of the first one-click zone growth at the sphere's centre (its mask layer is
    made), the median of the later ones (the click undone in between, untimed, so each one
    draws a new mask), of the plain baseline, and the voxels grown."""
    import SimpleITK as sitk
    from qtpy.QtWidgets import QApplication

    lid = widget.add_lesion("target", organ="liver")
    widget.select_lesion(lid)
    vol = widget.layer_set.current().volume
    seed = tuple(n // 2 for n in vol.shape)
    image = sitk.GetImageFromArray(vol.array)
    grows, plains, voxels = [], [], 0
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        growth = widget.editing.grow_at(seed, "zone", 0.5)
        widget.viewer.screenshot(canvas_only=True, flash=False)  # the mask drawn
        grows.append(time.perf_counter() - t0)
        voxels = growth.voxels
        t0 = time.perf_counter()
        sitk.ConnectedThreshold(image, seedList=[(seed[2], seed[1], seed[0])], lower=growth.low,
                                upper=growth.high, replaceValue=1)
        plains.append(time.perf_counter() - t0)
        widget.undo()
        QApplication.instance().processEvents()
    return grows[0], statistics.median(grows[1:]), statistics.median(plains), voxels


def slice_steps(viewer: Any, widget: Any, app: Any, n: int) -> tuple[float, float, float]:
    """Median seconds of a wheel notch on the canvas to the next rendered frame, of rendering
    the same frame again, and the slowest step."""
    from qtpy.QtCore import QPoint, QPointF, Qt
    from qtpy.QtGui import QWheelEvent

    canvas = widget_canvas(viewer)
    at = QPointF(canvas.width() / 2, canvas.height() / 2)
    steps, frames = [], []
    for i in range(n):
        notch = -1 if i % 20 < 10 else 1
        event = QWheelEvent(at, QPointF(canvas.mapToGlobal(at.toPoint())), QPoint(0, 0), QPoint(0, 120 * notch),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)
        before = viewer.dims.current_step[0]
        t0 = time.perf_counter()
        app.sendEvent(canvas, event)
        viewer.screenshot(canvas_only=True, flash=False)
        steps.append(time.perf_counter() - t0)
        assert viewer.dims.current_step[0] != before, "the wheel did not step"
        t0 = time.perf_counter()
        viewer.screenshot(canvas_only=True, flash=False)
        frames.append(time.perf_counter() - t0)
    return statistics.median(steps), statistics.median(frames), max(steps)


def slice_steps_with_a_line(viewer: Any, widget: Any, app: Any, n: int) -> tuple[float, float, float]:
    """:func:`slice_steps` once the selected lesion has a measured line on the current slice."""
    tp = widget.current_tp
    z = viewer.dims.current_step[0]
    widget.layers_for(tp)["lines"].add_lines(np.array([[z, 200, 200], [z, 300, 260]]))
    app.processEvents()
    viewer.screenshot(canvas_only=True, flash=False)  # the reader sees the line and its label drawn
    callipers = widget.layers_for(tp)["callipers"]
    assert len(callipers.data) == 1 and callipers.visible, "the line was not measured"
    return slice_steps(viewer, widget, app, n)


def widget_canvas(viewer: Any) -> Any:
    from napari_mrecist._qt import access

    return access.canvas_widget(access.qt_viewer(viewer))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="viewer-bench-"))
    # The reader's id, the installation salt and autosaves go to throw-away folders, not the
    # user's own (and no first-run question blocks the run).
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")

    import napari
    from qtpy.QtWidgets import QApplication

    from mrecist_tool.model import Timepoint
    from mrecist_tool.rules import assess_case
    from napari_mrecist import assessment_widget
    from napari_mrecist._session import Session

    try:
        print(f"writing a {args.slices}-slice 512x512 CT series ...", flush=True)
        files = write_series(tmp / "series", args.slices, zone=True)
        warm = write_series(tmp / "warm", 4, size=128)  # warms napari's and vispy's first-use paths

        viewer = napari.Viewer(show=True)
        widget = assessment_widget(viewer)
        widget.set_reader_id("bench")
        widget.ask_unsaved = False
        widget.open_dicom(warm[0].parent)
        viewer.screenshot(canvas_only=True, flash=False)
        app = QApplication.instance()

        opens, bases = [], []
        for _ in range(args.repeat):
            bases.append(sitk_read(files))
            widget.close_case()  # removing the previous volume is not part of opening one
            app.processEvents()
            t0 = time.perf_counter()
            assert widget.open_dicom(files[0].parent)
            viewer.screenshot(canvas_only=True, flash=False)  # forces and waits for a frame
            opens.append(time.perf_counter() - t0)
            app.processEvents()
        open_s, base_s = statistics.median(opens), statistics.median(bases)

        first_grow_s, grow_s, plain_s, voxels = click_to_mask(widget, args.repeat)
        step_s, frame_s, slowest_s = slice_steps(viewer, widget, app, args.repeat * 4)
        # ... and as a read goes on: the lesion measured too (a line and its calliper label, on a
        # slice the steps pass through), since the line and label layers are drawn when not empty.
        lines_step_s, lines_frame_s, lines_slowest_s = slice_steps_with_a_line(viewer, widget, app, args.repeat * 4)

        # -- edit → refreshed panel, on a case with three timepoints and four lesions
        tps = [Timepoint(f"T{i}", date(2021, 2, 25) + timedelta(days=60 * i)) for i in range(3)]
        session = Session.new("BENCH-1", tps, reader="bench")
        widget.install(session, None)
        for role in ("target", "target", "non-target", "new"):
            widget.add_lesion(role, organ="liver" if role != "target" or "T1" not in session.lesions else "lung")
        for tp in ("T0", "T1", "T2"):
            widget.show_timepoint(tp)
            for lid, value in (("T1", 30), ("T2", 22)):
                widget.select_lesion(lid)
                widget.set_diameter(value)
            widget.select_lesion("NT1")
            widget.mark("present")
        widget.show_timepoint("T2")
        widget.select_lesion("T1")
        edits, engine = [], []
        for i in range(args.repeat * 4):
            status = "absent" if i % 2 == 0 else "too-small"
            t0 = time.perf_counter()
            widget.mark(status)  # session edit → engine → lesion table → results panel
            edits.append(time.perf_counter() - t0)
            case = session.to_case()
            t0 = time.perf_counter()
            assess_case(case)
            engine.append(time.perf_counter() - t0)
        edit_s, engine_s = statistics.median(edits), statistics.median(engine)
        viewer.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"open {args.slices}-slice series -> first frame: {open_s:.3f} s "
          f"(SimpleITK read alone {base_s:.3f} s; ratio {open_s / base_s:.2f}); target < 2 s: "
          f"{'OK' if open_s < 2 else 'MISSED'}")
    print(f"edit -> results panel updated: {edit_s * 1000:.1f} ms "
          f"(bare assess_case {engine_s * 1000:.2f} ms; ratio {edit_s / engine_s:.1f}); target < 100 ms: "
          f"{'OK' if edit_s < 0.1 else 'MISSED'}")
    print(f"click -> 3D zone mask ({voxels} voxels): {grow_s:.3f} s; first click on the timepoint "
          f"(mask layer made) {first_grow_s:.3f} s (SimpleITK ConnectedThreshold on the whole series "
          f"{plain_s:.3f} s; ratios {grow_s / plain_s:.2f}, {first_grow_s / plain_s:.2f}); target < 1 s: "
          f"{'OK' if max(grow_s, first_grow_s) < 1 else 'MISSED'}")
    print(f"slice step -> frame: {step_s * 1000:.1f} ms (same frame redrawn {frame_s * 1000:.1f} ms; "
          f"ratio {step_s / frame_s:.2f}; slowest step {slowest_s * 1000:.1f} ms); target < 50 ms: "
          f"{'OK' if step_s < 0.05 else 'MISSED'}")
    print(f"slice step -> frame, the lesion also measured (a line and its label): {lines_step_s * 1000:.1f} ms "
          f"(same frame redrawn {lines_frame_s * 1000:.1f} ms; ratio {lines_step_s / lines_frame_s:.2f}; "
          f"slowest step {lines_slowest_s * 1000:.1f} ms); "
          f"target < 50 ms: {'OK' if lines_step_s < 0.05 else 'MISSED'}")
    steps_ok = max(step_s, lines_step_s) < 0.05
    return 0 if open_s < 2 and edit_s < 0.1 and max(grow_s, first_grow_s) < 1 and steps_ok else 1


if __name__ == "__main__":
    sys.exit(main())
