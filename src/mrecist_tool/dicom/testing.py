"""Small synthetic DICOM series for tests and benchmarks (not clinical sample data).

:func:`write_series` writes one single-frame-per-file CT or MR series with chosen geometry
(positions, orientation, sizes per slice) so that tests can build both good series and the
broken cases discovery and loading must refuse: gaps, duplicates, mixed sizes, shear.  The
realistic multi-phase liver studies live in :mod:`mrecist_tool.sample`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_with


@dataclass(frozen=True)
class WrittenSeries:
    folder: Path
    files: tuple[Path, ...]
    series_uid: str
    study_uid: str
    arrays: tuple[np.ndarray, ...]  # stored values per file, in file order


def write_series(
    folder: str | Path,
    *,
    positions: Sequence[Sequence[float]] | None = None,
    n_slices: int = 5,
    spacing: float = 2.0,
    rows: int | Sequence[int] = 32,
    columns: int | Sequence[int] = 32,
    pixel_spacing: tuple[float, float] = (0.75, 0.5),
    orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
    modality: str = "CT",
    description: str = "Abdomen PV",
    study_uid: str | None = None,
    series_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
    study_date: str = "20240102",
    study_description: str = "CT abdomen",
    series_number: int = 3,
    patient_name: str = "Test^Patient",
    patient_id: str = "TEST-1",
    birth_date: str = "19600101",
    intercept: float = -1024.0,
    slope: float = 1.0,
    with_pixels: bool = True,
    with_geometry: bool = True,
    sop_class: str | None = None,
    prefix: str = "IM",
    seed: int = 0,
    extra: dict[str, object] | None = None,
) -> WrittenSeries:
    """Write a series; slice ``k`` is at ``positions[k]`` (default: ``spacing`` mm steps
    along the normal of ``orientation``).  Files are named in shuffled order so that readers
    must sort by geometry."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import (
        UID,
        CTImageStorage,
        ExplicitVRLittleEndian,
        MRImageStorage,
        generate_uid,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    o = np.asarray(orientation, dtype=float)
    normal = np.cross(o[:3], o[3:])
    if positions is None:
        positions = [tuple(-100.0 + normal * spacing * k + np.array([0, 0, 0]))
                     for k in range(n_slices)]
    n = len(positions)
    rows_list = [rows] * n if isinstance(rows, int) else list(rows)
    cols_list = [columns] * n if isinstance(columns, int) else list(columns)
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    frame_uid = frame_of_reference_uid or generate_uid()
    sop_uid = UID(sop_class) if sop_class else (CTImageStorage if modality == "CT" else MRImageStorage)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    files, arrays = [], []
    for k in range(n):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_uid
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = folder / f"{prefix}{order[k]:04d}.dcm"
        ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = sop_uid
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyDate = ds.SeriesDate = study_date
        ds.StudyTime = ds.SeriesTime = "101500"
        ds.AcquisitionTime = "101610"
        ds.Modality = modality
        ds.StudyDescription = study_description
        ds.SeriesDescription = description
        ds.PatientName = patient_name
        ds.PatientID = patient_id
        ds.PatientBirthDate = birth_date
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.SeriesNumber = series_number
        ds.InstanceNumber = k + 1
        ds.SliceThickness = f"{spacing:g}"
        if with_geometry:
            ds.ImagePositionPatient = [float(v) for v in positions[k]]
            ds.ImageOrientationPatient = [float(v) for v in orientation]
            ds.PixelSpacing = list(pixel_spacing)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = rows_list[k], cols_list[k]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        ds.RescaleIntercept, ds.RescaleSlope = f"{intercept:g}", f"{slope:g}"
        for key, value in (extra or {}).items():
            setattr(ds, key, value)
        arr = (rng.integers(0, 2000, size=(rows_list[k], cols_list[k])) + 10 * k).astype(
            np.int16)
        if with_pixels:
            ds.PixelData = arr.tobytes()
        atomic_write_with(path, functools.partial(_save, ds))
        files.append(path)
        arrays.append(arr)
    return WrittenSeries(folder, tuple(files), series_uid, study_uid, tuple(arrays))


def _save(ds: Any, path: Path) -> None:
    ds.save_as(path, enforce_file_format=True)
