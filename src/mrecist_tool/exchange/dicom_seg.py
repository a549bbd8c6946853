"""DICOM Segmentation of the lesion and ablation-zone masks of one timepoint (highdicom).

One BINARY segmentation per timepoint, on the series the masks were drawn on: one segment per
lesion mask (``geometry.mask``) and one per ablation-zone mask (``geometry.ablation_zone_mask``).
BINARY (not LABELMAP) with one frame per segment per slice, so segments may overlap, as a
lesion and its ablation zone do.

Segment codes (:mod:`mrecist_tool.exchange.codes`): category SCT "Morphologically Abnormal
Structure"; type SCT "Tumor" for a lesion and SCT "Necrosis" for an ablation zone (the
coagulation necrosis a thermal ablation produces; the segment label says "ablation zone").
Tracking ID and UID: the lesion's, as in the SR, so SR and SEG of every timepoint link up; the
ablation zone has its own stable UID.

Geometry comes from the dicom layer's stack plan of the source series (the grid of the volume
the viewer shows), and the Pixel Measures written are that grid's: Spacing Between Slices is
the distance between the frames' actual positions, never a value copied from a source header
that contradicts them.  Masks are read as the viewer reads them
(:func:`mrecist_tool.dicom.read_volume_file`: SimpleITK, LPS) and must lie on that grid; a
mask on another grid is refused with both grids in the message, unless ``resample=True``, which
maps it with nearest-neighbour interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..dicom.privacy import pseudonymise_derived
from ..dicom.volume import Volume
from ..errors import DicomError
from ..model import Case, Observation
from ..safe_files import OutsideFolderError, check_regular, resolve_inside
from . import codes as K
from ._deps import require
from .common import observations_at, person_name, timepoint_of
from .dicom_write import save_dataset
from .sources import SourceIndex, SourceSeries, choose_series, index_folder
from .uids import ablation_zone_tracking_uid, lesion_tracking_uid


@dataclass
class SegmentSource:
    """Where one segment came from."""

    number: int
    label: str
    lesion: str
    kind: str  # "lesion" | "ablation-zone"
    mask_file: Path
    tracking_id: str
    tracking_uid: str
    voxels: int
    volume_mm3: float = 0.0
    resampled: bool = False


@dataclass
class SEGResult:
    """What :func:`build_seg` made: the data set plus notes for the person running it.

    Attributes
    ----------
    dataset : highdicom.seg.Segmentation
        The DICOM SEG.
    timepoint : str
        The timepoint whose masks it holds.
    series_uid : str
        The source series it segments.
    segments : list of SegmentSource
        One per segment: the lesion or ablation zone, its mask file and voxel count.
    notes : list of str
        What was noticed (e.g. masks resampled), for the person running it.
    """

    dataset: Any
    timepoint: str
    series_uid: str
    segments: list[SegmentSource]
    notes: list[str] = field(default_factory=list)


def describe_grid(v: Volume, shape: tuple[int, ...] | None = None) -> str:
    size = list(shape if shape is not None else v.shape)
    sp = ", ".join(f"{s:g}" for s in v.spacing)
    org = ", ".join(f"{o:.2f}" for o in v.origin)
    return f"size (z, y, x) {size}, spacing [{sp}] mm, origin [{org}] mm"


def _same_grid(mask: Volume, series: SourceSeries) -> bool:
    grid = series.grid()
    return (
        tuple(mask.shape) == series.shape
        and np.allclose(mask.spacing, grid.spacing, atol=1e-3)
        and np.allclose(mask.origin, grid.origin, atol=1e-2)
        and np.allclose(mask.direction, grid.direction, atol=1e-4)
    )


def load_mask_on_grid(path: Path, series: SourceSeries, resample: bool) -> tuple[np.ndarray, bool]:
    """Read a mask file and return it as a (slices, rows, columns) bool array on the series'
    grid, and whether it was resampled."""
    sitk = require("SimpleITK", "reading masks")
    from ..dicom.sitk_bridge import read_volume_file, to_sitk
    from ..geometry.mask_values import MaskValueError, binary_inside

    reason = check_regular(path)
    if reason is not None:  # a FIFO would block the reader: never opened
        raise DicomError(f"{path}: mask file {'not found' if reason == 'no such file' else reason}")
    try:
        mask = read_volume_file(path)
    except (RuntimeError, ValueError, OSError) as exc:
        raise DicomError(f"{path}: cannot read the mask as a 3D image ({exc})") from None
    try:
        inside = binary_inside(mask.array)
    except MaskValueError as exc:
        raise DicomError(f"{path}: not a binary mask: {exc}") from None
    if _same_grid(mask, series):
        return np.ascontiguousarray(inside), False
    if not resample:
        raise DicomError(
            f"{path}: the mask grid ({describe_grid(mask)}) does not match the source series "
            f"({describe_grid(series.grid(), series.shape)}); re-save the mask on the series' "
            "grid or pass --resample to map it with nearest-neighbour interpolation"
        )
    grid = series.grid()
    reference = sitk.Image([int(v) for v in reversed(series.shape)], sitk.sitkUInt8)
    sz, sy, sx = grid.spacing
    reference.SetSpacing((sx, sy, sz))
    reference.SetOrigin(tuple(grid.origin))
    reference.SetDirection(tuple(float(v) for v in grid.direction.ravel()))
    binary = Volume(array=inside.astype(np.uint8), spacing=mask.spacing,
                    origin=mask.origin, direction=mask.direction)
    image = sitk.Resample(to_sitk(binary), reference, sitk.Transform(), sitk.sitkNearestNeighbor,
                          0, sitk.sitkUInt8)
    return np.ascontiguousarray(sitk.GetArrayFromImage(image) > 0), True


def _mask_base(case: Case) -> Path:
    return case.source.parent if case.source is not None else Path.cwd()


def _mask_jobs(case: Case, observations: Sequence[Observation]) -> list[tuple[str, str, Path]]:
    """(lesion id, "lesion" | "ablation-zone", path) for every mask at the timepoint."""
    base = _mask_base(case)
    jobs = []
    for obs in observations:
        geom = obs.geometry
        if geom is None:
            continue
        for kind, rel in (("lesion", geom.mask), ("ablation-zone", geom.ablation_zone_mask)):
            if not rel:
                continue
            try:  # real paths: a symbolic link must not lead out of the case folder
                jobs.append((obs.lesion, kind, resolve_inside(base, rel)))
            except OutsideFolderError as exc:
                raise DicomError(f"{exc.path}: the mask {exc.reason}; masks must be inside the "
                                 "case file's folder") from None
    return jobs


def _ds(value: float) -> str:
    """A DS string (at most 16 characters) for a length in mm."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text[:16]


