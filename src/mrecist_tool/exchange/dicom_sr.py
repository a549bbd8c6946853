"""DICOM Structured Report (TID 1500 Measurement Report) of one subject at one timepoint.

Built with highdicom as a Comprehensive 3D SR, which goes back to the PACS next to its images,
in the shape the common viewers read (checked against the parsers of OHIF v3's
``cornerstone-dicom-sr`` extension and dcmqi's ``tid1500reader``, which Slicer's
QuantitativeReporting uses; see ``docs/dicom-codes.md``):

* one measurement group per lesion observed at the timepoint, with a Tracking Identifier
  (the lesion id) and a Tracking Unique Identifier that is the same at every timepoint and in
  the SEG (:func:`~mrecist_tool.exchange.uids.lesion_tracking_uid`);
* a lesion measured with a line (``geometry.line``) gets a TID 1410 planar ROI group whose
  region is the line as a two-point **2D SCOORD POLYLINE** on the image it lies on (what OHIF
  draws), with the measurements, which reference that image ("Source of Measurement"); a
  second TID 1410 group of the same lesion (same tracking UID) keeps the exact line as a
  two-point SCOORD3D POLYLINE in the series' frame of reference, without measurements;
* a lesion with a mask, when a SEG is given, gets a TID 1411 volumetric group referencing its
  segment and the source series, with the segment's volume (what Slicer shows), plus the
  diameters when the lesion has no line;
* any other lesion gets a TID 1501 group (measurements without a region);
* measurements (TID 300, mm): SCT "Long axis" for the RECIST 1.1 longest diameter, SCT "Short
  axis" for a node, the private ``VLDIAM`` "Viable tumor longest diameter" for mRECIST (method
  DCM "RECIST 1.1" from CID 6147, or the private ``MRECIST``), private ``GAPABL`` for the gap to
  the ablation zone;
* per lesion: the kind as the group's Finding, qualitative evaluations for the role (DCM
  "Baseline Category") and the status at the timepoint (standard values where one exists:
  SCT Measured / Present / Absent, DCM Too small / Presence Undetermined); finding site from
  the organ when it is a known one;
* the timepoint's response in the TID 1500 "Qualitative Evaluations" container.

The codes are in :mod:`mrecist_tool.exchange.codes`.  The response is derived by
:func:`mrecist_tool.rules.assess_case`; it is informative only: a case file never stores it,
and :mod:`mrecist_tool.exchange.sr_import` does not read it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from ..dicom.privacy import pseudonymise_derived
from ..dicom.stack import SliceRef
from ..errors import DicomError
from ..model import Case, Lesion, Observation
from . import codes as K
from ._deps import require
from .common import observations_at, person_name, timepoint_of
from .dicom_write import save_dataset
from .sources import SourceIndex, SourceSeries, choose_series, index_folder, read_source_dataset
from .uids import lesion_tracking_uid, stable_uid


@dataclass
class SRResult:
    """What :func:`build_sr` made: the dataset plus notes for the person running it.

    Attributes
    ----------
    dataset : highdicom.sr.Comprehensive3DSR
        The TID 1500 measurement report.
    timepoint : str
        The timepoint it reports.
    lesions : list of str
        The lesion ids with a measurement group.
    referenced_series : list of str
        The Series Instance UIDs of the images it references.
    notes : list of str
        What was noticed, for the person running it.
    """

    dataset: Any
    timepoint: str
    lesions: list[str]
    referenced_series: list[str]
    notes: list[str] = field(default_factory=list)


def _num(value: Decimal) -> float:
    # highdicom stores NUM values as DS; a float carries every digit a case file's decimal has
    # (case files hold at most a few decimals of mm).
    return float(value)


def _ref(hd: Any, ref: SliceRef) -> Any:
    return hd.sr.SourceImageForMeasurement(
        referenced_sop_class_uid=ref.header.sop_class_uid,
        referenced_sop_instance_uid=ref.header.sop_instance_uid,
    )


def _measurements(
    hd: Any,
    obs: Observation,
    criteria: str,
    images: Sequence[SliceRef],
) -> list[Any]:
    method = K.MRECIST.code() if criteria == "mRECIST" else K.RECIST_11.code()
    refs = [_ref(hd, i) for i in images] or None
    out = []
    pairs: list[tuple[K.Concept, Decimal | None]] = [
        (K.VIABLE_DIAMETER, obs.viable_diameter_mm),
        (K.LONG_AXIS, obs.longest_diameter_mm),
        (K.SHORT_AXIS, obs.short_axis_mm),
    ]
    for concept, value in pairs:
        if value is None:
            continue
        out.append(hd.sr.Measurement(
            name=concept.code(), value=_num(value), unit=K.MILLIMETRE.code(), method=method,
            referenced_images=refs,
        ))
    if obs.gap_to_ablation_zone_mm is not None:
        out.append(hd.sr.Measurement(
            name=K.GAP_TO_ABLATION_ZONE.code(), value=_num(obs.gap_to_ablation_zone_mm),
            unit=K.MILLIMETRE.code(), method=method, referenced_images=refs,
        ))
    return out


def _evaluations(hd: Any, lesion: Lesion, obs: Observation) -> list[Any]:
    items = []
    role = K.ROLE_VALUES.get(lesion.role)
    if role is not None:
        items.append(hd.sr.QualitativeEvaluation(K.LESION_ROLE.code(), role.code()))
    status = K.STATUS_VALUES.get(obs.status)
    if status is not None:
        items.append(hd.sr.QualitativeEvaluation(K.LESION_STATUS.code(), status.code()))
    return items  # the kind is the group's Finding


def _finding_sites(hd: Any, lesion: Lesion) -> list[Any] | None:
    site = K.ORGAN_SITES.get(lesion.organ.strip().lower())
    if site is None:
        return None
    return [hd.sr.FindingSite(anatomic_location=site.code())]


@dataclass
class _LineOnImages:
    points: np.ndarray  # (2, 3) LPS mm
    image: SliceRef | None  # the slice both end points lie on (2D SCOORD), else None
    images: list[SliceRef]  # the slices the end points lie on


def _line_images(series: SourceSeries, line: Any, lesion_id: str, timepoint_id: str) -> _LineOnImages:
    points = np.asarray([[float(v) for v in p] for p in line], dtype=float)
    tolerance = max(abs(series.slice_spacing) / 2 + 0.01, 0.5)
    images: list[SliceRef] = []
    for point in points:
        ref = series.nearest_slice(point, tolerance)
        if ref is None:
            raise DicomError(
                f"lesion {lesion_id} at timepoint {timepoint_id}: the measurement line end point "
                f"{point.tolist()} (LPS mm) lies outside series {series.series_uid}"
            )
        if ref not in images:
            images.append(ref)
    return _LineOnImages(points=points, image=images[0] if len(images) == 1 else None, images=images)


def _mask_image(case: Case, series: SourceSeries, mask: str) -> tuple[SliceRef | None, str | None]:
    """The slice where a lesion's mask is largest: the image a line-less measurement was made on.

    Returns ``(slice or None, a note or None)``; a mask that cannot be used is a note, not an
    error, because the measurement itself is still valid without an image reference.
    """
    from .dicom_seg import load_mask_on_grid

    base = case.source.parent if case.source is not None else Path.cwd()
    try:
        array, _ = load_mask_on_grid(base / mask, series, resample=False)
    except (DicomError, OSError) as exc:
        return None, f"no image reference from the mask ({exc})"
    areas = array.reshape(array.shape[0], -1).sum(axis=1)
    if not areas.any():
        return None, f"no image reference: the mask {mask} is empty"
    return series.slice_at(int(areas.argmax())), None


def _response_container(assessment: Any, timepoint_id: str, criteria: str) -> Any:
    """TID 1500 row 12: the timepoint's response as coded qualitative evaluations."""
    from highdicom.sr import CodeContentItem, ContainerContentItem, ContentSequence
    from highdicom.sr.enum import RelationshipTypeValues

    contains = RelationshipTypeValues.CONTAINS
    result = assessment.timepoint(timepoint_id)
    items = [CodeContentItem(
        name=K.RESPONSE_METHOD.code(),
        value=(K.MRECIST if criteria == "mRECIST" else K.RECIST_11).code(),
        relationship_type=contains,
    )]
    table = [
        (K.TARGET_RESPONSE, result.target, K.TARGET_RESPONSE_VALUES),
        (K.NONTARGET_RESPONSE, result.nontarget, K.NONTARGET_RESPONSE_VALUES),
        (K.NEW_LESIONS, result.new_lesions, K.NEW_LESION_VALUES),
        (K.OVERALL_RESPONSE, result.overall, K.OVERALL_RESPONSE_VALUES),
    ]
    for name, decision, values in table:
        if decision is None:
            continue
        concept = values.get(decision.category)
        if concept is None:
            continue
        items.append(CodeContentItem(name=name.code(), value=concept.code(), relationship_type=contains))
    container = ContainerContentItem(name=K.QUALITATIVE_EVALUATIONS.code(), relationship_type=contains)
    container.ContentSequence = ContentSequence(items)
    return container


