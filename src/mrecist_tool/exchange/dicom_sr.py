"""DICOM Structured Report (TID 1500 Measurement Report) of one subject at one timepoint.

Built with highdicom as a Comprehensive 3D SR, which goes back to the PACS next to its images:

* one measurement group per lesion observed at the timepoint, with a Tracking Identifier
  (the lesion id) and a Tracking Unique Identifier that is the same at every timepoint
  (:func:`~mrecist_tool.exchange._dicom_common.lesion_tracking_uid`);
* a lesion measured with a line (``geometry.line``) gets a TID 1410 planar ROI group whose
  region is that line as a two-point SCOORD3D POLYLINE in the series' frame of reference, and
  each measurement references the image(s) the line lies on (TID 320 "Source of Measurement");
  a lesion without a line gets a TID 1501 group (measurements without a region);
* measurements (TID 300, mm): SCT "Long axis" for the RECIST 1.1 longest diameter, SCT "Short
  axis" for a node, ``(VLDIAM, 99MRECIST, "Viable tumor longest diameter")`` for the mRECIST
  viable diameter (method: RECIST 1.1 from CID 6147, or our ``MRECIST``), ``GAPABL`` for the gap
  to the ablation zone;
* qualitative evaluations per lesion: role (DCM Target / Non-Target Lesion at Baseline, or our
  ``NEW``), status at the timepoint, kind; finding site from the organ when it is a known one;
* the timepoint's response in the TID 1500 row 12 "Qualitative Evaluations" container:
  response method, target (DCM 112041-112044), non-target (DCM 112045-112047), new lesions
  (SCT Yes/No/Equivocal) and overall response (DCM 112048 "Current Response", value from our
  scheme since DICOM has no overall-response codes).

The codes are listed, with the reason for each, in :mod:`mrecist_tool.exchange._dicom_common`.
The response is derived by :func:`mrecist_tool.rules.assess_case`; it is informative only: a
case file never stores it, and :mod:`mrecist_tool.exchange.sr_import` does not read it back.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import DicomError, SaveError
from ..model import Case, Lesion, Observation, Timepoint
from . import _dicom_common as C
from ._deps import require


@dataclass
class SRResult:
    """What :func:`build_sr` made: the dataset plus notes for the person running it."""

    dataset: Any
    timepoint: str
    lesions: list[str]
    referenced_series: list[str]
    notes: list[str] = field(default_factory=list)


def _timepoint(case: Case, timepoint_id: str) -> Timepoint:
    try:
        return case.timepoint(timepoint_id)
    except KeyError:
        known = ", ".join(t.id for t in case.timepoints)
        raise ValueError(
            f"{case.source or 'case'}: no timepoint {timepoint_id!r} (the case has {known})"
        ) from None


def _observations_at(case: Case, timepoint_id: str) -> list[Observation]:
    order = {lesion.id: i for i, lesion in enumerate(case.lesions)}
    found = [o for o in case.observations if o.timepoint == timepoint_id]
    return sorted(found, key=lambda o: order.get(o.lesion, len(order)))


def _num(value: Decimal) -> float:
    # highdicom stores NUM values as DS; a float carries every digit a case file's decimal has
    # (case files hold at most a few decimals of mm).
    return float(value)


def _measurements(
    hd: Any, obs: Observation, criteria: str, source_images: Sequence[Any]
) -> list[Any]:
    method = C.MRECIST.code() if criteria == "mRECIST" else C.RECIST_11.code()
    refs = list(source_images) or None
    out = []
    pairs: list[tuple[C.Concept, Decimal | None]] = [
        (C.VIABLE_DIAMETER, obs.viable_diameter_mm),
        (C.LONG_AXIS, obs.longest_diameter_mm),
        (C.SHORT_AXIS, obs.short_axis_mm),
    ]
    for concept, value in pairs:
        if value is None:
            continue
        out.append(
            hd.sr.Measurement(
                name=concept.code(),
                value=_num(value),
                unit=C.MILLIMETRE.code(),
                method=method,
                referenced_images=refs,
            )
        )
    if obs.gap_to_ablation_zone_mm is not None:
        out.append(
            hd.sr.Measurement(
                name=C.GAP_TO_ABLATION_ZONE.code(),
                value=_num(obs.gap_to_ablation_zone_mm),
                unit=C.MILLIMETRE.code(),
                referenced_images=refs,
            )
        )
    return out


def _evaluations(hd: Any, lesion: Lesion, obs: Observation) -> list[Any]:
    items = []
    role = C.ROLE_VALUES.get(lesion.role)
    if role is not None:
        items.append(hd.sr.QualitativeEvaluation(C.LESION_ROLE.code(), role.code()))
    status = C.STATUS_VALUES.get(obs.status)
    if status is not None:
        items.append(hd.sr.QualitativeEvaluation(C.LESION_STATUS.code(), status.code()))
    kind = C.KIND_VALUES.get(lesion.kind)
    if kind is not None:
        items.append(hd.sr.QualitativeEvaluation(C.LESION_KIND.code(), kind.code()))
    return items


def _finding_sites(hd: Any, lesion: Lesion) -> list[Any] | None:
    site = C.ORGAN_SITES.get(lesion.organ.strip().lower())
    if site is None:
        return None
    return [hd.sr.FindingSite(anatomic_location=site.code())]


def _line_images(
    series: C.SourceSeries, line: Any, lesion_id: str, timepoint_id: str
) -> list[C.SourceInstance]:
    tolerance = max(abs(series.slice_spacing) / 2 + 0.01, 0.5)
    images: list[C.SourceInstance] = []
    for point in line:
        inst = series.nearest_slices([float(v) for v in point], tolerance)
        if inst is None:
            raise DicomError(
                f"lesion {lesion_id} at timepoint {timepoint_id}: the measurement line end point "
                f"{[float(v) for v in point]} (LPS mm) lies outside series {series.series_uid}"
            )
        if inst not in images:
            images.append(inst)
    return images


def _mask_image(
    case: Case, series: C.SourceSeries, mask: str
) -> tuple[C.SourceInstance | None, str | None]:
    """The slice where a lesion's mask is largest: the image a line-less measurement was made on.

    Returns ``(slice or None, a note or None)``; a mask that cannot be used is a note, not an
    error, because the measurement itself is still valid without an image reference.
    """
    from .dicom_seg import load_mask_on_grid, series_grid

    base = case.source.parent if case.source is not None else Path.cwd()
    try:
        import pydicom

        grid = series_grid(series, pydicom.dcmread(series.instances[0].path, stop_before_pixels=True))
        array, _ = load_mask_on_grid(base / mask, grid, resample=False)
    except (DicomError, OSError) as exc:
        return None, f"no image reference from the mask ({exc})"
    areas = array.reshape(array.shape[0], -1).sum(axis=1)
    if not areas.any():
        return None, f"no image reference: the mask {mask} is empty"
    return series.instances[int(areas.argmax())], None


def _response_container(hd: Any, assessment: Any, timepoint_id: str, criteria: str) -> Any:
    """TID 1500 row 12: the timepoint's response as coded qualitative evaluations."""
    from highdicom.sr import CodeContentItem, ContainerContentItem, ContentSequence
    from highdicom.sr.enum import RelationshipTypeValues

    contains = RelationshipTypeValues.CONTAINS
    result = assessment.timepoint(timepoint_id)
    items = [
        CodeContentItem(
            name=C.RESPONSE_METHOD.code(),
            value=(C.MRECIST if criteria == "mRECIST" else C.RECIST_11).code(),
            relationship_type=contains,
        )
    ]
    table = [
        (C.TARGET_RESPONSE, result.target, C.TARGET_RESPONSE_VALUES),
        (C.NONTARGET_RESPONSE, result.nontarget, C.NONTARGET_RESPONSE_VALUES),
        (C.NEW_LESIONS, result.new_lesions, C.NEW_LESION_VALUES),
        (C.OVERALL_RESPONSE, result.overall, C.OVERALL_RESPONSE_VALUES),
    ]
    for name, decision, values in table:
        if decision is None:
            continue
        concept = values.get(decision.category)
        if concept is None:
            continue
        items.append(CodeContentItem(name=name.code(), value=concept.code(), relationship_type=contains))
    container = ContainerContentItem(
        name=C.QUALITATIVE_EVALUATIONS.code(), relationship_type=contains
    )
    container.ContentSequence = ContentSequence(items)
    return container


