"""Read TID 1500 measurement reports (ours and other viewers') back into a case file.

So measurements made in another viewer can be assessed here.  The report is walked with
pydicom item by item (not through a template library that stops at the first odd value), so
every problem is reported with the file, the content item's position in the SR tree (``1.4.2``
is the second item of the fourth item of the root, as ``dsrdump`` numbers them) and what was
expected.  What is read, per measurement group (TID 1501, 1410 or 1411):

* Tracking Identifier / Tracking Unique Identifier -> the lesion.  A lesion is matched by its
  tracking UID (the one our writers derive, or one recorded as ``x-dicom-tracking-uid``), then
  by its id; an unknown lesion is added, keeping the foreign UID so a round trip is stable.
  Groups of one report with the same tracking UID describe one lesion (as OHIF merges them).
  OHIF v3 (Cornerstone) names every group after its tool (``Cornerstone3DTools@^0.1.0:Length``)
  and keeps the user's label as a free-text Finding or Finding Site (``CORNERSTONEFREETEXT``):
  that label is the lesion id.  Another viewer's tracking UID is new to us, so its group
  matches a lesion by label when that lesion has no tracking UID of its own recorded yet.
* Measurements (TID 300, mm or cm): ``VLDIAM`` (ours) -> ``viable_diameter_mm``; SCT "Short
  axis" -> ``short_axis_mm``; SCT "Long axis", "Length" or "Diameter" -> the longest diameter,
  or the viable diameter when the long axis is read "as viable" (default ``auto``: as viable for
  an mRECIST case when the SR is not one of ours, since another viewer's long axis on the
  arterial phase is what the mRECIST reader measured); ``GAPABL`` -> gap to the ablation zone.
  Values keep the digits of the DICOM decimal string.  A value that is not a finite number, is
  negative or is implausibly large refuses the whole file.
* The line: a two-point SCOORD3D POLYLINE (the group's region, or a measurement's "inferred
  from" coordinates) becomes ``geometry.line`` (LPS mm); the series comes from the images the
  measurement references, through the SR's evidence sequences.
* Our qualitative evaluations (role, status, kind) when present.

Safety (issue 12): each file is merged on its own copy of the case and kept only when the result
passes every check of the case format; otherwise it is refused with its problems and the case
is as before.  Refused unless ``accept_conflicts``: a tracking UID that belongs to one lesion
while the tracking identifier names another, two groups of a report giving the same value of
one lesion ("duplicate group"), two lesions of a report landing on one lesion of the case, and
an existing observation whose values the report would change.

The timepoint is the case's timepoint with the SR's StudyInstanceUID, else its Time Point label,
else its study date; otherwise a timepoint is added.  Derived categories (the response in the
report) are never read: responses are recomputed from the observations.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import DicomError
from . import codes as K
from .uids import TRACKING_UID_KEY, derived_lesion_uid

LONG_AXIS_CHOICES = ("auto", "viable", "longest")
_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_UID_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,4})?$")
# OHIF v3 / Cornerstone: tracking identifiers that name a tool, and the free-text label code.
_TOOL_TRACKING_ID = re.compile(r"^Cornerstone\w*@")
_FREE_TEXT_CODES = frozenset({("CORNERSTONEFREETEXT", "CORNERSTONEJS"), ("CORNERSTONEFREETEXT", "CST4")})
SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
MAX_SR_BYTES = 256 * 1024 * 1024  # a measurement report is kilobytes; 3,000 groups are ~5 MB
# A lesion diameter over this many mm is not a measurement of a human lesion: refused.
MAX_LENGTH_MM = Decimal(1000)
_FIELDS = ("viable_mm", "longest_mm", "short_axis_mm", "gap_mm", "line", "role", "status", "kind",
           "organ", "series_uid")
_FIELD_NAMES = {
    "viable_mm": "viable diameter", "longest_mm": "longest diameter",
    "short_axis_mm": "short axis", "gap_mm": "gap to the ablation zone", "line": "line",
    "role": "role", "status": "status", "kind": "kind", "organ": "organ",
    "series_uid": "series",
}


class SRImportError(DicomError):
    """One SR file refused: every problem found, each with its place in the file.

    Parameters
    ----------
    file : pathlib.Path
        The SR file.
    problems : list of str
        Every problem found, each naming its content item.
    """

    def __init__(self, file: Path, problems: list[str]):
        self.file = file
        self.problems = problems
        super().__init__("\n".join(f"{file}: {p}" for p in problems))


@dataclass
class ImportedGroup:
    """One lesion of a report (one or more measurement groups), in case-file terms."""

    tracking_id: str | None
    tracking_uid: str | None
    location: str  # content item id(s) of the group(s), e.g. "1.4.2"
    time_point: str | None = None
    role: str | None = None
    status: str | None = None
    kind: str | None = None
    organ: str | None = None
    viable_mm: Decimal | None = None
    longest_mm: Decimal | None = None  # from SCT Long axis / Length / Diameter
    short_axis_mm: Decimal | None = None
    gap_mm: Decimal | None = None
    line: list[list[Decimal]] | None = None
    series_uid: str | None = None
    segment: str | None = None  # "SEG <uid> segment <n>" for a TID 1411 group

    @property
    def has_diameter(self) -> bool:
        return any(v is not None for v in (self.viable_mm, self.longest_mm, self.short_axis_mm))

    @property
    def label(self) -> str:
        who = self.tracking_id or self.tracking_uid or "no tracking id"
        return f"measurement group {self.location} ({who})"


@dataclass
class ImportedReport:
    """One TID 1500 SR file as read by :func:`read_sr`, in case-file terms.

    Attributes
    ----------
    file : pathlib.Path
        The SR file.
    study_uid : str or None
        The Study Instance UID of the images it measures.
    study_date : datetime.date or None
        Their study date.
    observer : str or None
        Who measured (the person observer of the report), when given.
    ours : bool
        Written by mrecist-tool (uses our coding scheme).
    groups : list of ImportedGroup
        One per lesion (one or more measurement groups each).
    criteria : str or None
        The criteria the measurements were made under (CID 6147 or ours), if the report says.
    notes : list of str
        What the reader noticed, for the person importing.
    """

    file: Path
    study_uid: str | None
    study_date: date | None
    observer: str | None
    ours: bool  # written by mrecist-tool (uses our coding scheme)
    groups: list[ImportedGroup]
    criteria: str | None = None  # from the measurements' method (CID 6147 / ours), if any
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Reading one file
# --------------------------------------------------------------------------------------------
def _text(ds: Any, keyword: str) -> str | None:
    """An element's value as text, without pydicom's value conversion (which may raise on
    malformed numbers): the raw bytes of a file, or the value of a data set built in memory."""
    try:
        elem = ds.get_item(keyword)
    except (KeyError, ValueError):
        return None
    if elem is None:
        return None
    value = elem.value
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("latin-1").strip(" \x00")
    return str(value).strip()


def _concept(item: Any, seq: str = "ConceptNameCodeSequence") -> tuple[str, str] | None:
    try:
        codes = item.get(seq)
    except Exception:
        return None
    if not codes:
        return None
    c = codes[0]
    return (_text(c, "CodeValue") or _text(c, "LongCodeValue") or _text(c, "URNCodeValue") or "",
            _text(c, "CodingSchemeDesignator") or "")


def _meaning(item: Any) -> str:
    try:
        codes = item.get("ConceptNameCodeSequence")
        return (_text(codes[0], "CodeMeaning") or "?") if codes else "?"
    except Exception:
        return "?"


def _children(item: Any, location: str) -> Iterator[tuple[str, Any]]:
    for n, child in enumerate(item.get("ContentSequence", None) or [], 1):
        yield f"{location}.{n}", child


def _value_type(item: Any) -> str:
    return (_text(item, "ValueType") or "").upper()


def read_sr(path: str | Path) -> ImportedReport:
    """Read the measurement groups of one TID 1500 SR file.

    Parameters
    ----------
    path : str or pathlib.Path
        The SR file.

    Returns
    -------
    ImportedReport
        Its study, observer and lesions.

    Raises
    ------
    SRImportError
        Not a DICOM SR, not a TID 1500 measurement report, or a measurement group with a
        malformed value; the error lists every problem with its content item.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    from ..safe_files import NotRegularFileError, TooLargeError, open_regular

    file = Path(path)
    try:
        with open_regular(file, max_bytes=MAX_SR_BYTES, what="SR") as fh:
            ds = pydicom.dcmread(fh)
            sop_class = _text(ds, "SOPClassUID") or ""
    except (NotRegularFileError, TooLargeError) as exc:
        raise SRImportError(file, [f"{_strip(str(exc), file)}; skipped"]) from None
    except (InvalidDicomError, EOFError) as exc:
        raise SRImportError(file, [f"not a DICOM file ({exc})"]) from None
    except OSError as exc:
        raise SRImportError(file, [f"cannot be read ({exc.strerror or exc})"]) from None
    except Exception as exc:  # a truncated or garbled file: pydicom raises several types
        raise SRImportError(file, [f"not a readable DICOM file ({type(exc).__name__}: {exc})"]) from None
    try:
        return _read_dataset(ds, file, sop_class)
    except SRImportError:
        raise
    except Exception as exc:  # a structure no check above foresaw: refuse the file, never crash
        raise SRImportError(file, [f"unreadable SR structure ({type(exc).__name__}: {exc})"]) from None