def _observer_context(hd: Any, case: Case, observations: Sequence[Observation]) -> Any:
    readers = {o.reader for o in observations if o.reader} or ({case.reader} if case.reader else set())
    person = None
    if len(readers) == 1:
        person = hd.sr.ObserverContext(
            observer_type=K.PERSON.code(),
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                name=person_name(next(iter(readers)))
            ),
        )
    device = hd.sr.ObserverContext(
        observer_type=K.DEVICE.code(),
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=stable_uid("device", "mrecist-tool"),
            name="mrecist-tool",
            manufacturer_name=K.MANUFACTURER,
            model_name="mrecist-tool",
        ),
    )
    return hd.sr.ObservationContext(observer_person_context=person, observer_device_context=device)


@dataclass
class _Segments:
    """The lesion segments of a SEG, by tracking UID."""

    dataset: Any
    by_tracking_uid: dict[str, int]
    volume_mm3: dict[int, float]
    source_series: str


def _segments(seg: Any) -> _Segments:
    """Accept a :class:`~mrecist_tool.exchange.dicom_seg.SEGResult` or a SEG data set."""
    from .dicom_seg import SEGResult

    if isinstance(seg, SEGResult):
        ds = seg.dataset
        by_uid = {s.tracking_uid: s.number for s in seg.segments if s.kind == "lesion"}
        volumes = {s.number: s.volume_mm3 for s in seg.segments}
        return _Segments(ds, by_uid, volumes, seg.series_uid)
    ds = seg
    if str(getattr(ds, "SOPClassUID", "")) != "1.2.840.10008.5.1.4.1.1.66.4":
        raise DicomError("the --seg file is not a DICOM Segmentation")
    by_uid = {}
    for item in ds.get("SegmentSequence", []):
        uid = str(item.get("TrackingUID", "") or "")
        if uid:
            by_uid[uid] = int(item.SegmentNumber)
    series = ds.get("ReferencedSeriesSequence", [])
    source = str(series[0].SeriesInstanceUID) if series else ""
    return _Segments(ds, by_uid, _segment_volumes(ds), source)