def person_name(reader: str) -> str:
    """A reader id as a DICOM PN: one component is the family name, so it gets a caret."""
    return reader if "^" in reader else f"{reader}^"


def _observer_context(hd: Any, case: Case, observations: Sequence[Observation]) -> Any:
    readers = {o.reader for o in observations if o.reader} or ({case.reader} if case.reader else set())
    person = None
    if len(readers) == 1:
        person = hd.sr.ObserverContext(
            observer_type=C.Concept("121006", "DCM", "Person").code(),
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                name=person_name(next(iter(readers)))
            ),
        )
    device = hd.sr.ObserverContext(
        observer_type=C.Concept("121007", "DCM", "Device").code(),
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=C.stable_uid("device", "mrecist-tool"),
            name="mrecist-tool",
            manufacturer_name=C.MANUFACTURER,
            model_name="mrecist-tool",
        ),
    )
    return hd.sr.ObservationContext(observer_person_context=person, observer_device_context=device)


def build_sr(
    case: Case,
    timepoint_id: str,
    dicom_folder: str | Path | C.SourceIndex,
    *,
    series_uid: str | None = None,
    assessment: Any | None = None,
) -> SRResult:
    """Build the TID 1500 measurement report of ``case`` at ``timepoint_id``.

    Parameters
    ----------
    case:
        The case; its observations at the timepoint become measurement groups.
    timepoint_id:
        Id of the timepoint to report.
    dicom_folder:
        Folder with the timepoint's source images (searched recursively), or an index of one
        made by :func:`~mrecist_tool.exchange._dicom_common.index_folder`.  The SR copies the
        patient and study of these images, as DICOM requires, and references them.
    series_uid:
        Use this series when the case names none.
    assessment:
        The case's :class:`~mrecist_tool.rules.results.CaseAssessment`; computed when omitted.

    Raises
    ------
    ValueError
        Unknown timepoint, no observation at it.
    DicomError
        Source images not found, or a measurement line outside its series.
    """
    hd = require("highdicom", "writing DICOM SR")
    from pydicom.uid import generate_uid

    tp = _timepoint(case, timepoint_id)
    observations = _observations_at(case, tp.id)
    if not observations:
        raise ValueError(f"{case.source or 'case'}: no observation at timepoint {tp.id}")
    index = dicom_folder if isinstance(dicom_folder, C.SourceIndex) else C.index_folder(dicom_folder)
    series_uids = C.choose_series(index, case, tp, observations, series_uid)
    series = {uid: C.sorted_series(index, uid) for uid in series_uids}
    default_series = series_uids[0]

    if assessment is None:
        from ..rules import assess_case

        assessment = assess_case(case)
    criteria = assessment.settings.criteria
    tp_order = [t.id for t in case.sorted_timepoints()].index(tp.id) + 1
    tp_type = (
        C.Concept("C1442488", "UMLS", "Baseline")
        if tp.baseline
        else C.Concept("126074", "DCM", "Posttreatment")
    )

    referenced: dict[str, C.SourceInstance] = {}
    groups = []
    notes: list[str] = []
    for obs in observations:
        lesion = case.lesion(obs.lesion)
        tracking = hd.sr.TrackingIdentifier(
            uid=C.lesion_tracking_uid(case, lesion.id), identifier=lesion.id
        )
        tpc = hd.sr.TimePointContext(
            time_point=tp.id,
            time_point_type=tp_type.code(),
            time_point_order=tp_order,
            protocol_time_point_identifier=tp.id,
        )
        obs_series = series.get(
            (obs.geometry.series_uid if obs.geometry and obs.geometry.series_uid else None)
            or default_series
        ) or series[default_series]
        line = obs.geometry.line if obs.geometry else None
        images: list[C.SourceInstance] = []
        measured = any(
            v is not None
            for v in (obs.viable_diameter_mm, obs.longest_diameter_mm, obs.short_axis_mm)
        )
        if line is not None:
            images = _line_images(obs_series, line, lesion.id, tp.id)
        elif measured and obs.geometry and obs.geometry.mask:
            image, why = _mask_image(case, obs_series, obs.geometry.mask)
            images = [image] if image is not None else []
            if why:
                notes.append(f"lesion {lesion.id}: {why}")
        for inst in images:
            referenced[inst.sop_instance_uid] = inst
        source_images = [
            hd.sr.SourceImageForMeasurement(
                referenced_sop_class_uid=i.sop_class_uid,
                referenced_sop_instance_uid=i.sop_instance_uid,
            )
            for i in images
        ]
        common: dict[str, Any] = dict(
            tracking_identifier=tracking,
            time_point_context=tpc,
            finding_type=C.KIND_VALUES.get(lesion.kind, C.KIND_VALUES["tumor"]).code(),
            finding_sites=_finding_sites(hd, lesion),
            measurements=_measurements(hd, obs, criteria, source_images) or None,
            qualitative_evaluations=_evaluations(hd, lesion, obs) or None,
        )
        if line is not None:
            import numpy as np

            if obs_series.frame_of_reference_uid is None:
                raise DicomError(
                    f"{obs_series.instances[0].path}: no FrameOfReferenceUID; "
                    "a 3D measurement line needs one"
                )
            region = hd.sr.ImageRegion3D(
                graphic_type=hd.sr.GraphicTypeValues3D.POLYLINE,
                graphic_data=np.array([[float(v) for v in p] for p in line], dtype=float),
                frame_of_reference_uid=obs_series.frame_of_reference_uid,
            )
            groups.append(
                hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                    referenced_region=region, **common
                )
            )
        else:
            if measured and not images:
                notes.append(
                    f"lesion {lesion.id}: measured without a line or mask (geometry); "
                    "the measurement references no image"
                )
            groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(**common))

    # The image library lists the referenced images; a series with no referenced image (no
    # measurement line on it) is represented by its first slice so the report names it.
    for uid in series_uids:
        if not any(i.series_uid == uid for i in referenced.values()):
            first = series[uid].instances[0]
            referenced[first.sop_instance_uid] = first
    import pydicom

    evidence = [pydicom.dcmread(i.path, stop_before_pixels=True) for i in referenced.values()]
    modality = str(evidence[0].get("Modality", ""))
    procedure = (
        C.Concept("25056-3", "LN", "MRI unspecified body region")
        if modality == "MR"
        else C.Concept("25045-6", "LN", "CT unspecified body region")
    )
    report = hd.sr.MeasurementReport(
        observation_context=_observer_context(hd, case, observations),
        procedure_reported=procedure.code(),
        imaging_measurements=groups,
        referenced_images=evidence,
    )
    report[0].ContentSequence.append(_response_container(hd, assessment, tp.id, criteria))

    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report[0],
        series_instance_uid=generate_uid(),
        series_number=990,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=C.MANUFACTURER,
        is_complete=True,
    )
    sr.SeriesDescription = f"{criteria} measurements {tp.id}"[:64]
    sr.SoftwareVersions = C.software_version()
    _declare_private_scheme(sr)
    return SRResult(
        dataset=sr,
        timepoint=tp.id,
        lesions=[o.lesion for o in observations],
        referenced_series=series_uids,
        notes=notes,
    )