def _strip(message: str, file: Path) -> str:
    prefix = f"{file}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _read_dataset(ds: Any, file: Path, sop_class: str) -> ImportedReport:
    if not sop_class.startswith(SR_CLASS_PREFIX):
        raise SRImportError(file, [f"not a DICOM Structured Report (SOP Class UID {sop_class or 'missing'})"])
    title = _concept(ds)
    templates = [(_text(t, "TemplateIdentifier") or "") for t in ds.get("ContentTemplateSequence", None) or []]
    if title != K.MEASUREMENT_REPORT.key and "1500" not in templates:
        shown = f"{title[0]} {title[1]} {_meaning(ds)!r}" if title else "none"
        raise SRImportError(file, [
            f"content item 1: not a TID 1500 Measurement Report (document title {shown}, "
            f"template {', '.join(templates) or 'none'}); expected DCM 126000 'Imaging Measurement Report'"
        ])
    problems: list[str] = []
    notes: list[str] = []
    evidence = _evidence_series(ds)
    groups_raw: list[tuple[str, Any]] = []
    for loc, item in _children(ds, "1"):
        if _concept(item) == K.IMAGING_MEASUREMENTS.key:
            for gloc, group in _children(item, loc):
                if _concept(group) == K.MEASUREMENT_GROUP.key:
                    groups_raw.append((gloc, group))
    if not groups_raw:
        raise SRImportError(file, ["the measurement report holds no measurement group "
                                   "(DCM 126010 'Imaging Measurements' / DCM 125007 'Measurement Group')"])
    criteria: set[str] = set()
    parsed = [_read_group(loc, g, evidence, problems, notes, criteria) for loc, g in groups_raw]
    groups = _combine(parsed, problems)
    if problems:
        raise SRImportError(file, problems)

    observer = None
    for _loc, item in _children(ds, "1"):
        if _concept(item) == ("121008", "DCM") and _value_type(item) == "PNAME":
            observer = (_text(item, "PersonName") or "").strip("^ ") or None
            break
    study_date = None
    raw_date = _text(ds, "StudyDate") or ""
    if len(raw_date) == 8 and raw_date.isdigit():
        try:
            study_date = date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:]))
        except ValueError:
            study_date = None
    study_uid = _text(ds, "StudyInstanceUID")
    schemes = [_text(x, "CodingSchemeDesignator") for x in ds.get("CodingSchemeIdentificationSequence", None) or []]
    return ImportedReport(
        file=file,
        study_uid=study_uid if study_uid and _UID_RE.fullmatch(study_uid) else None,
        study_date=study_date,
        observer=observer,
        ours=K.PRIVATE_SCHEME in schemes,
        groups=groups,
        criteria=criteria.pop() if len(criteria) == 1 else None,
        notes=[f"{file}: {n}" for n in notes],
    )


