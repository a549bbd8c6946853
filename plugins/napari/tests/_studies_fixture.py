"""Small multi-study CT subjects built from pydicom's bundled real CT slice (``CT_small.dcm``).

Each study is one arterial-phase series of ``n_slices`` copies of the real slice, restacked with
their own positions and UIDs, so the DICOM layer sees an ordinary subject folder with several
dated studies.  The generated sample studies (``mrecist_tool.sample``) are used where present.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

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
        study_uid, series_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
        out = folder / f"study{k}"
        out.mkdir(parents=True, exist_ok=True)
        for z in range(n_slices):
            ds = src.copy()
            ds.PatientID = "TESTPAT"
            ds.PatientName = "Test^Subject"
            ds.StudyInstanceUID = study_uid
            ds.SeriesInstanceUID = series_uid
            ds.FrameOfReferenceUID = frame_uid
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.StudyDate = when.strftime("%Y%m%d")
            ds.SeriesDate = ds.StudyDate
            ds.SeriesDescription = "LIVER ARTERIAL"
            ds.SeriesNumber = 2
            ds.InstanceNumber = z + 1
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
