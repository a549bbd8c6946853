"""What the DICOM SR and SEG writers and the SR reader share.

* The coded concepts we use, in one place, with why each was chosen (see ``CODES`` below).
* Stable tracking UIDs: a lesion keeps the same Tracking Unique Identifier in every SR and SEG
  the toolkit writes for it, at every timepoint, because the UID is derived from (subject
  pseudonym, lesion id) and nothing else.
* A small index of a folder of source DICOM images (headers read with pydicom), so the writers
  can find the series a measurement was made on and reference its instances.

Patient attributes of the source images are copied into the DICOM objects we write (DICOM
requires it: these objects go back to a PACS next to their images) but are never logged or put
into messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DicomError
from ..model import Case, Lesion, Observation, Timepoint

# --------------------------------------------------------------------------------------------
# Coded concepts
# --------------------------------------------------------------------------------------------
# Our own coding scheme for concepts DICOM/SNOMED do not define (mRECIST viable diameter, lesion
# status vocabulary of the case format, overall response categories).  Private coding schemes
# are named "99..." (PS3.16 §8.1); the designator is declared in the SR's Coding Scheme
# Identification Sequence so receivers can look it up.
PRIVATE_SCHEME = "99MRECIST"
PRIVATE_SCHEME_NAME = "mrecist-tool local codes (response assessment after liver-directed therapy)"


@dataclass(frozen=True)
class Concept:
    value: str
    scheme: str
    meaning: str

    def code(self) -> Any:
        from pydicom.sr.coding import Code

        return Code(self.value, self.scheme, self.meaning)

    def matches(self, coded: Any) -> bool:
        """True when a pydicom/highdicom coded concept has our value and scheme."""
        return (
            str(getattr(coded, "value", "")) == self.value
            and str(getattr(coded, "scheme_designator", "")) == self.scheme
        )


def _p(value: str, meaning: str) -> Concept:
    return Concept(value, PRIVATE_SCHEME, meaning)


# Measurements (TID 300 concept names).
LONG_AXIS = Concept("103339001", "SCT", "Long axis")  # RECIST 1.1 longest diameter (CID 7469)
SHORT_AXIS = Concept("103340004", "SCT", "Short axis")  # nodal short axis (CID 7469)
# mRECIST measures the longest diameter of the *viable* (enhancing) tumour only.  No standard
# concept says "viable", so it gets its own code rather than overloading "Long axis": a reader
# of the SR must not mistake it for the whole-lesion diameter.
VIABLE_DIAMETER = _p("VLDIAM", "Viable tumor longest diameter")
GAP_TO_ABLATION_ZONE = _p("GAPABL", "Gap to ablation zone")
# Diameters other viewers write that the importer also accepts as a longest diameter.
LENGTH = Concept("410668003", "SCT", "Length")
DIAMETER = Concept("81827009", "SCT", "Diameter")

MILLIMETRE = Concept("mm", "UCUM", "millimeter")

# Measurement method (TID 300 "Measurement Method", values from CID 6147 "Response Criteria").
RECIST_11 = Concept("126081", "DCM", "RECIST 1.1")
MRECIST = _p("MRECIST", "mRECIST")  # not in CID 6147

# Qualitative evaluations of a lesion (TID 1501/1410 CODE items).
LESION_ROLE = _p("ROLE", "Lesion role")
ROLE_VALUES: dict[str, Concept] = {
    "target": Concept("112074", "DCM", "Target Lesion at Baseline"),  # CID 6145
    "non-target": Concept("112075", "DCM", "Non-Target Lesion at Baseline"),  # CID 6145
    "new": _p("NEW", "New lesion"),
}
LESION_STATUS = _p("STATUS", "Lesion status at timepoint")
STATUS_VALUES: dict[str, Concept] = {
    "measured": _p("MEASURED", "Measured"),
    "absent": _p("ABSENT", "Absent (no viable tumor)"),
    "too-small": _p("TOOSMALL", "Too small to measure"),
    "present": _p("PRESENT", "Present, not measured"),
    "progressed": _p("PROGRESSED", "Unequivocal progression"),
    "not-evaluable": _p("NE", "Not evaluable"),
}
LESION_KIND = _p("KIND", "Lesion kind")
KIND_VALUES: dict[str, Concept] = {
    "tumor": Concept("108369006", "SCT", "Tumor"),
    "node": Concept("59441001", "SCT", "Lymph node"),
    "porta-hepatis-node": _p("PHNODE", "Porta hepatis lymph node"),
    "portal-vein-thrombus": Concept("396339007", "SCT", "Thrombus"),
    "effusion": _p("EFFUSION", "Effusion"),
}
ORGAN_SITES: dict[str, Concept] = {
    "liver": Concept("10200004", "SCT", "Liver"),
    "hepatic": Concept("10200004", "SCT", "Liver"),
    "lung": Concept("39607008", "SCT", "Lung"),
    "lymph node": Concept("59441001", "SCT", "Lymph node"),
    "peritoneum": Concept("15425007", "SCT", "Peritoneum"),
}

# Timepoint response (TID 1500 row 12 "Qualitative Evaluations" container).
QUALITATIVE_EVALUATIONS = Concept("C0034375", "UMLS", "Qualitative Evaluations")
RESPONSE_METHOD = Concept("112021", "DCM", "Response Evaluation Method")
TARGET_RESPONSE = _p("TRGRESP", "Target lesion response")
NONTARGET_RESPONSE = _p("NTRGRESP", "Non-target lesion response")
NEW_LESIONS = _p("NEWLIND", "New lesion indicator")
OVERALL_RESPONSE = Concept("112048", "DCM", "Current Response")
TARGET_RESPONSE_VALUES: dict[str, Concept] = {
    "CR": Concept("112041", "DCM", "Target Lesion Complete Response"),
    "PR": Concept("112042", "DCM", "Target Lesion Partial Response"),
    "PD": Concept("112043", "DCM", "Target Lesion Progressive Disease"),
    "SD": Concept("112044", "DCM", "Target Lesion Stable Disease"),
    "NE": _p("NE", "Not evaluable"),
}
NONTARGET_RESPONSE_VALUES: dict[str, Concept] = {
    "CR": Concept("112045", "DCM", "Non-Target Lesion Complete Response"),
    "IR/SD": Concept("112046", "DCM", "Non-Target Lesion Incomplete Response or Stable Disease"),
    "NON-CR/NON-PD": Concept(
        "112046", "DCM", "Non-Target Lesion Incomplete Response or Stable Disease"
    ),
    "PD": Concept("112047", "DCM", "Non-Target Lesion Progressive Disease"),
    "NE": _p("NE", "Not evaluable"),
}
NEW_LESION_VALUES: dict[str, Concept] = {
    "yes": Concept("373066001", "SCT", "Yes"),
    "no": Concept("373067005", "SCT", "No"),
    "equivocal": Concept("42425007", "SCT", "Equivocal"),
    "unknown": _p("UNKNOWN", "Unknown (new lesion search incomplete)"),
}
OVERALL_RESPONSE_VALUES: dict[str, Concept] = {
    "CR": _p("CR", "Complete response"),
    "PR": _p("PR", "Partial response"),
    "SD": _p("SD", "Stable disease"),
    "PD": _p("PD", "Progressive disease"),
    "NE": _p("NE", "Not evaluable"),
    "NON-CR/NON-PD": _p("NONCRNONPD", "Non-CR/Non-PD"),
}

# Segmentation property codes (CID 7150 category, CID 7151-ish type).
SEG_CATEGORY = Concept("49755003", "SCT", "Morphologically Abnormal Structure")
SEG_TYPE_LESION = Concept("108369006", "SCT", "Tumor")
# A thermal ablation zone is a region of coagulation necrosis; SCT "Necrosis" is the closest
# standard segmentation property type (it is in CID 7151), and the segment label says
# "ablation zone".
SEG_TYPE_ABLATION_ZONE = Concept("6574001", "SCT", "Necrosis")

MANUFACTURER = "mrecist-tool"
# Namespace of our name-based UUIDs (a fixed random UUID: changing it changes every UID).
_UID_NAMESPACE = uuid.UUID("6f1d3c2e-4b8a-5e97-a1c3-0d2b7e9f4a61")


def software_version() -> str:
    from .. import __version__

    return str(__version__ or "0")


# --------------------------------------------------------------------------------------------
# Stable UIDs
# --------------------------------------------------------------------------------------------
def stable_uid(*parts: str) -> str:
    """A ``2.25.`` UID that depends only on ``parts``: a name-based UUID (PS3.5 §B.2).

    (pydicom's ``generate_uid(prefix=None, entropy_srcs=...)`` ignores the entropy sources and
    returns a random UUID, so it cannot give a stable UID.)
    """
    name = "\x1f".join(parts)
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, name).int}"


# Case-file key (on a lesion) of a tracking UID taken over from another system's SR; "x-" marks
# it as a deliberate extension of the case format.
TRACKING_UID_KEY = "x-dicom-tracking-uid"


def lesion_tracking_uid(case: Case, lesion_id: str) -> str:
    """The lesion's Tracking Unique Identifier: the same at every timepoint and in SR and SEG.

    A UID recorded in the case file (``lesions[].x-dicom-tracking-uid``, e.g. taken over from another
    viewer's SR by ``mrecist import sr``) wins; otherwise it is derived from the subject
    pseudonym and the lesion id.
    """
    lesion = _lesion_or_none(case, lesion_id)
    if lesion is not None:
        recorded = lesion.extra.get(TRACKING_UID_KEY)
        if isinstance(recorded, str) and recorded:
            return recorded
    return stable_uid("lesion", case.subject.id, lesion_id)


def ablation_zone_tracking_uid(case: Case, lesion_id: str) -> str:
    """Tracking UID of the ablation zone of one lesion (stable across timepoints)."""
    return stable_uid("ablation-zone", case.subject.id, lesion_id)


def _lesion_or_none(case: Case, lesion_id: str) -> Lesion | None:
    for lesion in case.lesions:
        if lesion.id == lesion_id:
            return lesion
    return None


# --------------------------------------------------------------------------------------------
# Source images
# --------------------------------------------------------------------------------------------
@dataclass
class SourceInstance:
    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str
    series_uid: str
    frame_of_reference_uid: str | None
    position: tuple[float, float, float] | None
    orientation: tuple[float, ...] | None
    series_number: int | None
    study_date: str | None


@dataclass
class SourceIndex:
    """Headers of every DICOM image in a folder, grouped by study and series."""

    folder: Path
    instances: list[SourceInstance] = field(default_factory=list)
    skipped: int = 0  # files that are not DICOM images

    def series(self, series_uid: str) -> list[SourceInstance]:
        return [i for i in self.instances if i.series_uid == series_uid]

    def study_series(self, study_uid: str) -> dict[str, list[SourceInstance]]:
        out: dict[str, list[SourceInstance]] = {}
        for inst in self.instances:
            if inst.study_uid == study_uid:
                out.setdefault(inst.series_uid, []).append(inst)
        return out

    def studies(self) -> set[str]:
        return {i.study_uid for i in self.instances}


# SOP classes we never treat as source images (our own outputs, reports, presentation states).
_NON_IMAGE_PREFIXES = ("1.2.840.10008.5.1.4.1.1.88.", "1.2.840.10008.5.1.4.1.1.11.")
_SEG_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


def index_folder(folder: str | Path) -> SourceIndex:
    """Read the headers of every DICOM image below ``folder`` (recursively)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    root = Path(folder)
    if not root.is_dir():
        raise DicomError(f"{root}: not a folder of DICOM images")
    index = SourceIndex(folder=root)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError):
            index.skipped += 1
            continue
        sop_class = str(ds.get("SOPClassUID", ""))
        if (
            not sop_class
            or sop_class.startswith(_NON_IMAGE_PREFIXES)
            or sop_class == _SEG_CLASS
            or "StudyInstanceUID" not in ds
            or "SeriesInstanceUID" not in ds
        ):
            index.skipped += 1
            continue
        position = _floats(ds.get("ImagePositionPatient"))
        orientation = _floats(ds.get("ImageOrientationPatient"))
        index.instances.append(
            SourceInstance(
                path=path,
                sop_class_uid=sop_class,
                sop_instance_uid=str(ds.SOPInstanceUID),
                study_uid=str(ds.StudyInstanceUID),
                series_uid=str(ds.SeriesInstanceUID),
                frame_of_reference_uid=(
                    str(ds.FrameOfReferenceUID) if "FrameOfReferenceUID" in ds else None
                ),
                position=(position[0], position[1], position[2]) if position else None,
                orientation=tuple(orientation) if orientation else None,
                series_number=_int(ds.get("SeriesNumber")),
                study_date=str(ds.get("StudyDate", "")) or None,
            )
        )
    return index