def _evidence_series(ds: Any) -> dict[str, str]:
    """SOP Instance UID -> Series Instance UID, from the SR's evidence sequences."""
    out: dict[str, str] = {}
    for seq_name in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in ds.get(seq_name, None) or []:
            for series in study.get("ReferencedSeriesSequence", None) or []:
                series_uid = _text(series, "SeriesInstanceUID") or ""
                for inst in series.get("ReferencedSOPSequence", None) or []:
                    out[_text(inst, "ReferencedSOPInstanceUID") or ""] = series_uid
    return out


def _number(text: str | None, where: str, what: str, problems: list[str]) -> Decimal | None:
    if text is None or text == "":
        problems.append(f"{where}: {what}: NumericValue is empty; expected a number")
        return None
    shown = text if len(text) <= 40 else text[:40] + "..."
    if not _NUMBER_RE.fullmatch(text):
        problems.append(f"{where}: {what}: NumericValue {shown!r} is not a number")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        problems.append(f"{where}: {what}: NumericValue {shown!r} is not a number")
        return None
    if not value.is_finite():
        problems.append(f"{where}: {what}: NumericValue {shown!r} is not a finite number")
        return None
    return value


def _length_mm(item: Any, where: str, what: str, problems: list[str], notes: list[str]) -> Decimal | None:
    seq = item.get("MeasuredValueSequence", None)
    if not seq:
        notes.append(f"content item {where}: {what} without a measured value (e.g. a measurement "
                     "failure) skipped")
        return None
    value = _number(_text(seq[0], "NumericValue"), f"content item {where}", what, problems)
    if value is None:
        return None
    units = _concept(seq[0], "MeasurementUnitsCodeSequence")
    unit = units[0] if units else ""
    if unit == "cm":
        value = value * 10
    elif unit != "mm":
        problems.append(f"content item {where}: {what}: unit {unit or 'missing'!r} is not a "
                        "length; expected UCUM mm or cm")
        return None
    if value < 0:
        problems.append(f"content item {where}: {what}: {value} mm is negative; expected a "
                        "length of 0 mm or more")
        return None
    if value > MAX_LENGTH_MM:
        problems.append(f"content item {where}: {what}: {value:.6g} mm is not a plausible lesion "
                        f"length (at most {MAX_LENGTH_MM} mm)")
        return None
    return value


