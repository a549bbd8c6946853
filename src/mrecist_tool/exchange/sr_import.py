"""Read TID 1500 measurement reports (ours and other viewers') back into a case file.

So measurements made in another viewer can be assessed here.  What is read, per measurement
group (TID 1501, 1410 or 1411):

* Tracking Identifier / Tracking Unique Identifier -> the lesion.  A lesion is matched by its
  tracking UID (the one our writers derive, or one recorded as ``x-dicom-tracking-uid``), then
  by its id; an unknown lesion is added, keeping the foreign UID so a round trip is stable.
* Measurements (TID 300, mm or cm): ``VLDIAM`` (ours) -> ``viable_diameter_mm``; SCT "Short
  axis" -> ``short_axis_mm``; SCT "Long axis", "Length" or "Diameter" -> the longest diameter,
  or the viable diameter when the long axis is read "as viable" (default ``auto``: as viable for
  an mRECIST case when the SR is not one of ours, since another viewer's long axis on the
  arterial phase is what the mRECIST reader measured); ``GAPABL`` -> gap to the ablation zone.
  Values keep the digits of the DICOM decimal string.
* The region: a two-point SCOORD3D POLYLINE becomes ``geometry.line`` (LPS mm); the series comes
  from the images the measurement references, through the SR's evidence sequences.
* Our qualitative evaluations (role, status, kind) when present.

The timepoint is the case's timepoint with the SR's StudyInstanceUID, else its Time Point label,
else its study date; otherwise a timepoint is added.  Derived categories (the response in the
report) are never read: responses are recomputed from the observations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import DicomError
from . import _dicom_common as C
from ._deps import require

LONG_AXIS_CHOICES = ("auto", "viable", "longest")
_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_TIME_POINT_NAMES = {
    ("C2348792", "UMLS"),  # Time Point (TID 1502)
    ("126071", "DCM"),  # Protocol Time Point Identifier
    ("126070", "DCM"),  # Subject Time Point Identifier
}


@dataclass
class ImportedGroup:
    """One measurement group of a report, in case-file terms."""

    tracking_id: str | None
    tracking_uid: str | None
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

    @property
    def has_diameter(self) -> bool:
        return any(v is not None for v in (self.viable_mm, self.longest_mm, self.short_axis_mm))


@dataclass
class ImportedReport:
    file: Path
    study_uid: str | None
    study_date: date | None
    observer: str | None
    ours: bool  # written by mrecist-tool (uses our coding scheme)
    groups: list[ImportedGroup]
    criteria: str | None = None  # from the measurements' method (CID 6147 / ours), if any
    notes: list[str] = field(default_factory=list)


def _decimal(text: Any) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _float32_decimal(value: float) -> Decimal:
    # SCOORD3D graphic data are 32-bit floats: the shortest decimal that round-trips as a float32
    # is the value that was written (e.g. 6.3, not 6.30000019).
    import numpy as np

    return Decimal(str(np.float32(value)))


def _concept_key(coded: Any) -> tuple[str, str]:
    return (str(getattr(coded, "value", "")), str(getattr(coded, "scheme_designator", "")))


def _reverse(table: dict[str, C.Concept]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for key, concept in table.items():
        out.setdefault((concept.value, concept.scheme), key)
    return out


_ROLE_BY_CODE = _reverse(C.ROLE_VALUES)
_STATUS_BY_CODE = _reverse(C.STATUS_VALUES)
_KIND_BY_CODE = _reverse(C.KIND_VALUES)
_ORGAN_BY_CODE = {
    ("10200004", "SCT"): "liver",
    ("39607008", "SCT"): "lung",
    ("59441001", "SCT"): "lymph node",
    ("15425007", "SCT"): "peritoneum",
}
_LONGEST_NAMES = {
    (C.LONG_AXIS.value, C.LONG_AXIS.scheme),
    (C.LENGTH.value, C.LENGTH.scheme),
    (C.DIAMETER.value, C.DIAMETER.scheme),
}


def _evidence_series(ds: Any) -> dict[str, str]:
    """SOP Instance UID -> Series Instance UID, from the SR's evidence sequences."""
    out: dict[str, str] = {}
    for seq_name in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in ds.get(seq_name, []):
            for series in study.get("ReferencedSeriesSequence", []):
                for inst in series.get("ReferencedSOPSequence", []):
                    out[str(inst.ReferencedSOPInstanceUID)] = str(series.SeriesInstanceUID)
    return out


