"""Privacy of everything the toolkit prints or writes: pseudonyms, hidden free text, derived
DICOM objects that carry only what the case needs, and logs without identifiers.

Pseudonyms
    A pseudonym is ``PAT-`` plus the first 8 hex digits of a salted SHA-256 of the patient's ID,
    name and birth date.  The salt is, in order: the ``salt`` argument, the environment variable
    ``MRECIST_PSEUDONYM_SALT``, or a random salt drawn once per process.  With the default the
    same patient gets the same pseudonym throughout one run (so studies group correctly) but a
    different one in the next run, which keeps short hospital numbers from being recovered by
    hashing guesses; set the environment variable to get pseudonyms that are stable across runs.

Free text
    Study and series descriptions, protocol names and folder names are written by people at the
    scanner or the PACS and often hold names or hospital numbers (``DOE_JOHN_MRN12345/``).
    Listings show them only when asked (``mrecist scan --show-descriptions``); see
    :func:`hide_quoted`.

Derived objects (SR, SEG)
    highdicom copies the whole Patient, General Study and Patient Study modules of the source
    images into an SR or SEG.  :func:`pseudonymise_derived` keeps what the case needs (the
    study's UID, date and time, which tie the object to its images and the case timeline) and
    replaces or removes the rest, attribute by attribute; the table is in ``docs/privacy.md``.
    The real identity is kept only when asked (``--keep-patient-identity``, for storing an
    object back in the hospital PACS beside its images).

Logs
    :func:`redacted_logs` keeps given identifiers (a patient ID sent to a PACS) out of every
    log record emitted while it is active, whatever library logs them.

Why not a de-identification library: dicognito and deid's default recipe were tried on our
SR.  dicognito remaps every UID (the tracking UIDs that link SR, SEG and case, and the
references to the hospital's images), shifts study dates (the case timeline) and puts random
realistic names in; it leaves Study Description alone.  deid's default recipe removes SOP
Class/Instance UIDs and study dates (the object is no longer valid) and keeps Study
Description and Patient's Age.  Both are built to anonymise whole image sets for sharing;
a derived object of ours needs the opposite trade-off (keep UIDs and dates, replace the patient
by the trial's subject id), which is the short, tested policy below.  pydicom has no
de-identification profile of its own; its ``remove_private_tags`` is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
from collections.abc import Iterable, Iterator
from typing import Any

SALT_ENV = "MRECIST_PSEUDONYM_SALT"
_PROCESS_SALT = secrets.token_hex(16)
HIDDEN = "(hidden)"


def default_salt() -> str:
    """The salt used when none is given: the environment variable, else a per-process one."""
    return os.environ.get(SALT_ENV) or _PROCESS_SALT


def pseudonym(patient_id: str, patient_name: str, birth_date: str, salt: str | None = None) -> str:
    """``PAT-xxxxxxxx`` for one patient identity; never reversible without the salt.

    Parameters
    ----------
    patient_id : str
        Patient ID.
    patient_name : str
        Patient's Name.
    birth_date : str
        Patient's Birth Date.
    salt : str, optional
        The salt; default: the environment's, else one per process (pseudonyms then differ
        between runs).

    Returns
    -------
    str
        ``PAT-`` and eight hexadecimal digits of a SHA-256 of the salted identity.
    """
    key = "\x1f".join((salt if salt is not None else default_salt(), patient_id.strip(),
                       patient_name.strip(), birth_date.strip()))
    return "PAT-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def hide_quoted(text: str, secrets_: Iterable[str]) -> str:
    """``text`` with every quoted occurrence of the given free texts replaced by ``(hidden)``.

    Messages quote header text as Python reprs (``Series Description 'ART DOE'``); the quoted
    form is replaced, then any bare occurrence of a text longer than two characters.
    """
    out = text
    for s in sorted({s for s in secrets_ if s and s.strip()}, key=len, reverse=True):
        out = out.replace(repr(s), HIDDEN)
        if len(s.strip()) > 2:
            out = out.replace(s, HIDDEN)
    return out


# -- derived DICOM objects ----------------------------------------------------------------------

# Top-level text, date and time attributes an SR or SEG of ours may carry: what highdicom and
# our writers set themselves, plus the replaced patient attributes.  Any other top-level
# element of these kinds was copied from the source images and is removed.
_TEXT_VRS = frozenset({"PN", "LO", "SH", "ST", "LT", "UT", "UC", "AS", "DA", "DT", "TM", "AE"})
_OWN_TEXT = frozenset({
    "Manufacturer", "ManufacturerModelName", "SoftwareVersions", "DeviceSerialNumber",
    "SeriesDescription", "ContentDescription", "ContentCreatorName", "PositionReferenceIndicator",
    "InstanceCreationDate", "InstanceCreationTime", "ContentDate", "ContentTime", "SeriesDate",
    "SeriesTime", "StudyDate", "StudyTime",
    "PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "ReferringPhysicianName",
    "StudyID", "DeidentificationMethod",
})
# Type 2 attributes of the Patient and General Study modules: present, with these values.
_REPLACED_EMPTY = ("PatientBirthDate", "PatientSex", "AccessionNumber", "ReferringPhysicianName")
# Patient group (0010): only the Type 2 attributes of the Patient module stay.
_PATIENT_KEPT = frozenset({"PatientName", "PatientID", "PatientBirthDate", "PatientSex"})
# Whole groups of visit, study-request and results information (not needed, may identify).
_DROPPED_GROUPS = frozenset({0x0032, 0x0038, 0x4008})
# What an item of Contributing Equipment keeps (the source scanner's institution and station
# names are not kept).
_EQUIPMENT_KEPT = frozenset({
    "Manufacturer", "ManufacturerModelName", "SoftwareVersions", "ContributionDescription",
    "PurposeOfReferenceCodeSequence", "ContributionDateTime",
})
DEIDENTIFICATION_METHOD = "mrecist-tool: case subject id as patient; no free text copied"


def _dropped(elem: Any) -> bool:
    """Whether a top-level element copied from the source images is removed."""
    group = elem.tag.group
    if group == 0x0010:
        return elem.keyword not in _PATIENT_KEPT
    if group in _DROPPED_GROUPS or elem.tag.is_private:
        return True
    if group in (0x0002, 0x0012):  # file meta; clinical-trial attributes
        return False
    return elem.VR in _TEXT_VRS and elem.keyword not in _OWN_TEXT


def pseudonymise_derived(ds: Any, subject_id: str, study_id: str) -> None:
    """Make a derived SR or SEG carry the case's subject id instead of the patient, in place.

    Kept: the study's UID, date and time, the clinical-trial attributes (group 0012), the
    object's own attributes and content.  Replaced: Patient's Name and Patient ID by
    ``subject_id`` (a person name of one component, ``SYN-001^``) and Study ID by ``study_id``
    (the case's timepoint id, at most 16 characters); Patient's Birth Date and Sex, Accession
    Number and Referring Physician's Name by empty values (Type 2: present, empty).  Removed: every other patient
    attribute (other IDs, age, weight, address, ...), visit and request groups, study
    descriptions and physicians, institution and station names, any other copied text or
    date, and private elements.  Patient Identity Removed is set to ``YES`` with the method.
    """
    for elem in list(ds):
        if _dropped(elem):
            del ds[elem.tag]
    ds.remove_private_tags()
    ds.PatientName = subject_id if "^" in subject_id else f"{subject_id}^"
    ds.PatientID = subject_id
    ds.StudyID = study_id[:16]
    for keyword in _REPLACED_EMPTY:
        setattr(ds, keyword, "")
    for item in ds.get("ContributingEquipmentSequence", []):
        for elem in list(item):
            if elem.keyword not in _EQUIPMENT_KEPT:
                del item[elem.tag]
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = DEIDENTIFICATION_METHOD


# -- logs ---------------------------------------------------------------------------------------


class _Redact(logging.Filter):
    def __init__(self, secrets_: list[str]):
        super().__init__()
        self.secrets = secrets_

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: leave it to logging
            return True
        if any(s in message for s in self.secrets):
            for s in self.secrets:
                message = message.replace(s, "<identifier>")
            record.msg, record.args = message, None
        return True


@contextlib.contextmanager
def redacted_logs(*identifiers: str) -> Iterator[None]:
    """While active, every log record (of any library, at any level) that would show one of
    ``identifiers`` shows ``<identifier>`` instead.

    The filter sits on every handler of the root logger and on logging's last-resort handler,
    so records of child loggers (``dicomweb_client.api``, ``pynetdicom.dsutils``, ``urllib3``)
    pass through it wherever they propagate.
    """
    wanted = [s for s in identifiers if s and s.strip()]
    if not wanted:
        yield
        return
    flt = _Redact(wanted)
    handlers = list(logging.getLogger().handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for name in list(logging.Logger.manager.loggerDict):
        logger = logging.Logger.manager.loggerDict[name]
        if isinstance(logger, logging.Logger):
            handlers.extend(logger.handlers)
    for h in handlers:
        h.addFilter(flt)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(flt)