def _line(item: Any, where: str, problems: list[str], notes: list[str]) -> list[list[Decimal]] | None:
    """A two-point SCOORD3D POLYLINE as LPS mm decimals."""
    graphic = (_text(item, "GraphicType") or "").upper()
    if graphic != "POLYLINE":
        notes.append(f"content item {where}: a {graphic or 'untyped'} region is not a diameter "
                     "line; geometry not imported")
        return None
    try:
        data = [float(v) for v in item.GraphicData]
    except (TypeError, ValueError, AttributeError):
        problems.append(f"content item {where}: GraphicData is not a list of numbers")
        return None
    if len(data) != 6:
        notes.append(f"content item {where}: a polyline of {len(data) // 3} points is not a "
                     "diameter line; geometry not imported")
        return None
    if not all(abs(v) < 1e6 for v in data):  # also false for NaN and infinities
        problems.append(f"content item {where}: GraphicData holds a non-finite or implausible "
                        "coordinate")
        return None
    import numpy as np

    # SCOORD3D graphic data are 32-bit floats: the shortest decimal that round-trips as a
    # float32 is the value that was written (e.g. 6.3, not 6.30000019).
    return [[Decimal(str(np.float32(v))) for v in data[i:i + 3]] for i in (0, 3)]


def _series_of(item: Any, evidence: dict[str, str]) -> list[str]:
    out = []
    for ref in item.get("ReferencedSOPSequence", None) or []:
        uid = evidence.get(_text(ref, "ReferencedSOPInstanceUID") or "")
        if uid and uid not in out:
            out.append(uid)
    return out


def _read_group(
    location: str, group: Any, evidence: dict[str, str], problems: list[str], notes: list[str],
    criteria: set[str],
) -> ImportedGroup:
    out = ImportedGroup(tracking_id=None, tracking_uid=None, location=location)
    label: str | None = None  # an OHIF / Cornerstone free-text label
    series: list[str] = []
    measured: dict[str, str] = {}  # field -> content item where it was set
    for loc, item in _children(group, location):
        concept = _concept(item)
        vt = _value_type(item)
        where = f"content item {loc}"
        if concept == K.TRACKING_IDENTIFIER.key:
            out.tracking_id = _text(item, "TextValue") or None
        elif concept == K.TRACKING_UID.key:
            uid = _text(item, "UID") or ""
            if not _UID_RE.fullmatch(uid) or len(uid) > 64:
                problems.append(f"{where}: Tracking Unique Identifier {uid[:70]!r} is not a DICOM UID")
            else:
                out.tracking_uid = uid
        elif concept in K.TIME_POINT_NAMES and vt == "TEXT":
            out.time_point = out.time_point or _text(item, "TextValue") or None
        elif concept == K.FINDING.key:
            value = _concept(item, "ConceptCodeSequence")
            kind = _KIND_BY_CODE.get(value) if value else None
            out.kind = out.kind or kind
            label = label or _free_text_label(item, value)
        elif concept in (K.FINDING_SITE.key, ("G-C0E3", "SRT")):
            value = _concept(item, "ConceptCodeSequence")
            out.organ = out.organ or (K.ORGAN_BY_CODE.get(value) if value else None)
            label = label or _free_text_label(item, value)
        elif vt == "SCOORD3D":
            line = _line(item, loc, problems, notes)
            if line is not None:
                out.line = line
        elif vt == "SCOORD":
            for _, ref in _children(item, loc):
                series.extend(s for s in _series_of(ref, evidence) if s not in series)
        elif vt == "IMAGE" and concept == K.REFERENCED_SEGMENT.key:
            refs = item.get("ReferencedSOPSequence", None) or []
            if refs:
                number = _text(refs[0], "ReferencedSegmentNumber") or "?"
                out.segment = f"SEG {_text(refs[0], 'ReferencedSOPInstanceUID')} segment {number}"
        elif vt == "UIDREF" and concept == K.SOURCE_SERIES_FOR_SEGMENTATION.key:
            source = _text(item, "UID")
            if source and source not in series:
                series.append(source)
        elif vt == "NUM":
            name = _NUM_FIELDS.get(concept) if concept else None
            if name is None:
                continue  # a measurement we do not keep (volume, mean HU, ...)
            what = f"{_meaning(item)!r}"
            length = _length_mm(item, loc, what, problems, notes)
            if length is not None:
                if name in measured:
                    problems.append(f"{where}: a second {_FIELD_NAMES[name]} in the group (the first "
                                    f"is content item {measured[name]}); expected one")
                measured[name] = loc
                setattr(out, name, length)
            for cloc, child in _children(item, loc):
                cvt = _value_type(child)
                cconcept = _concept(child)
                if cconcept == K.MEASUREMENT_METHOD.key:
                    method = _concept(child, "ConceptCodeSequence")
                    if method == K.RECIST_11.key:
                        criteria.add("RECIST1.1")
                    elif method == K.MRECIST.key:
                        criteria.add("mRECIST")
                elif cvt == "IMAGE":
                    series.extend(s for s in _series_of(child, evidence) if s not in series)
                elif cvt == "SCOORD3D" and out.line is None:
                    out.line = _line(child, cloc, problems, notes)
                elif cvt == "SCOORD":
                    for _, ref in _children(child, cloc):
                        series.extend(s for s in _series_of(ref, evidence) if s not in series)
        elif vt == "CODE":
            value = _concept(item, "ConceptCodeSequence")
            if value is None:
                continue
            if concept == K.LESION_ROLE.key or concept in K.LEGACY_ROLE_CONCEPTS:
                out.role = _ROLE_BY_CODE.get(value)
            elif concept == K.LESION_STATUS.key:
                out.status = _STATUS_BY_CODE.get(value)
            elif concept == K.LEGACY_KIND_CONCEPT:
                out.kind = _KIND_BY_CODE.get(value) or out.kind
    if series:
        out.series_uid = series[0]
    if label and (out.tracking_id is None or _TOOL_TRACKING_ID.match(out.tracking_id)):
        out.tracking_id = label
    if out.line is None and out.series_uid is None and any(
        _value_type(i) == "SCOORD" for _, i in _children(group, location)
    ):
        notes.append(f"{out.label}: 2D image coordinates are not converted to a line; geometry "
                     "not imported")
    return out