def _uses_private_scheme(ds: Any) -> bool:
    return any(
        getattr(item, "CodingSchemeDesignator", None) == C.PRIVATE_SCHEME
        for item in ds.get("CodingSchemeIdentificationSequence", [])
    )


def _time_point_text(group: Any) -> str | None:
    for item in group[0].get("ContentSequence", []):
        if getattr(item, "ValueType", "") != "TEXT":
            continue
        names = item.get("ConceptNameCodeSequence", [])
        if names and (str(names[0].CodeValue), str(names[0].CodingSchemeDesignator)) in _TIME_POINT_NAMES:
            text = str(getattr(item, "TextValue", "")).strip()
            if text:
                return text
    return None


def _length_mm(measurement: Any, file: Path, label: str, notes: list[str]) -> Decimal | None:
    item = measurement[0]
    seq = item.get("MeasuredValueSequence", [])
    if not seq:
        return None
    value = _decimal(seq[0].get("NumericValue"))
    if value is None:
        notes.append(f"{file}: {label}: measurement without a numeric value skipped")
        return None
    units = seq[0].MeasurementUnitsCodeSequence[0]
    unit = str(units.CodeValue)
    if unit == "mm":
        return value
    if unit == "cm":
        return value * 10
    notes.append(f"{file}: {label}: unit {unit!r} is not a length in mm or cm; skipped")
    return None


def read_sr(path: str | Path) -> ImportedReport:
    """Read the measurement groups of one TID 1500 SR file.

    Raises
    ------
    DicomError
        Not a DICOM SR, or not a TID 1500 measurement report with measurement groups.
    """
    hd = require("highdicom", "reading DICOM SR")
    file = Path(path)
    try:
        sr = hd.sr.srread(file)
    except Exception as exc:  # highdicom raises several types for non-SR input
        raise DicomError(f"{file}: cannot be read as a DICOM Structured Report ({exc})") from None
    report = sr.content
    if not isinstance(report, hd.sr.MeasurementReport):
        raise DicomError(f"{file}: not a TID 1500 Measurement Report")
    groups_raw = (
        list(report.get_planar_roi_measurement_groups())
        + list(report.get_volumetric_roi_measurement_groups())
        + list(report.get_image_measurement_groups())
    )
    if not groups_raw:
        raise DicomError(f"{file}: the measurement report holds no measurement group")
    evidence = _evidence_series(sr)
    notes: list[str] = []
    groups = [_read_group(hd, g, n, file, evidence, notes) for n, g in enumerate(groups_raw, 1)]
    criteria = None
    for g in groups_raw:
        for m in g.get_measurements():
            method = m.method
            if method is not None and C.RECIST_11.matches(method):
                criteria = "RECIST1.1"
            elif method is not None and C.MRECIST.matches(method):
                criteria = "mRECIST"
        if criteria:
            break

    observer = None
    for ctx in report.get_observer_contexts():
        attrs = getattr(ctx, "observer_identifying_attributes", None)
        name = getattr(attrs, "name", None)
        if name and _concept_key(ctx.observer_type) == ("121006", "DCM"):
            observer = str(name).strip("^ ") or None
            break
    study_date = None
    raw_date = str(sr.get("StudyDate", "") or "")
    if len(raw_date) == 8 and raw_date.isdigit():
        try:
            study_date = date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:]))
        except ValueError:
            study_date = None
    return ImportedReport(
        file=file,
        study_uid=str(sr.StudyInstanceUID) if "StudyInstanceUID" in sr else None,
        study_date=study_date,
        observer=observer,
        ours=_uses_private_scheme(sr),
        groups=groups,
        criteria=criteria,
        notes=notes,
    )


