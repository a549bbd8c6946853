"""Write a synthetic series as CT Image Storage or MR Image Storage files, one per slice.

Explicit VR little endian, every Type 1 and Type 2 attribute of the CT Image and MR Image IODs
present (checked with ``dciodvfy`` in the tests), UIDs derived from the seed so that output is
reproducible, and contrast timing tags (Contrast/Bolus Agent, Start Time, Acquisition Time)
that let phase detection work from timing as well as from the series description.  Patient
name and ID are obvious pseudonyms (``SYNTHETIC^S001``, ``SYN-001``); no birth date.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
)

from ..atomic import write_new_file
from .render import AxialGrid

IMPLEMENTATION_VERSION = "MRECIST_SAMPLE1"


def make_uid(*parts: object) -> UID:
    """A deterministic UID from the given parts (seed, subject, series, ...).

    The ``2.25.`` form of a name-based (version 5) UUID: pydicom's ``generate_uid`` ignores its
    entropy sources when asked for a ``2.25.`` UID, and any other root would need registering.
    """
    name = "/".join(["mrecist-tool-sample", *map(str, parts)])
    return UID(f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, name).int}")


@dataclass(frozen=True)
class StudyInfo:
    subject: str
    patient_name: str
    study_uid: str
    frame_of_reference_uid: str
    study_date: str  # YYYYMMDD
    study_time: str  # HHMMSS
    study_id: str
    accession: str
    description: str
    modality: str  # CT | MR


@dataclass(frozen=True)
class SeriesInfo:
    uid: str
    number: int
    description: str
    phase: str
    acquisition_time: str  # HHMMSS
    contrast: bool
    bolus_start_time: str  # HHMMSS


def _base(study: StudyInfo, series: SeriesInfo, grid: AxialGrid) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    mr = study.modality == "MR"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"] if not mr else ["ORIGINAL", "PRIMARY", "OTHER"]
    ds.SOPClassUID = MRImageStorage if mr else CTImageStorage
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = study.study_date
    ds.StudyTime = study.study_time
    ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = series.acquisition_time
    ds.AccessionNumber = study.accession
    ds.Modality = study.modality
    ds.Manufacturer = "mrecist-tool synthetic phantom"
    ds.InstitutionName = "SYNTHETIC"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = study.description
    ds.SeriesDescription = series.description
    ds.ManufacturerModelName = "mrecist-tool sample generator"
    ds.PatientName = study.patient_name
    ds.PatientID = study.subject
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "synthetic data, no real patient"
    ds.BodyPartExamined = "ABDOMEN"
    ds.ContrastBolusAgent = ("Gadoterate" if mr else "Iohexol 350") if series.contrast else ""
    if series.contrast:
        ds.ContrastBolusRoute = "IV"
        ds.ContrastBolusStartTime = series.bolus_start_time
    ds.SliceThickness = f"{grid.spacing[0]:g}"
    ds.SpacingBetweenSlices = f"{grid.spacing[0]:g}"
    ds.PatientPosition = "FFS"
    ds.StudyInstanceUID = study.study_uid
    ds.SeriesInstanceUID = series.uid
    ds.StudyID = study.study_id
    ds.SeriesNumber = series.number
    ds.AcquisitionNumber = 1
    ds.FrameOfReferenceUID = study.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PatientOrientation = ["L", "P"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = grid.shape[1]
    ds.Columns = grid.shape[2]
    ds.PixelSpacing = [f"{grid.spacing[1]:g}", f"{grid.spacing[2]:g}"]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.BurnedInAnnotation = "NO"
    if mr:
        ds.ScanningSequence = "GR"
        ds.SequenceVariant = ["SP", "SS"]
        ds.ScanOptions = "FS"
        ds.MRAcquisitionType = "3D"
        ds.RepetitionTime = "4.1"
        ds.EchoTime = "1.9"
        ds.EchoTrainLength = 1
        ds.FlipAngle = "10"
        ds.MagneticFieldStrength = "1.5"
        ds.ImagedNucleus = "1H"
        ds.ImagingFrequency = "63.9"
        ds.EchoNumbers = 1
        ds.SequenceName = "*fl3d1"
        ds.WindowCenter = "400"
        ds.WindowWidth = "1000"
    else:
        ds.KVP = "120"
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        ds.ConvolutionKernel = "STANDARD"
        ds.WindowCenter = ["60", "40"]
        ds.WindowWidth = ["400", "350"]
        ds.WindowCenterWidthExplanation = ["LIVER", "ABDOMEN"]
    ds.LossyImageCompression = "00"
    return ds


# Elements that change from slice to slice; everything else is encoded once per series.
_PER_SLICE = ("SOPInstanceUID", "InstanceNumber", "ImagePositionPatient", "SliceLocation",
              "SmallestImagePixelValue", "LargestImagePixelValue", "PixelData")


def _encode(ds: Dataset) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = False
    write_dataset(fp, ds)
    return fp.getvalue()


class _SeriesEncoder:
    """Writes the files of one series fast: pydicom's per-file ``save_as`` spends most of its
    time re-encoding the same header, so the constant elements are encoded once, in tag order
    around the per-slice ones, and only those are encoded for each slice."""

    def __init__(self, ds: Dataset):
        self.meta = ds.file_meta
        tags = sorted(ds.keys())
        per_slice = {tag_for_keyword(k) for k in _PER_SLICE}
        self.parts: list[bytes | int] = []  # constant bytes, or a per-slice tag
        chunk = Dataset()
        for tag in tags:
            if int(tag) in per_slice:
                if len(chunk):
                    self.parts.append(_encode(chunk))
                    chunk = Dataset()
                self.parts.append(int(tag))
            else:
                chunk.add(ds[tag])
        if len(chunk):
            self.parts.append(_encode(chunk))

    def write(self, path: Path, ds: Dataset) -> None:
        out = [b"\0" * 128, b"DICM"]
        fp = DicomBytesIO()
        fp.is_little_endian = True
        fp.is_implicit_VR = False
        write_file_meta_info(fp, self.meta, enforce_standard=True)
        out.append(fp.getvalue())
        for part in self.parts:
            if isinstance(part, bytes):
                out.append(part)
            else:
                one = Dataset()
                one.add(ds[part])
                out.append(_encode(one))
        # no temporary file: the whole subject folder is built aside and switched into place
        write_new_file(path, b"".join(out))


def write_series(folder: Path, study: StudyInfo, series: SeriesInfo, grid: AxialGrid,
                 slabs: list[tuple[int, NDArray[np.uint16]]] | None = None) -> list[Path]:
    """Write the slices of one series (given as ``(z0, pixels)`` slabs) into ``folder``.

    Files are numbered like a scanner's: ``IM0001.dcm`` is the most cranial slice.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ds = _base(study, series, grid)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = make_uid(series.uid, "template")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    ds.file_meta = meta
    # placeholders so the per-slice elements have their place in the encoder's plan
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.InstanceNumber = 0
    ds.ImagePositionPatient = [0, 0, 0]
    ds.SliceLocation = 0
    ds.SmallestImagePixelValue = 0
    ds.LargestImagePixelValue = 0
    ds.PixelData = b""
    _fix_pixel_value_vr(ds)
    encoder = _SeriesEncoder(ds)
    nz = grid.shape[0]
    paths = []
    for z0, pixels in slabs or []:
        for k in range(pixels.shape[0]):
            z = z0 + k
            number = nz - z  # cranial first
            pos_z = grid.origin[2] + z * grid.spacing[0]
            uid = make_uid(series.uid, z)
            ds.SOPInstanceUID = uid
            meta.MediaStorageSOPInstanceUID = uid
            ds.InstanceNumber = number
            ds.ImagePositionPatient = [f"{grid.origin[0]:.3f}", f"{grid.origin[1]:.3f}",
                                       f"{pos_z:.3f}"]
            ds.SliceLocation = f"{pos_z:.3f}"
            sl = np.ascontiguousarray(pixels[k], dtype="<u2")
            ds.SmallestImagePixelValue = int(sl.min())
            ds.LargestImagePixelValue = int(sl.max())
            ds.PixelData = sl.tobytes()
            _fix_pixel_value_vr(ds)
            path = folder / f"IM{number:04d}.dcm"
            encoder.write(path, ds)
            paths.append(path)
    return paths


def _fix_pixel_value_vr(ds: Dataset) -> None:
    """Unsigned pixels: the ambiguous 'US or SS' elements are US, Pixel Data is OW."""
    ds["SmallestImagePixelValue"].VR = "US"
    ds["LargestImagePixelValue"].VR = "US"
    ds["PixelData"].VR = "OW"