def _floats(value: Any) -> list[float] | None:
    if value is None:
        return None
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass
class SourceSeries:
    """One single-frame image series sorted along its slice normal."""

    series_uid: str
    instances: list[SourceInstance]
    normal: np.ndarray
    offsets: np.ndarray  # position of each slice along the normal, mm, ascending

    @property
    def frame_of_reference_uid(self) -> str | None:
        return self.instances[0].frame_of_reference_uid

    def nearest_slices(self, point: Iterable[float], tolerance_mm: float) -> SourceInstance | None:
        """The slice whose plane is nearest to ``point`` (LPS mm), if within ``tolerance_mm``."""
        d = float(np.dot(np.asarray(list(point), dtype=float), self.normal))
        j = int(np.argmin(np.abs(self.offsets - d)))
        if abs(self.offsets[j] - d) > tolerance_mm:
            return None
        return self.instances[j]

    @property
    def slice_spacing(self) -> float:
        if len(self.offsets) < 2:
            return 1.0
        return float(np.median(np.diff(self.offsets)))

    def datasets(self, pixels: bool = False) -> list[Any]:
        import pydicom

        return [pydicom.dcmread(i.path, stop_before_pixels=not pixels) for i in self.instances]


def sorted_series(index: SourceIndex, series_uid: str) -> SourceSeries:
    """The instances of one series, sorted along the slice normal; a clear error otherwise."""
    instances = index.series(series_uid)
    if not instances:
        raise DicomError(f"{index.folder}: no image of series {series_uid} found in this folder")
    first = instances[0]
    if first.orientation is None or len(first.orientation) != 6 or first.position is None:
        raise DicomError(
            f"{first.path}: series {series_uid} has no Image Position/Orientation (Patient); "
            "expected single-frame cross-sectional images (CT/MR)"
        )
    row = np.asarray(first.orientation[:3])
    col = np.asarray(first.orientation[3:])
    normal = np.cross(row, col)
    offsets = []
    for inst in instances:
        if inst.position is None or inst.orientation is None:
            raise DicomError(f"{inst.path}: missing Image Position/Orientation (Patient)")
        if not np.allclose(inst.orientation, first.orientation, atol=1e-4):
            raise DicomError(
                f"{inst.path}: series {series_uid} mixes image orientations; "
                "expected one orientation per series"
            )
        offsets.append(float(np.dot(np.asarray(inst.position), normal)))
    order = np.argsort(offsets)
    return SourceSeries(
        series_uid=series_uid,
        instances=[instances[i] for i in order],
        normal=normal,
        offsets=np.asarray(offsets)[order],
    )