def _free_text_label(item: Any, value: tuple[str, str] | None) -> str | None:
    """The user's label of an OHIF / Cornerstone measurement (a free-text coded value)."""
    if value not in _FREE_TEXT_CODES:
        return None
    try:
        meaning = _text(item.ConceptCodeSequence[0], "CodeMeaning")
    except (AttributeError, IndexError):
        return None
    return meaning.strip() if meaning and meaning.strip() else None


def _combine(groups: list[ImportedGroup], problems: list[str]) -> list[ImportedGroup]:
    """One entry per lesion: groups with the same tracking UID (or, without one, the same
    tracking identifier) are merged; a value given twice is a duplicate and refused."""
    merged: dict[tuple[str, str], ImportedGroup] = {}
    out: list[ImportedGroup] = []
    for g in groups:
        key = ("uid", g.tracking_uid) if g.tracking_uid else (
            ("id", g.tracking_id) if g.tracking_id else ("none", g.location))
        first = merged.get(key)
        if first is None:
            merged[key] = g
            out.append(g)
            continue
        if key[0] == "uid" and g.tracking_id and first.tracking_id and g.tracking_id != first.tracking_id:
            problems.append(
                f"{g.label}: tracking UID collision: measurement group {first.location} has the "
                f"same tracking UID but the tracking identifier {first.tracking_id!r}; one UID "
                "cannot be two lesions"
            )
            continue
        for name in _FIELDS:
            new, old = getattr(g, name), getattr(first, name)
            if new is None:
                continue
            if old is not None and name not in ("kind", "organ", "series_uid"):
                problems.append(
                    f"{g.label}: duplicate group: the {_FIELD_NAMES[name]} of this lesion is "
                    f"already given by measurement group {first.location} (same tracking "
                    f"{'UID' if key[0] == 'uid' else 'identifier'}); refused rather than keeping "
                    "the last (pass --accept-conflicts to keep the last)"
                )
            elif old is None:
                setattr(first, name, new)
        first.tracking_id = first.tracking_id or g.tracking_id
        first.time_point = first.time_point or g.time_point
        first.segment = first.segment or g.segment
        first.location += f"+{g.location}"
    return out


