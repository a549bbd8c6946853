"""Benchmark of the napari plugin (issue 4): opening a 300-slice series, and an edit's refresh.

Measured in this one run, under Xvfb (``make bench`` runs it with ``xvfb-run``):

* **open → first frame**: from ``widget.open_dicom(folder)`` on a 512×512×300 CT series (300
  files, 150 MB) to the first rendered frame of the canvas (``viewer.screenshot``), in a viewer
  that is already up (napari's own start-up is not the plugin's).  Baseline: SimpleITK's
  ``ImageSeriesReader`` reading the same known file list (the fastest plain read, headless-gui.md).
* **edit → results panel**: from a one-click status change (``mark absent``) to the refreshed
  lesion table and results panel, on a case with 3 timepoints and 4 lesions.  Baseline: one bare
  ``assess_case`` call on the same case.

Targets: open → frame < 2 s; edit → panel < 0.1 s.
Run: ``xvfb-run -a .venv/bin/python benchmarks/viewer_bench.py [--slices 300] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np


def write_series(folder: Path, n_slices: int, size: int = 512) -> list[Path]:
    """A CT series of ``n_slices`` real-header slices (pydicom's CT_small), upsampled to ``size``."""
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
    for z in range(n_slices):
        ds = src.copy()
        ds.Rows, ds.Columns = big.shape
        ds.PixelData = big.tobytes()
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import napari
    from qtpy.QtWidgets import QApplication

    from mrecist_tool.model import Timepoint
    from mrecist_tool.rules import assess_case
    from napari_mrecist._reader import assessment_widget
    from napari_mrecist._session import Session

    tmp = Path(tempfile.mkdtemp(prefix="viewer-bench-"))
    try:
        print(f"writing a {args.slices}-slice 512x512 CT series ...", flush=True)
        files = write_series(tmp / "series", args.slices)
        warm = write_series(tmp / "warm", 4, size=128)  # warms napari's and vispy's first-use paths

        viewer = napari.Viewer(show=True)
        widget = assessment_widget(viewer)
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

        # -- edit → refreshed panel, on a case with three timepoints and four lesions
        tps = [Timepoint(f"T{i}", date(2021, 2, 25) + timedelta(days=60 * i)) for i in range(3)]
        session = Session.new("BENCH-1", tps, reader="bench")
        widget._install(session, None)
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
    return 0 if open_s < 2 and edit_s < 0.1 else 1


if __name__ == "__main__":
    sys.exit(main())