def _segment_volumes(ds: Any) -> dict[int, float]:
    """Segment number -> volume (mm3) of a BINARY or FRACTIONAL SEG read with its pixels: the
    voxels of each segment's frames times the voxel size of its Pixel Measures.  Empty when the
    data set has no pixels or no usable measures (the SR then has no volume, nothing else
    changes)."""
    if "PixelData" not in ds:
        return {}
    try:
        shared = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
        rows_mm, cols_mm = (float(v) for v in shared.PixelSpacing)
        between = float(shared.get("SpacingBetweenSlices") or shared.SliceThickness)
        frames = np.asarray(ds.pixel_array).reshape(int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns))
        numbers = [int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
                   for f in ds.PerFrameFunctionalGroupsSequence]
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return {}
    voxel = rows_mm * cols_mm * between
    counts: dict[int, int] = {}
    for number, frame in zip(numbers, frames, strict=False):
        counts[number] = counts.get(number, 0) + int(np.count_nonzero(frame))
    return {n: c * voxel for n, c in counts.items()}


def build_sr(
    case: Case,
    timepoint_id: str,
    dicom_folder: str | Path | SourceIndex,
    *,
    series_uid: str | None = None,
    assessment: Any | None = None,
    seg: Any | None = None,
    keep_patient_identity: bool = False,
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
        made by :func:`~mrecist_tool.exchange.sources.index_folder`.  The SR copies the
        patient and study of these images, as DICOM requires, and references them.
    series_uid:
        Use this series when the case names none.
    assessment:
        The case's :class:`~mrecist_tool.rules.results.CaseAssessment`; computed when omitted.
    seg:
        The SEG of the same timepoint (a :class:`~mrecist_tool.exchange.dicom_seg.SEGResult`
        or a SEG data set): lesions with a segment get a TID 1411 group referencing it.
    keep_patient_identity:
        Keep the patient's name, ID, birth date and the study's accession number and
        descriptions as the source images have them (to store the SR in the hospital PACS
        beside its images).  By default the SR carries the case's subject id as Patient ID and
        Name and no other identifying attribute
        (:func:`~mrecist_tool.dicom.privacy.pseudonymise_derived`).

    Raises
    ------
    ValueError
        Unknown timepoint, no observation at it.
    DicomError
        Source images not found, or a measurement line outside its series.
    """
    hd = require("highdicom", "writing DICOM SR")
    from pydicom.uid import generate_uid

    tp = timepoint_of(case, timepoint_id)
    observations = observations_at(case, tp.id)
    if not observations:
        raise ValueError(f"{case.source or 'case'}: no observation at timepoint {tp.id}")
    index = dicom_folder if isinstance(dicom_folder, SourceIndex) else index_folder(dicom_folder)
    series_uids = choose_series(index, case, tp, observations, series_uid)
    series = {uid: index.series(uid) for uid in series_uids}
    default_series = series_uids[0]
    segments = _segments(seg) if seg is not None else None

    if assessment is None:
        from ..rules import assess_case

        assessment = assess_case(case)
    criteria = assessment.settings.criteria
    tp_type = K.BASELINE if tp.baseline else K.POSTTREATMENT

    referenced: dict[str, SliceRef] = {}
    groups = []
    notes: list[str] = []
    for obs in observations:
        lesion = case.lesion(obs.lesion)
        tracking_uid = lesion_tracking_uid(case, lesion.id)

        def tracking(uid: str = tracking_uid, ident: str = lesion.id) -> Any:
            return hd.sr.TrackingIdentifier(uid=uid, identifier=ident)

        def tpc(tp_id: str = tp.id) -> Any:
            # TID 1502 without its optional Time Point Order: that item is a NUM, and the
            # common readers take every NUM of a group for a measurement (dcmqi lists "Time
            # Point Order 1" beside the diameters; OHIF v3's parser stops with a TypeError on a
            # NUM without children in a group without a region).  The order is the case's.
            return hd.sr.TimePointContext(
                time_point=tp_id, time_point_type=tp_type.code(),
                protocol_time_point_identifier=tp_id,
            )

        obs_series = series.get(
            (obs.geometry.series_uid if obs.geometry and obs.geometry.series_uid else None)
            or default_series
        ) or series[default_series]
        line = obs.geometry.line if obs.geometry else None
        measured = any(
            v is not None for v in (obs.viable_diameter_mm, obs.longest_diameter_mm, obs.short_axis_mm)
        )
        segment_number = segments.by_tracking_uid.get(tracking_uid) if segments else None
        common: dict[str, Any] = dict(
            finding_type=K.KIND_VALUES.get(lesion.kind, K.KIND_VALUES["tumor"]).code(),
            finding_sites=_finding_sites(hd, lesion),
            qualitative_evaluations=_evaluations(hd, lesion, obs) or None,
        )
        images: list[SliceRef] = []
        if line is not None:
            placed = _line_images(obs_series, line, lesion.id, tp.id)
            images = placed.images
            frame_of_reference = obs_series.frame_of_reference_uid
            if frame_of_reference is None:
                raise DicomError(
                    f"{obs_series.slices[0].header.path}: no FrameOfReferenceUID; "
                    "a measurement line needs one"
                )
            region3d = hd.sr.ImageRegion3D(
                graphic_type=hd.sr.GraphicTypeValues3D.POLYLINE,
                graphic_data=placed.points,
                frame_of_reference_uid=frame_of_reference,
            )
            measurements = _measurements(hd, obs, criteria, images) or None
            if placed.image is not None:
                # What OHIF draws: the line on its image, carrying the measurements.
                region = hd.sr.ImageRegion(
                    graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
                    graphic_data=obs_series.image_coordinates(placed.points, placed.image),
                    source_image=hd.sr.SourceImageForRegion(
                        placed.image.header.sop_class_uid, placed.image.header.sop_instance_uid
                    ),
                )
                groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                    tracking_identifier=tracking(), time_point_context=tpc(),
                    referenced_region=region, measurements=measurements, **common,
                ))
                # The exact line in patient coordinates, for 3D readers and our round trip: a
                # second planar group of the same lesion (same tracking UID; readers such as
                # OHIF merge groups by it), without measurements so nothing is counted twice.
                groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                    tracking_identifier=tracking(), time_point_context=tpc(),
                    referenced_region=region3d,
                ))
            else:
                notes.append(
                    f"lesion {lesion.id}: the line's end points lie on different slices; its "
                    "region is written in 3D only (SCOORD3D), which some viewers do not draw"
                )
                groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                    tracking_identifier=tracking(), time_point_context=tpc(),
                    referenced_region=region3d, measurements=measurements, **common,
                ))
        elif measured and obs.geometry and obs.geometry.mask:
            image, why = _mask_image(case, obs_series, obs.geometry.mask)
            images = [image] if image is not None else []
            if why:
                notes.append(f"lesion {lesion.id}: {why}")
        for ref in images:
            referenced[ref.header.sop_instance_uid] = ref

        if segments is not None and segment_number is not None:
            assert segments is not None
            vol_measurements = []
            volume = segments.volume_mm3.get(segment_number)
            if volume:
                # With the algorithm that counted the voxels: a NUM with children, which OHIF
                # v3's parser needs in a group without a region (see tpc above).
                vol_measurements.append(hd.sr.Measurement(
                    name=K.VOLUME.code(), value=round(volume, 3), unit=K.CUBIC_MILLIMETRE.code(),
                    algorithm_id=hd.sr.AlgorithmIdentification(
                        name="mrecist-tool segment voxel count", version=K.software_version(),
                    ),
                ))
            if line is None:
                vol_measurements.extend(_measurements(hd, obs, criteria, images))
            groups.append(hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=tracking(), time_point_context=tpc(),
                referenced_segment=hd.sr.ReferencedSegment(
                    sop_class_uid=str(segments.dataset.SOPClassUID),
                    sop_instance_uid=str(segments.dataset.SOPInstanceUID),
                    segment_number=segment_number,
                    source_series=hd.sr.SourceSeriesForSegmentation(segments.source_series),
                ),
                measurements=vol_measurements or None,
                **({} if line is not None else common),
            ))
        elif line is None:
            if measured and not images:
                notes.append(
                    f"lesion {lesion.id}: measured without a line or mask (geometry); "
                    "the measurement references no image"
                )
            groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=tracking(), time_point_context=tpc(),
                measurements=_measurements(hd, obs, criteria, images) or None, **common,
            ))

    # The image library lists the referenced images; a series with no referenced image (no
    # measurement line on it) is represented by its first slice so the report names it.
    for uid in series_uids:
        if not any(r.header.series_uid == uid for r in referenced.values()):
            first = series[uid].slices[0]
            referenced[first.header.sop_instance_uid] = first
    evidence = [read_source_dataset(r.header.path) for r in referenced.values()]
    modality = str(evidence[0].get("Modality", ""))
    procedure = K.MR_PROCEDURE if modality == "MR" else K.CT_PROCEDURE
    report = hd.sr.MeasurementReport(
        observation_context=_observer_context(hd, case, observations),
        procedure_reported=procedure.code(),
        imaging_measurements=groups,
        referenced_images=evidence,
    )
    report[0].ContentSequence.append(_response_container(assessment, tp.id, criteria))

    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence + ([segments.dataset] if segments is not None else []),
        content=report[0],
        series_instance_uid=generate_uid(),
        series_number=990,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=K.MANUFACTURER,
        is_complete=True,
    )
    sr.SeriesDescription = f"{criteria} measurements {tp.id}"[:64]
    sr.SoftwareVersions = K.software_version()
    _declare_private_scheme(sr)
    if not keep_patient_identity:
        pseudonymise_derived(sr, case.subject.id, tp.id)
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
    item.CodingSchemeDesignator = K.PRIVATE_SCHEME
    item.CodingSchemeName = K.PRIVATE_SCHEME_NAME
    item.CodingSchemeResponsibleOrganization = "mrecist-tool developers"
    existing = list(ds.get("CodingSchemeIdentificationSequence", []))
    if not any(getattr(x, "CodingSchemeDesignator", None) == K.PRIVATE_SCHEME for x in existing):
        existing.append(item)
    ds.CodingSchemeIdentificationSequence = DicomSequence(existing)


def write_sr(
    case: Case,
    timepoint_id: str,
    dicom_folder: str | Path | SourceIndex,
    out: str | Path,
    *,
    series_uid: str | None = None,
    assessment: Any | None = None,
    seg: Any | None = None,
    keep_patient_identity: bool = False,
) -> SRResult:
    """Build the SR (see :func:`build_sr`) and save it atomically to ``out``.

    Parameters
    ----------
    case : Case
        The case; its observations at the timepoint become measurement groups.
    timepoint_id : str
        Id of the timepoint to report.
    dicom_folder : str, pathlib.Path or SourceIndex
        Folder with the timepoint's source images (searched recursively), or an index of one.
    out : str or pathlib.Path
        The file to write.
    series_uid : str or None, optional
        Use this series when the case names none.
    assessment : CaseAssessment or None, optional
        The case's assessment; computed when omitted.
    seg : SEGResult, pydicom.Dataset or None, optional
        The SEG of the same timepoint: lesions with a segment get a TID 1411 group referencing
        it.
    keep_patient_identity : bool, optional
        Keep the patient's identity as the source images have it; by default the SR carries the
        case's subject id only.

    Returns
    -------
    SRResult
        The SR written, with notes.

    Raises
    ------
    ValueError
        Unknown timepoint, no observation at it.
    DicomError
        Source images not found, or a measurement line outside its series.
    """
    result = build_sr(
        case, timepoint_id, dicom_folder, series_uid=series_uid, assessment=assessment, seg=seg,
        keep_patient_identity=keep_patient_identity,
    )
    save_dataset(result.dataset, out)
    return result
