"""Generated DICOM studies with realistic identifiers planted everywhere a hospital export
has them: the patient's names, IDs and birth date, other dates, descriptions and comments,
physicians, institution and station, private tags, and the folder names of the export.

Used by the privacy test, which greps every output of the toolkit for :data:`SECRETS`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom

FOLDER = "MCALLISTER_EUGENIA_MRN4471923"

# Every string below must never appear in an output (case-insensitive), unless a user asks.
SECRETS: tuple[str, ...] = (
    "MCALLISTER", "EUGENIA", "PEMBERTON", "FAIRWEATHER", "LARKSPUR", "QUILLBY", "HALVORSEN",
    "MRN4471923", "4471923", "NHS4857773456", "ACC77310442", "STU5517", "ADM882211",
    "19520317", "1952-03-17", "17.03.1952",  # birth date
    "20201111", "2020-11-11",  # admitting date
    "19990909", "1999-09-09",  # a date in a private tag
    "0161-496-0731",  # telephone
)


def plant(ds: pydicom.Dataset) -> None:
    """Put the identifiers into one data set (a CT or MR image of the sample studies)."""
    ds.PatientName = "MCALLISTER^EUGENIA^ROSE"
    ds.PatientID = "MRN4471923"
    ds.IssuerOfPatientID = "LARKSPUR GENERAL"
    ds.OtherPatientIDs = "NHS4857773456"
    ds.PatientBirthDate = "19520317"
    ds.PatientSex = "F"
    ds.PatientAge = "068Y"
    ds.PatientWeight = "61"
    ds.PatientAddress = "12 QUILLBY LANE, LARKSPUR"
    ds.PatientTelephoneNumbers = "0161-496-0731"
    ds.PatientComments = "MCALLISTER: claustrophobic, MRN4471923"
    ds.PatientIdentityRemoved = "NO"
    if "DeidentificationMethod" in ds:
        del ds.DeidentificationMethod
    ds.AccessionNumber = "ACC77310442"
    ds.StudyID = "STU5517"
    ds.AdmissionID = "ADM882211"
    ds.AdmittingDate = "20201111"
    ds.ReferringPhysicianName = "PEMBERTON^AUGUSTINE"
    ds.PhysiciansOfRecord = "HALVORSEN^INGRID"
    ds.OperatorsName = "FAIRWEATHER^LUCILLE"
    ds.PerformingPhysicianName = "HALVORSEN^INGRID"
    ds.InstitutionName = "LARKSPUR GENERAL HOSPITAL"
    ds.InstitutionAddress = "1 QUILLBY ROAD, LARKSPUR"
    ds.StationName = "CTLARKSPUR01"
    ds.StudyDescription = "CT ABDOMEN MCALLISTER MRN4471923"
    # The phase keyword stays, so that phase detection still has something to read.
    ds.SeriesDescription = f"{ds.SeriesDescription} EUGENIA MCALLISTER"
    ds.ProtocolName = "LIVER 3PH PEMBERTON"
    ds.ImageComments = "pt EUGENIA MCALLISTER, DOB 17.03.1952"
    block = ds.private_block(0x0029, "LARKSPUR PACS 1.0", create=True)
    block.add_new(0x01, "LO", "MCALLISTER^EUGENIA MRN4471923")
    block.add_new(0x02, "DA", "19990909")
    block.add_new(0x03, "LO", "NHS4857773456")


def plant_export(dicom_folder: Path, export_root: Path, burned_in_series: str | None = None) -> Path:
    """Copy a generated subject's DICOM folder to ``export_root/MCALLISTER_EUGENIA_MRN4471923/``
    (study folders renamed with the accession number) with every file planted; returns the
    patient folder.  Series whose description starts with ``burned_in_series`` declare Burned
    In Annotation YES."""
    patient = export_root / FOLDER
    for src in sorted(dicom_folder.rglob("*.dcm")):
        relative = src.relative_to(dicom_folder)
        study = f"{relative.parts[0]}_ACC77310442"
        dest = patient / study / Path(*relative.parts[1:])
        dest.parent.mkdir(parents=True, exist_ok=True)
        ds = pydicom.dcmread(src)
        if burned_in_series and str(ds.SeriesDescription).startswith(burned_in_series):
            ds.BurnedInAnnotation = "YES"
        plant(ds)
        ds.save_as(dest, enforce_file_format=True)
    # A non-DICOM file with a telling name, as exports have (listed among skipped files).
    shutil.copyfile(__file__, patient / "README_MCALLISTER.txt")
    return patient


def found_in(data: bytes | str) -> list[str]:
    """The secrets present in ``data`` (case-insensitive)."""
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    upper = text.upper()
    return [s for s in SECRETS if s.upper() in upper]


def with_new_uids(export: Path, dest: Path, studies: int | None = None) -> Path:
    """A copy of a planted export (its first ``studies`` study folders) whose study, series,
    instance and frame-of-reference UIDs are new (a PACS that already holds the original
    studies keeps the two apart)."""
    from pydicom.uid import generate_uid

    mapping: dict[str, str] = {}

    def new(uid: object) -> str:
        return mapping.setdefault(str(uid), generate_uid())

    folders = sorted(p for p in (export / FOLDER).iterdir() if p.is_dir())[:studies]
    for src in sorted(f for folder in folders for f in folder.rglob("*.dcm")):
        ds = pydicom.dcmread(src)
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
            if keyword in ds:
                setattr(ds, keyword, new(ds.data_element(keyword).value))
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        target = dest / src.relative_to(export)
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(target, enforce_file_format=True)
    return dest