def _declare_private_scheme(ds: Any) -> None:
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence as DicomSequence

    item = Dataset()
    item.CodingSchemeDesignator = C.PRIVATE_SCHEME
    item.CodingSchemeName = C.PRIVATE_SCHEME_NAME
    item.CodingSchemeResponsibleOrganization = "mrecist-tool developers"
    existing = list(ds.get("CodingSchemeIdentificationSequence", []))
    if not any(getattr(x, "CodingSchemeDesignator", None) == C.PRIVATE_SCHEME for x in existing):
        existing.append(item)
    ds.CodingSchemeIdentificationSequence = DicomSequence(existing)


def save_dataset(ds: Any, out: str | Path) -> Path:
    """Write a DICOM dataset atomically (temporary file in the same folder, then rename)."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.save_as(tmp, enforce_file_format=True)
        os.replace(tmp, path)
    except Exception as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise SaveError(f"{path}: could not write DICOM file: {exc}") from exc
    return path


def write_sr(
    case: Case,
    timepoint_id: str,
    dicom_folder: str | Path | C.SourceIndex,
    out: str | Path,
    *,
    series_uid: str | None = None,
    assessment: Any | None = None,
) -> SRResult:
    """Build the SR (see :func:`build_sr`) and save it atomically to ``out``."""
    result = build_sr(
        case, timepoint_id, dicom_folder, series_uid=series_uid, assessment=assessment
    )
    save_dataset(result.dataset, out)
    return result