def _read_group(
    hd: Any, group: Any, number: int, file: Path, evidence: dict[str, str], notes: list[str]
) -> ImportedGroup:
    out = ImportedGroup(
        tracking_id=(str(group.tracking_identifier) if group.tracking_identifier else None),
        tracking_uid=(str(group.tracking_uid) if group.tracking_uid else None),
        time_point=_time_point_text(group),
    )
    label = f"measurement group {number} ({out.tracking_id or out.tracking_uid or 'no tracking id'})"
    finding = group.finding_type
    if finding is not None:
        out.kind = _KIND_BY_CODE.get(_concept_key(finding))
    for site in group.finding_sites:
        organ = _ORGAN_BY_CODE.get(_concept_key(site.value))
        if organ:
            out.organ = organ
            break
    referenced_series: list[str] = []
    for m in group.get_measurements():
        key = _concept_key(m.name)
        if key == (C.VIABLE_DIAMETER.value, C.VIABLE_DIAMETER.scheme):
            out.viable_mm = _length_mm(m, file, label, notes)
        elif key in _LONGEST_NAMES:
            out.longest_mm = _length_mm(m, file, label, notes)
        elif key == (C.SHORT_AXIS.value, C.SHORT_AXIS.scheme):
            out.short_axis_mm = _length_mm(m, file, label, notes)
        elif key == (C.GAP_TO_ABLATION_ZONE.value, C.GAP_TO_ABLATION_ZONE.scheme):
            out.gap_mm = _length_mm(m, file, label, notes)
        else:
            continue
        for ref in m.referenced_images:
            uid = evidence.get(str(ref.referenced_sop_instance_uid))
            if uid and uid not in referenced_series:
                referenced_series.append(uid)
    for ev in group.get_qualitative_evaluations():
        value = _concept_key(ev.value)
        if C.LESION_ROLE.matches(ev.name):
            out.role = _ROLE_BY_CODE.get(value)
        elif C.LESION_STATUS.matches(ev.name):
            out.status = _STATUS_BY_CODE.get(value)
        elif C.LESION_KIND.matches(ev.name):
            out.kind = _KIND_BY_CODE.get(value) or out.kind
    roi = getattr(group, "roi", None)
    if roi is not None:
        graphic_type = str(getattr(roi, "GraphicType", ""))
        if getattr(roi, "ValueType", "") == "SCOORD3D" and graphic_type == "POLYLINE":
            data = roi.value
            if len(data) == 2:
                out.line = [[_float32_decimal(float(v)) for v in p] for p in data]
            else:
                notes.append(
                    f"{file}: {label}: a polyline of {len(data)} points is not a diameter line; "
                    "geometry not imported"
                )
        elif getattr(roi, "ValueType", "") == "SCOORD":
            notes.append(
                f"{file}: {label}: 2D image coordinates are not converted to a line; "
                "geometry not imported"
            )
            for ref in getattr(roi, "ContentSequence", []):
                for sop in ref.get("ReferencedSOPSequence", []):
                    uid = evidence.get(str(sop.ReferencedSOPInstanceUID))
                    if uid and uid not in referenced_series:
                        referenced_series.append(uid)
    if referenced_series:
        out.series_uid = referenced_series[0]
    return out


# --------------------------------------------------------------------------------------------
# Merging into a case (as plain JSON data, checked afterwards by casefile.case_from_dict)
# --------------------------------------------------------------------------------------------
def new_case_data(subject_id: str) -> dict[str, Any]:
    """The skeleton of a new case file for ``subject_id`` (a pseudonym)."""
    if not _ID_RE.fullmatch(subject_id):
        raise ValueError(
            f"subject id {subject_id!r}: expected 1-64 letters, digits, '.', '_' or '-'"
        )
    return {
        "format": "mrecist-case",
        "version": 1,
        "subject": {"id": subject_id},
        "timepoints": [],
        "lesions": [],
        "observations": [],
    }