def _reverse(table: dict[str, K.Concept]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for key, concept in table.items():
        out.setdefault(concept.key, key)
    return out


_ROLE_BY_CODE = {**_reverse(K.ROLE_VALUES), **K.LEGACY_ROLE_CODES}
_STATUS_BY_CODE = {**_reverse(K.STATUS_VALUES), **K.LEGACY_STATUS_CODES}
_KIND_BY_CODE = {**_reverse(K.KIND_VALUES), **K.LEGACY_KIND_CODES}
_NUM_FIELDS: dict[tuple[str, str], str] = {
    K.VIABLE_DIAMETER.key: "viable_mm",
    K.LONG_AXIS.key: "longest_mm",
    K.LENGTH.key: "longest_mm",
    K.DIAMETER.key: "longest_mm",
    K.SHORT_AXIS.key: "short_axis_mm",
    K.GAP_TO_ABLATION_ZONE.key: "gap_mm",
}


# --------------------------------------------------------------------------------------------
# Merging into a case (as plain JSON data, checked afterwards by casefile.case_from_dict)
# --------------------------------------------------------------------------------------------
def new_case_data(subject_id: str) -> dict[str, Any]:
    """The skeleton of a new case file for ``subject_id`` (a pseudonym)."""
    if not _ID_RE.fullmatch(subject_id):
        raise ValueError(f"subject id {subject_id!r}: expected 1-64 letters, digits, '.', '_' or '-'")
    return {
        "format": "mrecist-case",
        "version": 1,
        "subject": {"id": subject_id},
        "timepoints": [],
        "lesions": [],
        "observations": [],
    }


def _as_id(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:64] or "lesion"
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = base[: 64 - len(suffix)] + suffix
        n += 1
    return candidate


def _find_timepoint(data: dict[str, Any], report: ImportedReport, timepoint_id: str | None) -> dict[str, Any] | None:
    tps = data["timepoints"]
    if timepoint_id:
        return next((t for t in tps if t.get("id") == timepoint_id), None)
    if report.study_uid:
        for tp in tps:
            if tp.get("study_uid") == report.study_uid:
                return tp
    labels = {g.time_point for g in report.groups if g.time_point}
    if len(labels) == 1:
        label = next(iter(labels))
        for tp in tps:
            if tp.get("id") == label:
                return tp
    if report.study_date:
        for tp in tps:
            if str(tp.get("date")) == report.study_date.isoformat():
                return tp
    return None


def _tp_date(tp: dict[str, Any]) -> str:
    return str(tp.get("date"))


@dataclass
class _CaseIndex:
    """Lookups over case data, built once per report so merging is linear in its size."""

    by_id: dict[str, dict[str, Any]]
    by_uid: dict[str, dict[str, Any]]
    observations: dict[tuple[str, str], dict[str, Any]]

    @classmethod
    def of(cls, data: dict[str, Any]) -> _CaseIndex:
        subject = str(data["subject"]["id"])
        by_id: dict[str, dict[str, Any]] = {}
        by_uid: dict[str, dict[str, Any]] = {}
        for lesion in data["lesions"]:
            lid = str(lesion["id"])
            by_id[lid] = lesion
            recorded = lesion.get(TRACKING_UID_KEY)
            by_uid[recorded if isinstance(recorded, str) and recorded else derived_lesion_uid(subject, lid)] = lesion
        obs = {(str(o.get("lesion")), str(o.get("timepoint"))): o for o in data["observations"]}
        return cls(by_id, by_uid, obs)


def _lesion_uid(data: dict[str, Any], lesion: dict[str, Any]) -> str:
    recorded = lesion.get(TRACKING_UID_KEY)
    if isinstance(recorded, str) and recorded:
        return recorded
    return derived_lesion_uid(str(data["subject"]["id"]), str(lesion["id"]))


def merge_report(
    data: dict[str, Any],
    report: ImportedReport,
    *,
    timepoint_id: str | None = None,
    long_axis_as: str = "auto",
    accept_conflicts: bool = False,
) -> list[str]:
    """Merge one imported report into case data (a ``case_to_dict`` dict), in place.

    Returns notes for the person importing (what was added or changed).  The caller checks the
    result with :func:`mrecist_tool.casefile.case_from_dict` and keeps it only when valid.

    Raises
    ------
    SRImportError
        A conflict (see the module docstring) when not ``accept_conflicts``, or a report whose
        timepoint cannot be found or made; ``data`` may then be half-merged: merge on a copy.
    """
    if long_axis_as not in LONG_AXIS_CHOICES:
        raise ValueError(f"long_axis_as: expected one of {LONG_AXIS_CHOICES}, found {long_axis_as!r}")
    notes: list[str] = []
    problems: list[str] = []
    file = report.file
    criteria = data.get("criteria") or "mRECIST"
    tp = _find_timepoint(data, report, timepoint_id)
    if tp is None:
        labels = {g.time_point for g in report.groups if g.time_point}
        new_id = timepoint_id or (next(iter(labels)) if len(labels) == 1 else None)
        if report.study_date is None:
            raise SRImportError(file, ["StudyDate: no timepoint of the case matches this report and it "
                                       "has no study date to add one; pass --timepoint"])
        if not new_id or not _ID_RE.fullmatch(new_id):
            new_id = f"T{report.study_date:%Y%m%d}"
        new_id = _as_id(new_id, {str(t["id"]) for t in data["timepoints"]})
        tp = {"id": new_id, "date": report.study_date.isoformat()}
        if report.study_uid:
            tp["study_uid"] = report.study_uid
        data["timepoints"].append(tp)
        notes.append(f"{file}: added timepoint {new_id} ({tp['date']})")
    elif report.study_uid and not tp.get("study_uid") and not timepoint_id:
        tp["study_uid"] = report.study_uid
    mode = long_axis_as
    if mode == "auto":
        mode = "longest" if report.ours or criteria != "mRECIST" else "viable"
        if mode == "viable" and any(g.longest_mm is not None for g in report.groups):
            notes.append(f"{file}: long-axis measurements read as viable tumour diameters "
                         "(mRECIST case; use --long-axis-as longest to keep them as whole-lesion)")
    index = _CaseIndex.of(data)
    claimed: dict[str, str] = {}  # case lesion id -> group label that matched it
    for group in report.groups:
        lesion = _match_lesion(data, index, group, accept_conflicts, problems, notes, file, report.ours)
        if lesion is not None:
            lid = str(lesion["id"])
            if lid in claimed:
                problems.append(f"{group.label}: matches lesion {lid} of the case, which "
                                f"{claimed[lid]} of this report already matched; two lesions of the "
                                "report cannot be one lesion of the case")
                continue
            claimed[lid] = group.label
        _merge_group(data, index, report, group, lesion, tp, mode, accept_conflicts, problems, notes)
    if problems:
        raise SRImportError(file, problems)
    return notes


def _match_lesion(
    data: dict[str, Any], index: _CaseIndex, group: ImportedGroup, accept: bool,
    problems: list[str], notes: list[str], file: Path, ours: bool,
) -> dict[str, Any] | None:
    by_uid = index.by_uid.get(group.tracking_uid) if group.tracking_uid else None
    by_id = index.by_id.get(group.tracking_id) if group.tracking_id else None
    if by_uid is not None:
        if by_id is not None and by_id is not by_uid:
            msg = (f"{group.label}: tracking UID collision: the tracking UID is lesion "
                   f"{by_uid['id']}'s but the tracking identifier names lesion {by_id['id']}")
            if not accept:
                problems.append(msg + "; refused (pass --accept-conflicts to go by the UID)")
                return None
            notes.append(f"{file}: {msg}; matched by the UID (--accept-conflicts)")
        return by_uid
    if by_id is not None:
        recorded = by_id.get(TRACKING_UID_KEY)
        if group.tracking_uid and not recorded and not ours:
            # Another viewer's first report of a lesion it labels like ours: its UIDs are its
            # own, so the label is the link (the lesion keeps its tracking UID).
            notes.append(f"{file}: {group.label}: matched lesion {by_id['id']} by its label")
            return by_id
        if group.tracking_uid and group.tracking_uid != _lesion_uid(data, by_id):
            msg = (f"{group.label}: the tracking identifier names lesion {by_id['id']} but the "
                   f"tracking UID is not that lesion's (another lesion with the same label?)")
            if not accept:
                problems.append(msg + "; refused (pass --accept-conflicts to match by the identifier)")
                return None
            notes.append(f"{file}: {msg}; matched by the identifier (--accept-conflicts)")
        return by_id
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        return Decimal(str(a)) == Decimal(str(b))
    return bool(a == b)


def _merge_group(
    data: dict[str, Any], index: _CaseIndex, report: ImportedReport, group: ImportedGroup,
    lesion: dict[str, Any] | None, tp: dict[str, Any], long_axis_mode: str, accept: bool,
    problems: list[str], notes: list[str],
) -> None:
    file = report.file
    tp_id = str(tp["id"])
    subject_id = str(data["subject"]["id"])
    if lesion is None:
        lesion_id = _as_id(group.tracking_id or "lesion", set(index.by_id))
        is_baseline = bool(tp.get("baseline")) or not any(
            t.get("baseline") or _tp_date(t) < _tp_date(tp) for t in data["timepoints"]
        )
        role = group.role or ("target" if is_baseline else "new")
        lesion = {"id": lesion_id, "role": role}
        if group.kind and group.kind != "tumor":
            lesion["kind"] = group.kind
        if group.organ:
            lesion["organ"] = group.organ
        if group.tracking_uid and group.tracking_uid != derived_lesion_uid(subject_id, lesion_id):
            lesion[TRACKING_UID_KEY] = group.tracking_uid
        data["lesions"].append(lesion)
        index.by_id[lesion_id] = lesion
        index.by_uid[_lesion_uid(data, lesion)] = lesion
        how = "from the report" if group.role else "by default (check it)"
        notes.append(f"{file}: added lesion {lesion_id} with role {role} {how}")
    lesion_id = str(lesion["id"])

    viable, longest = group.viable_mm, group.longest_mm
    if long_axis_mode == "viable" and viable is None and longest is not None:
        viable, longest = longest, None
    values: dict[str, Any] = {
        "viable_diameter_mm": viable,
        "longest_diameter_mm": longest,
        "short_axis_mm": group.short_axis_mm,
    }
    status = group.status or ("measured" if group.has_diameter else None)
    existing = index.observations.get((lesion_id, tp_id))
    if existing is not None:
        changes = []
        if status is not None and existing.get("status") != status:
            changes.append(f"status {existing.get('status')} -> {status}")
        for key, value in [*values.items(), ("gap_to_ablation_zone_mm", group.gap_mm)]:
            old = existing.get(key)
            if value is not None and old is not None and not _same(old, value):
                changes.append(f"{key} {old} -> {value}")
        if group.line is not None:
            old_line = (existing.get("geometry") or {}).get("line")
            if old_line is not None and not all(
                _same(a, b) for p, q in zip(old_line, group.line, strict=True) for a, b in zip(p, q, strict=True)
            ):
                changes.append("geometry.line")
        if changes:
            msg = (f"{group.label}: would change the recorded observation of {lesion_id} at "
                   f"{tp_id} ({'; '.join(changes)})")
            if not accept:
                problems.append(msg + "; refused (pass --accept-conflicts to replace it)")
                return
            notes.append(f"{file}: {msg}; replaced (--accept-conflicts)")
        obs = existing
        action = "updated" if changes else "unchanged"
    else:
        obs = {"lesion": lesion_id, "timepoint": tp_id, "status": "present"}
        data["observations"].append(obs)
        index.observations[(lesion_id, tp_id)] = obs
        action = "added"
    if status is not None:
        obs["status"] = status
        if status != "measured":
            for key, value in values.items():
                if value is None:
                    obs.pop(key, None)
    for key, value in values.items():
        if value is not None:
            obs[key] = value
    if group.gap_mm is not None:
        obs["gap_to_ablation_zone_mm"] = group.gap_mm
    if report.observer and report.observer != data.get("reader") and action == "added":
        obs["reader"] = report.observer  # the case's own reader needs no repeating
    if group.line is not None or group.series_uid:
        geometry = dict(obs.get("geometry") or {})
        if group.series_uid:
            geometry["series_uid"] = group.series_uid
        if group.line is not None:
            geometry["line"] = group.line
        obs["geometry"] = geometry
    shown = ", ".join(f"{k}={v}" for k, v in values.items() if v is not None) or obs["status"]
    notes.append(f"{file}: {action} {lesion_id} at {tp_id}: {shown}")


def finalize(data: dict[str, Any], *, new_case: bool = False) -> list[str]:
    """Timepoints in date order; a case without a baseline takes its earliest (in a case the
    import creates, the earliest so far: a later file may bring an earlier study)."""
    notes = []
    tps = data["timepoints"]
    tps.sort(key=_tp_date)
    before = next((t["id"] for t in tps if t.get("baseline")), None)
    if new_case:
        for t in tps:
            t.pop("baseline", None)
    if tps and not any(t.get("baseline") for t in tps):
        tps[0]["baseline"] = True
        if tps[0]["id"] != before:
            notes.append(f"timepoint {tps[0]['id']} taken as the baseline (earliest)")
    return notes


@dataclass
class ImportResult:
    """What :func:`import_reports` did, file by file.

    Attributes
    ----------
    data : dict of str to Any
        The case data after every file that was kept (a ``case_to_dict`` dict).
    imported : list of pathlib.Path
        The files merged.
    refused : dict of pathlib.Path to list of str
        The files refused, each with its problems.
    notes : list of str
        What was added or changed, for the person importing.
    """

    data: dict[str, Any]
    imported: list[Path] = field(default_factory=list)
    refused: dict[Path, list[str]] = field(default_factory=dict)  # file -> its problems
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f"{f}: {p}" for f, ps in self.refused.items() for p in ps]