def choose_series(
    index: SourceIndex,
    case: Case,
    timepoint: Timepoint,
    observations: Iterable[Observation],
    series_uid: str | None = None,
) -> list[str]:
    """The series a timepoint's measurements refer to, found in the source folder.

    The ``--series`` given comes first (it is used for observations that name no series), then
    the observations' ``geometry.series_uid``.  When neither names one:
    the timepoint's series of the viability phase (arterial) then any listed series; any series
    of the timepoint's ``study_uid`` in the folder; the only study in the folder.
    """
    if series_uid and not index.series(series_uid):
        raise DicomError(f"{index.folder}: series {series_uid} is not in this folder")
    wanted: list[str] = [series_uid] if series_uid else []
    for obs in observations:
        uid = obs.geometry.series_uid if obs.geometry else None
        if uid and uid not in wanted:
            wanted.append(uid)
    missing = [uid for uid in wanted if not index.series(uid)]
    if missing:
        raise DicomError(
            f"{index.folder}: series {', '.join(missing)} (named by observations at timepoint "
            f"{timepoint.id}) not found in this folder"
        )
    if wanted:
        return wanted
    if timepoint.series:
        ordered = sorted(timepoint.series, key=lambda s: s.phase != "arterial")
        for s in ordered:
            if index.series(s.uid):
                return [s.uid]
    candidates: Mapping[str, list[SourceInstance]] = {}
    if timepoint.study_uid:
        candidates = index.study_series(timepoint.study_uid)
        if not candidates:
            raise DicomError(
                f"{index.folder}: no image of the study of timepoint {timepoint.id} "
                f"(StudyInstanceUID {timepoint.study_uid}) found in this folder"
            )
    else:
        studies = index.studies()
        if len(studies) != 1:
            raise DicomError(
                f"{index.folder}: timepoint {timepoint.id} of {case.source or 'the case'} has no "
                f"study_uid and the folder holds {len(studies)} studies; record the study_uid "
                "or pass --series UID"
            )
        candidates = index.study_series(next(iter(studies)))
    best = min(
        candidates.items(),
        key=lambda kv: (kv[1][0].series_number is None, kv[1][0].series_number or 0, kv[0]),
    )
    return [best[0]]
