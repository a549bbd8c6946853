"""Small multi-study CT subjects built from pydicom's bundled real CT slice (``CT_small.dcm``).

Each study is one arterial-phase series of ``n_slices`` copies of the real slice, restacked with
their own positions and UIDs, so the DICOM layer sees an ordinary subject folder with several
dated studies.  The generated sample studies (``mrecist_tool.sample``) are used where present.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

STUDY_DATES = (date(2021, 2, 25), date(2021, 4, 20), date(2021, 7, 21))
SLICE_MM = 2.5
PIXEL_MM = 0.7


def write_subject(folder: Path, n_slices: int = 8, dates: tuple[date, ...] = STUDY_DATES,
                  coronal: bool = False) -> Path:
    """Write one subject's studies under ``folder`` (one sub-folder per study); returns it.
    ``coronal``: the slices are coronal (rows run head to foot, slices step posterior)."""
    src = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    for k, when in enumerate(dates):
        uids = Uids()
        out = folder / f"study{k}"
        out.mkdir(parents=True, exist_ok=True)
        for z in range(n_slices):
            ds = _slice(src, uids, when, z)
            if coronal:
                ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
                ds.ImagePositionPatient = [-40.0, -100.0 + z * SLICE_MM, 40.0]
            else:
                ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
                ds.ImagePositionPatient = [-40.0, -40.0, -100.0 + z * SLICE_MM]
            ds.PixelSpacing = [PIXEL_MM, PIXEL_MM]
            ds.SliceThickness = SLICE_MM
            ds.save_as(out / f"IM{z:04d}.dcm")
    return folder


def write_volume(folder: Path, hu: np.ndarray, spacing: tuple[float, float, float],
                 when: date = STUDY_DATES[0]) -> Path:
    """Write one axial series of the given values (``hu``, z y x, in HU) and ``spacing`` (mm,
    z y x) as one subject's only study under ``folder``: an analytic phantom as a scanner
    exports it (the header of the real slice, its own pixels, stored as CT values)."""
    src = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    uids = Uids()
    out = folder / "study0"
    out.mkdir(parents=True, exist_ok=True)
    stored = np.round(np.asarray(hu, dtype=float) + 1024).astype(np.int16)  # RescaleIntercept -1024
    for z in range(stored.shape[0]):
        ds = _slice(src, uids, when, z)
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0.0, 0.0, -100.0 + z * spacing[0]]
        ds.PixelSpacing = [spacing[1], spacing[2]]
        ds.SliceThickness = spacing[0]
        ds.Rows, ds.Columns = stored.shape[1:]
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = stored[z].tobytes()
        ds.save_as(out / f"IM{z:04d}.dcm")
    return folder


class Uids:
    """The UIDs one study's series shares."""

    def __init__(self) -> None:
        self.study, self.series, self.frame = generate_uid(), generate_uid(), generate_uid()


def _slice(src: pydicom.Dataset, uids: Uids, when: date, z: int) -> pydicom.Dataset:
    """Slice ``z`` of a study dated ``when``: the real slice's header with the subject's and the
    study's own identifiers (its position and pixels are the caller's)."""
    ds = src.copy()
    ds.PatientID = "TESTPAT"
    ds.PatientName = "Test^Subject"
    ds.StudyInstanceUID = uids.study
    ds.SeriesInstanceUID = uids.series
    ds.FrameOfReferenceUID = uids.frame
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyDate = when.strftime("%Y%m%d")
    ds.SeriesDate = ds.StudyDate
    ds.SeriesDescription = "LIVER ARTERIAL"
    ds.SeriesNumber = 2
    ds.InstanceNumber = z + 1
    return ds


def add_dynamic_series(study: Path, n_slices: int = 4, volumes: int = 2) -> str:
    """Add to a study folder written by :func:`write_subject` a dynamic series: ``volumes``
    passes over the same ``n_slices`` positions in one Series Instance UID, told apart by their
    Temporal Position Identifier (as a scanner exports dynamic contrast phases).  Returns its
    Series Instance UID."""
    src = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    first = pydicom.dcmread(next(study.glob("IM*.dcm")), stop_before_pixels=True)
    uids = Uids()
    uids.study, uids.frame = first.StudyInstanceUID, first.FrameOfReferenceUID
    when = date(int(first.StudyDate[:4]), int(first.StudyDate[4:6]), int(first.StudyDate[6:]))
    for t in range(1, volumes + 1):
        for z in range(n_slices):
            ds = _slice(src, uids, when, z)
            ds.SeriesDescription, ds.SeriesNumber = "LIVER DYNAMIC", 5
            ds.InstanceNumber = (t - 1) * n_slices + z + 1
            ds.TemporalPositionIdentifier = t
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
            ds.ImagePositionPatient = [-40.0, -40.0, -100.0 + z * SLICE_MM]
            ds.PixelSpacing = [PIXEL_MM, PIXEL_MM]
            ds.SliceThickness = SLICE_MM
            ds.save_as(study / f"DYN{t}_{z:04d}.dcm")
    return str(uids.series)