def build_seg(
    case: Case,
    timepoint_id: str,
    dicom_folder: str | Path | SourceIndex,
    *,
    series_uid: str | None = None,
    resample: bool = False,
    keep_patient_identity: bool = False,
) -> SEGResult:
    """Build the DICOM SEG of the masks recorded at ``timepoint_id``.

    Parameters
    ----------
    case:
        The case; mask paths are relative to its file's folder.
    timepoint_id:
        Timepoint whose masks to export.
    dicom_folder:
        Folder with the source series (searched recursively) or an index of one.
    series_uid:
        The source series, when the observations do not name one.
    resample:
        Map masks that are not on the series' grid with nearest-neighbour interpolation
        instead of refusing them.
    keep_patient_identity:
        Keep the patient and study attributes of the source images (to store the SEG in the
        hospital PACS beside its images); by default the case's subject id replaces them
        (:func:`~mrecist_tool.dicom.privacy.pseudonymise_derived`).

    Raises
    ------
    ValueError
        Unknown timepoint, or no mask at it.
    DicomError
        Series not found or not a regular stack, mask file unreadable or on another grid.
    """
    hd = require("highdicom", "writing DICOM SEG")
    from pydicom.uid import generate_uid

    tp = timepoint_of(case, timepoint_id)
    observations = [o for o in observations_at(case, tp.id) if o.geometry is not None]
    jobs = _mask_jobs(case, observations)
    if not jobs:
        raise ValueError(
            f"{case.source or 'case'}: no mask (geometry.mask / geometry.ablation_zone_mask) "
            f"recorded at timepoint {tp.id}"
        )
    index = dicom_folder if isinstance(dicom_folder, SourceIndex) else index_folder(dicom_folder)
    masked = [o for o in observations if o.geometry and (o.geometry.mask or o.geometry.ablation_zone_mask)]
    uids = choose_series(index, case, tp, masked, series_uid)
    # A SEG is defined on one series.  Masks drawn on other series of the same study (another
    # phase of a multiphase CT, usually the same voxel grid in the same frame of reference) are
    # placed on it when their grid is the same (or with --resample), and those series are
    # recorded as further source images.  The target: --series, else the viability (arterial)
    # series, else the first one named.
    arterial = {s.uid for s in (tp.series or ()) if s.phase == "arterial"}
    target_uid = series_uid or next((u for u in uids if u in arterial), uids[0])
    series = index.series(target_uid)
    datasets = series.datasets()
    further: list[Any] = []
    for uid in uids:
        if uid != target_uid:
            further.extend(index.series(uid).datasets())
    mask_series = {
        o.lesion: (o.geometry.series_uid if o.geometry and o.geometry.series_uid else target_uid)
        for o in masked
    }

    voxel_mm3 = float(np.prod(series.plan.spacing))
    planes: list[np.ndarray] = []
    segments: list[SegmentSource] = []
    descriptions = []
    notes: list[str] = []
    for lesion_id, kind, path in jobs:
        mask, resampled = load_mask_on_grid(path, series, resample)
        voxels = int(mask.sum())
        if voxels == 0:
            notes.append(f"{path}: empty mask (lesion {lesion_id}, {kind}) left out")
            continue
        if resampled:
            notes.append(f"{path}: resampled onto series {target_uid} (nearest neighbour)")
        elif mask_series.get(lesion_id, target_uid) != target_uid:
            notes.append(
                f"{path}: drawn on series {mask_series[lesion_id]}, placed on series "
                f"{target_uid} (same voxel grid and frame of reference)"
            )
        number = len(segments) + 1
        if kind == "lesion":
            label, tracking_id = lesion_id, lesion_id
            tracking_uid = lesion_tracking_uid(case, lesion_id)
            seg_type = K.SEG_TYPE_LESION
        else:
            label = f"{lesion_id} ablation zone"
            tracking_id = f"{lesion_id}-ablation-zone"
            tracking_uid = ablation_zone_tracking_uid(case, lesion_id)
            seg_type = K.SEG_TYPE_ABLATION_ZONE
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=label[:64],
                segmented_property_category=K.SEG_CATEGORY.code(),
                segmented_property_type=seg_type.code(),
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
                tracking_uid=tracking_uid,
                tracking_id=tracking_id,
            )
        )
        segments.append(SegmentSource(
            number=number, label=label, lesion=lesion_id, kind=kind, mask_file=path,
            tracking_id=tracking_id, tracking_uid=tracking_uid, voxels=voxels,
            volume_mm3=voxels * voxel_mm3, resampled=resampled,
        ))
        planes.append(mask)
    if not segments:
        raise ValueError(f"every mask at timepoint {tp.id} is empty; nothing to export")
    stack = np.stack(planes, axis=-1).astype(np.uint8)  # (slices, rows, cols, segments)

    # The grid's own measures: Spacing Between Slices from the frames' positions (a source
    # header's SpacingBetweenSlices may contradict them; highdicom would copy it).
    sz, sy, sx = series.plan.spacing
    thickness = series.slices[0].header.slice_thickness
    measures = hd.PixelMeasuresSequence(
        pixel_spacing=[float(_ds(sy)), float(_ds(sx))],
        slice_thickness=float(_ds(thickness if thickness and thickness > 0 else sz)),
        spacing_between_slices=float(_ds(sz)),
    )
    readers = {o.reader for o in observations if o.reader} or ({case.reader} if case.reader else set())
    creator = person_name(next(iter(readers))) if len(readers) == 1 else None
    seg = hd.seg.Segmentation(
        source_images=datasets,
        pixel_array=stack,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=991,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=K.MANUFACTURER,
        manufacturer_model_name="mrecist-tool",
        software_versions=K.software_version(),
        device_serial_number="0",
        content_description=f"lesion and ablation zone masks {tp.id}"[:64],
        content_label=f"MASKS_{tp.id}"[:16].upper().replace("-", "_").replace(".", "_"),
        content_creator_name=creator,
        pixel_measures=measures,
        omit_empty_frames=True,
        further_source_images=further or None,
    )
    # highdicom replaces the measures given with the source header's whenever the pixel
    # spacings agree, SpacingBetweenSlices included: set the grid's value on the object.
    for group in seg.SharedFunctionalGroupsSequence:
        for item in group.get("PixelMeasuresSequence", []):
            item.SpacingBetweenSlices = _ds(sz)
    seg.SeriesDescription = f"lesion masks {tp.id}"[:64]
    if not keep_patient_identity:
        pseudonymise_derived(seg, case.subject.id, tp.id)
    return SEGResult(dataset=seg, timepoint=tp.id, series_uid=target_uid, segments=segments,
                     notes=notes)