def _as_id(text: str, taken: Iterable[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:64] or "lesion"
    taken = set(taken)
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = base[: 64 - len(suffix)] + suffix
        n += 1
    return candidate


def _find_timepoint(
    data: dict[str, Any], report: ImportedReport, timepoint_id: str | None
) -> dict[str, Any] | None:
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


def merge_reports(
    data: dict[str, Any],
    reports: Sequence[ImportedReport],
    *,
    timepoint_id: str | None = None,
    long_axis_as: str = "auto",
) -> list[str]:
    """Merge imported reports into case data (a ``case_to_dict`` dict), in place.

    Returns notes for the person importing (what was added or changed).  The caller checks
    the result with :func:`mrecist_tool.casefile.case_from_dict`.

    Raises
    ------
    ValueError
        A report whose timepoint cannot be found or made (no study date), or a bad option.
    """
    if long_axis_as not in LONG_AXIS_CHOICES:
        raise ValueError(f"long_axis_as: expected one of {LONG_AXIS_CHOICES}, found {long_axis_as!r}")
    notes: list[str] = []
    subject_id = str(data["subject"]["id"])
    criteria = data.get("criteria") or "mRECIST"
    for report in reports:
        tp = _find_timepoint(data, report, timepoint_id)
        if tp is None:
            labels = {g.time_point for g in report.groups if g.time_point}
            new_id = timepoint_id or (next(iter(labels)) if len(labels) == 1 else None)
            if report.study_date is None:
                raise ValueError(
                    f"{report.file}: no timepoint of the case matches this report and it has no "
                    "study date to add one; pass --timepoint"
                )
            if not new_id or not _ID_RE.fullmatch(new_id):
                new_id = f"T{report.study_date:%Y%m%d}"
            new_id = _as_id(new_id, (t["id"] for t in data["timepoints"]))
            tp = {"id": new_id, "date": report.study_date.isoformat()}
            if report.study_uid:
                tp["study_uid"] = report.study_uid
            data["timepoints"].append(tp)
            notes.append(f"{report.file}: added timepoint {new_id} ({tp['date']})")
        elif report.study_uid and not tp.get("study_uid") and not timepoint_id:
            tp["study_uid"] = report.study_uid
        tp_id = str(tp["id"])
        mode = long_axis_as
        if mode == "auto":
            mode = "longest" if report.ours or criteria != "mRECIST" else "viable"
            if mode == "viable" and any(g.longest_mm is not None for g in report.groups):
                notes.append(
                    f"{report.file}: long-axis measurements read as viable tumour diameters "
                    "(mRECIST case; use --long-axis-as longest to keep them as whole-lesion)"
                )
        for group in report.groups:
            _merge_group(data, report, group, tp_id, subject_id, mode, notes)

    # Timepoints in date order; a new case's earliest timepoint is its baseline.
    data["timepoints"].sort(key=_tp_date)
    if data["timepoints"] and not any(t.get("baseline") for t in data["timepoints"]):
        data["timepoints"][0]["baseline"] = True
        notes.append(f"timepoint {data['timepoints'][0]['id']} taken as the baseline (earliest)")
    return notes


def _find_lesion(data: dict[str, Any], group: ImportedGroup, subject_id: str) -> dict[str, Any] | None:
    if group.tracking_uid:
        for lesion in data["lesions"]:
            if lesion.get(C.TRACKING_UID_KEY) == group.tracking_uid:
                return lesion
            if C.stable_uid("lesion", subject_id, str(lesion["id"])) == group.tracking_uid:
                return lesion
    if group.tracking_id:
        for lesion in data["lesions"]:
            if lesion["id"] == group.tracking_id:
                return lesion
    return None


def _merge_group(
    data: dict[str, Any],
    report: ImportedReport,
    group: ImportedGroup,
    tp_id: str,
    subject_id: str,
    long_axis_mode: str,
    notes: list[str],
) -> None:
    lesion = _find_lesion(data, group, subject_id)
    if lesion is None:
        lesion_id = _as_id(group.tracking_id or "lesion", (x["id"] for x in data["lesions"]))
        tp = next(t for t in data["timepoints"] if t["id"] == tp_id)
        is_baseline = bool(tp.get("baseline")) or not any(
            t.get("baseline") or _tp_date(t) < _tp_date(tp) for t in data["timepoints"]
        )
        role = group.role or ("target" if is_baseline else "new")
        lesion = {"id": lesion_id, "role": role}
        if group.kind and group.kind != "tumor":
            lesion["kind"] = group.kind
        if group.organ:
            lesion["organ"] = group.organ
        if group.tracking_uid and group.tracking_uid != C.stable_uid("lesion", subject_id, lesion_id):
            lesion[C.TRACKING_UID_KEY] = group.tracking_uid
        data["lesions"].append(lesion)
        how = "from the report" if group.role else "by default (check it)"
        notes.append(f"{report.file}: added lesion {lesion_id} with role {role} {how}")
    lesion_id = str(lesion["id"])

    obs = next(
        (o for o in data["observations"] if o.get("lesion") == lesion_id and o.get("timepoint") == tp_id),
        None,
    )
    if obs is None:
        obs = {"lesion": lesion_id, "timepoint": tp_id, "status": "present"}
        data["observations"].append(obs)
        action = "added"
    else:
        action = "updated"
    viable = group.viable_mm
    longest = group.longest_mm
    if long_axis_mode == "viable" and viable is None and longest is not None:
        viable, longest = longest, None
    values = {
        "viable_diameter_mm": viable,
        "longest_diameter_mm": longest,
        "short_axis_mm": group.short_axis_mm,
    }
    status = group.status or ("measured" if group.has_diameter else None)
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
    if report.observer and report.observer != data.get("reader"):
        obs["reader"] = report.observer  # the case's own reader needs no repeating
    if group.line is not None or group.series_uid:
        geometry = dict(obs.get("geometry") or {})
        if group.series_uid:
            geometry["series_uid"] = group.series_uid
        if group.line is not None:
            geometry["line"] = group.line
        obs["geometry"] = geometry
    shown = ", ".join(f"{k}={v}" for k, v in values.items() if v is not None) or obs["status"]
    notes.append(f"{report.file}: {action} {lesion_id} at {tp_id}: {shown}")


def import_reports(
    files: Sequence[str | Path],
    *,
    case_data: dict[str, Any] | None = None,
    subject_id: str | None = None,
    timepoint_id: str | None = None,
    long_axis_as: str = "auto",
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Read SR files and merge them into case data (or a new case for ``subject_id``).

    Returns ``(data, notes, errors)``: a file that cannot be read is an error and is skipped,
    the others are still merged.
    """
    new_case = case_data is None
    if case_data is None:
        if not subject_id:
            raise ValueError("a new case needs a subject pseudonym (--subject ID)")
        case_data = new_case_data(subject_id)
    reports: list[ImportedReport] = []
    errors: list[str] = []
    notes: list[str] = []
    for f in files:
        try:
            report = read_sr(f)
        except DicomError as exc:
            errors.append(str(exc))
            continue
        reports.append(report)
        notes.extend(report.notes)
    if new_case:
        # A new case takes the criteria the reports were measured under (the format's default,
        # mRECIST, otherwise).
        found = {r.criteria for r in reports if r.criteria}
        if len(found) == 1:
            case_data["criteria"] = found.pop()
    if reports:
        notes.extend(
            merge_reports(case_data, reports, timepoint_id=timepoint_id, long_axis_as=long_axis_as)
        )
    return case_data, notes, errors