def import_reports(
    files: Sequence[str | Path],
    *,
    case_data: dict[str, Any] | None = None,
    subject_id: str | None = None,
    timepoint_id: str | None = None,
    long_axis_as: str = "auto",
    accept_conflicts: bool = False,
    out_name: str | Path = "<merged case>",
) -> ImportResult:
    """Read SR files and merge them, each on its own, into case data (or a new case).

    Each file is read, merged into a copy of the case as it stands after the files before it,
    and the copy is checked with :func:`mrecist_tool.casefile.case_from_dict`; the file is
    kept only when all of this succeeds, otherwise it is refused with every problem found (its
    content item, or the JSON path of the merged case) and the case is as before.

    Parameters
    ----------
    files : Sequence of str or pathlib.Path
        The SR files, merged in order of their study dates.
    case_data : dict of str to Any or None, optional
        The case to merge into (a ``case_to_dict`` dict; not changed); None starts a new case.
    subject_id : str or None, optional
        The subject pseudonym of a new case (needed when ``case_data`` is None).
    timepoint_id : str or None, optional
        The timepoint the reports belong to, when their study cannot be matched or should be
        named.
    long_axis_as : str, optional
        How long-axis measurements are read: ``"auto"`` (whole-lesion unless an mRECIST case
        reads another tool's report), ``"viable"`` or ``"longest"``.
    accept_conflicts : bool, optional
        Overwrite values the case already has with the report's instead of refusing the file.
    out_name : str or pathlib.Path, optional
        The name of the merged case in messages.

    Returns
    -------
    ImportResult
        The merged data, the files kept and refused, and notes.

    Raises
    ------
    ValueError
        When a new case is asked for without ``subject_id``, or ``long_axis_as`` is unknown.
    """
    from ..casefile import case_from_dict
    from ..errors import CaseFileError

    new_case = case_data is None
    if case_data is None:
        if not subject_id:
            raise ValueError("a new case needs a subject pseudonym (--subject ID)")
        case_data = new_case_data(subject_id)
    result = ImportResult(data=case_data)
    reports: list[ImportedReport] = []
    for f in files:
        try:
            reports.append(read_sr(f))
        except SRImportError as exc:
            result.refused[Path(f)] = exc.problems
    if new_case:
        # A new case takes the criteria the reports were measured under (the format's default,
        # mRECIST, otherwise).
        found = {r.criteria for r in reports if r.criteria}
        if len(found) == 1:
            case_data["criteria"] = found.pop()
    reports.sort(key=lambda r: r.study_date or date.max)
    for report in reports:
        trial = copy.deepcopy(result.data)
        try:
            notes = merge_report(trial, report, timepoint_id=timepoint_id,
                                 long_axis_as=long_axis_as, accept_conflicts=accept_conflicts)
            notes += finalize(trial, new_case=new_case)
            case_from_dict(trial, file=out_name)
        except SRImportError as exc:
            result.refused[report.file] = exc.problems
            continue
        except CaseFileError as exc:
            result.refused[report.file] = [
                f"the case with this report merged would not be valid: {p}" for p in exc.problems
            ] or [f"the case with this report merged would not be valid: {exc}"]
            continue
        result.data = trial
        result.imported.append(report.file)
        result.notes.extend(report.notes + notes)
    return result