def write_seg(
    case: Case,
    timepoint_id: str,
    dicom_folder: str | Path | SourceIndex,
    out: str | Path,
    *,
    series_uid: str | None = None,
    resample: bool = False,
    keep_patient_identity: bool = False,
) -> SEGResult:
    """Build the SEG (see :func:`build_seg`) and save it atomically to ``out``.

    Parameters
    ----------
    case : Case
        The case; mask paths are relative to its file's folder.
    timepoint_id : str
        Timepoint whose masks to export.
    dicom_folder : str, pathlib.Path or SourceIndex
        Folder with the source series (searched recursively) or an index of one.
    out : str or pathlib.Path
        The file to write.
    series_uid : str or None, optional
        The source series, when the observations do not name one.
    resample : bool, optional
        Map masks that are not on the series' grid with nearest-neighbour interpolation
        instead of refusing them.
    keep_patient_identity : bool, optional
        Keep the patient and study attributes of the source images; by default the case's
        subject id replaces them.

    Returns
    -------
    SEGResult
        The SEG written, with notes.

    Raises
    ------
    ValueError
        Unknown timepoint, or no mask at it.
    DicomError
        Series not found or not a regular stack, mask file unreadable or on another grid.
    """
    result = build_seg(case, timepoint_id, dicom_folder, series_uid=series_uid, resample=resample,
                       keep_patient_identity=keep_patient_identity)
    save_dataset(result.dataset, out)
    return result
