"""DICOM Segmentation of the lesion and ablation-zone masks of one timepoint (highdicom).

One BINARY segmentation per timepoint, on the series the masks were drawn on: one segment per
lesion mask (``geometry.mask``) and one per ablation-zone mask (``geometry.ablation_zone_mask``).
BINARY (not LABELMAP) with one frame per segment per slice, so segments may overlap, as a
lesion and its ablation zone do.

Segment codes (see :mod:`mrecist_tool.exchange._dicom_common`): category SCT "Morphologically
Abnormal Structure"; type SCT "Tumor" for a lesion and SCT "Necrosis" for an ablation zone (the
coagulation necrosis a thermal ablation produces; the segment label says "ablation zone").
Tracking ID and UID: the lesion's, as in the SR, so SR and SEG of every timepoint link up; the
ablation zone has its own stable UID.

Masks are NIfTI files read with SimpleITK (which reports them in LPS, like DICOM).  A mask must
lie on the source series' voxel grid; a mask on another grid is refused with the two grids in
the message, unless ``resample=True``, which maps it with nearest-neighbour interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DicomError
from ..model import Case, Observation
from . import _dicom_common as C
from ._deps import require
from .dicom_sr import _observations_at, _timepoint, person_name, save_dataset


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
    resampled: bool = False


@dataclass
class SEGResult:
    dataset: Any
    timepoint: str
    series_uid: str
    segments: list[SegmentSource]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Grid:
    size: tuple[int, int, int]  # x (columns), y (rows), z (slices)
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]  # 9 values, columns are the x, y, z axes (SimpleITK order)

    def describe(self) -> str:
        sp = ", ".join(f"{v:g}" for v in self.spacing)
        org = ", ".join(f"{v:.2f}" for v in self.origin)
        return f"size {list(self.size)}, spacing [{sp}] mm, origin [{org}] mm"


def series_grid(series: C.SourceSeries, first: Any) -> _Grid:
    """The voxel grid of a sorted single-frame series (from its first slice's header)."""
    if len(series.offsets) > 1:
        steps = np.diff(series.offsets)
        if np.ptp(steps) > 0.01 * max(1.0, float(np.median(steps))):
            raise DicomError(
                f"{series.instances[0].path}: series {series.series_uid} has unevenly spaced "
                f"slices (steps {float(steps.min()):.3f}-{float(steps.max()):.3f} mm); "
                "a segmentation needs a regular grid"
            )
    rows, cols = int(first.Rows), int(first.Columns)
    row_spacing, col_spacing = (float(v) for v in first.PixelSpacing)
    orientation = [float(v) for v in first.ImageOrientationPatient]
    x_axis = np.asarray(orientation[:3])
    y_axis = np.asarray(orientation[3:])
    direction = np.column_stack([x_axis, y_axis, series.normal])
    origin = [float(v) for v in series.instances[0].position or (0.0, 0.0, 0.0)]
    return _Grid(
        size=(cols, rows, len(series.instances)),
        spacing=(col_spacing, row_spacing, abs(series.slice_spacing)),
        origin=(origin[0], origin[1], origin[2]),
        direction=tuple(float(v) for v in direction.ravel()),
    )


def _same_grid(image: Any, grid: _Grid) -> bool:
    return (
        tuple(image.GetSize()) == grid.size
        and np.allclose(image.GetSpacing(), grid.spacing, atol=1e-3)
        and np.allclose(image.GetOrigin(), grid.origin, atol=1e-2)
        and np.allclose(image.GetDirection(), grid.direction, atol=1e-4)
    )


def _image_grid(image: Any) -> _Grid:
    return _Grid(
        size=tuple(int(v) for v in image.GetSize()),  # type: ignore[arg-type]
        spacing=tuple(float(v) for v in image.GetSpacing()),  # type: ignore[arg-type]
        origin=tuple(float(v) for v in image.GetOrigin()),  # type: ignore[arg-type]
        direction=tuple(float(v) for v in image.GetDirection()),
    )


def load_mask_on_grid(path: Path, grid: _Grid, resample: bool) -> tuple[np.ndarray, bool]:
    """Read a NIfTI mask and return it as a (slices, rows, columns) bool array on ``grid``."""
    sitk = require("SimpleITK", "reading NIfTI masks")
    if not path.is_file():
        raise DicomError(f"{path}: mask file not found")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise DicomError(f"{path}: cannot read the mask as an image ({exc})") from None
    if image.GetDimension() != 3:
        raise DicomError(f"{path}: expected a 3D mask, found {image.GetDimension()}D")
    resampled = False
    if not _same_grid(image, grid):
        if not resample:
            raise DicomError(
                f"{path}: the mask grid ({_image_grid(image).describe()}) does not match the "
                f"source series ({grid.describe()}); re-save the mask on the series' grid or "
                "pass --resample to map it with nearest-neighbour interpolation"
            )
        reference = sitk.Image([int(v) for v in grid.size], sitk.sitkUInt8)
        reference.SetSpacing(grid.spacing)
        reference.SetOrigin(grid.origin)
        reference.SetDirection(grid.direction)
        image = sitk.Resample(
            sitk.Cast(image > 0, sitk.sitkUInt8),
            reference,
            sitk.Transform(),
            sitk.sitkNearestNeighbor,
            0,
            sitk.sitkUInt8,
        )
        resampled = True
    array = sitk.GetArrayFromImage(image) > 0  # (z, y, x) == (slice, row, column)
    return np.ascontiguousarray(array), resampled


def _mask_base(case: Case) -> Path:
    return case.source.parent if case.source is not None else Path.cwd()


def _mask_jobs(
    case: Case, observations: Sequence[Observation]
) -> list[tuple[str, str, Path]]:
    """(lesion id, "lesion" | "ablation-zone", path) for every mask at the timepoint."""
    base = _mask_base(case)
    jobs = []
    for obs in observations:
        geom = obs.geometry
        if geom is None:
            continue
        if geom.mask:
            jobs.append((obs.lesion, "lesion", base / geom.mask))
        if geom.ablation_zone_mask:
            jobs.append((obs.lesion, "ablation-zone", base / geom.ablation_zone_mask))
    return jobs


def build_seg(
    case: Case,
    timepoint_id: str,
    dicom_folder: str | Path | C.SourceIndex,
    *,
    series_uid: str | None = None,
    resample: bool = False,
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

    Raises
    ------
    ValueError
        Unknown timepoint, or no mask at it.
    DicomError
        Series not found, masks on several series, mask file unreadable or on another grid.
    """
    hd = require("highdicom", "writing DICOM SEG")
    from pydicom.uid import generate_uid

    tp = _timepoint(case, timepoint_id)
    observations = [o for o in _observations_at(case, tp.id) if o.geometry is not None]
    jobs = _mask_jobs(case, observations)
    if not jobs:
        raise ValueError(
            f"{case.source or 'case'}: no mask (geometry.mask / geometry.ablation_zone_mask) "
            f"recorded at timepoint {tp.id}"
        )
    index = dicom_folder if isinstance(dicom_folder, C.SourceIndex) else C.index_folder(dicom_folder)
    masked = [o for o in observations if o.geometry and (o.geometry.mask or o.geometry.ablation_zone_mask)]
    uids = C.choose_series(index, case, tp, masked, series_uid)
    # A SEG is defined on one series.  Masks drawn on other series of the same study (another
    # phase of a multiphase CT, usually the same voxel grid in the same frame of reference) are
    # placed on it when their grid is the same (or with --resample), and those series are
    # recorded as further source images.  The target: --series, else the viability (arterial)
    # series, else the first one named.
    arterial = {s.uid for s in (tp.series or ()) if s.phase == "arterial"}
    target_uid = series_uid or next((u for u in uids if u in arterial), uids[0])
    series = C.sorted_series(index, target_uid)
    datasets = series.datasets(pixels=False)
    grid = series_grid(series, datasets[0])
    further: list[Any] = []
    for uid in uids:
        if uid != target_uid:
            further.extend(C.sorted_series(index, uid).datasets(pixels=False))
    mask_series = {
        o.lesion: (o.geometry.series_uid if o.geometry and o.geometry.series_uid else target_uid)
        for o in masked
    }

    n_slices, rows, cols = grid.size[2], grid.size[1], grid.size[0]
    planes: list[np.ndarray] = []
    segments: list[SegmentSource] = []
    descriptions = []
    notes: list[str] = []
    for lesion_id, kind, path in jobs:
        mask, resampled = load_mask_on_grid(path, grid, resample)
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
            label = lesion_id
            tracking_id = lesion_id
            tracking_uid = C.lesion_tracking_uid(case, lesion_id)
            seg_type = C.SEG_TYPE_LESION
        else:
            label = f"{lesion_id} ablation zone"
            tracking_id = f"{lesion_id}-ablation-zone"
            tracking_uid = C.ablation_zone_tracking_uid(case, lesion_id)
            seg_type = C.SEG_TYPE_ABLATION_ZONE
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=label[:64],
                segmented_property_category=C.SEG_CATEGORY.code(),
                segmented_property_type=seg_type.code(),
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
                tracking_uid=tracking_uid,
                tracking_id=tracking_id,
            )
        )
        segments.append(
            SegmentSource(
                number=number,
                label=label,
                lesion=lesion_id,
                kind=kind,
                mask_file=path,
                tracking_id=tracking_id,
                tracking_uid=tracking_uid,
                voxels=voxels,
                resampled=resampled,
            )
        )
        planes.append(mask)
    if not segments:
        raise ValueError(f"every mask at timepoint {tp.id} is empty; nothing to export")
    stack = np.stack(planes, axis=-1).astype(np.uint8)  # (slices, rows, cols, segments)
    assert stack.shape[:3] == (n_slices, rows, cols)

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
        manufacturer=C.MANUFACTURER,
        manufacturer_model_name="mrecist-tool",
        software_versions=C.software_version(),
        device_serial_number="0",
        content_description=f"lesion and ablation zone masks {tp.id}"[:64],
        content_label=f"MASKS_{tp.id}"[:16].upper().replace("-", "_").replace(".", "_"),
        content_creator_name=creator,
        omit_empty_frames=True,
        further_source_images=further or None,
    )
    seg.SeriesDescription = f"lesion masks {tp.id}"[:64]
    return SEGResult(
        dataset=seg, timepoint=tp.id, series_uid=target_uid, segments=segments, notes=notes
    )


def write_seg(
    case: Case,
    timepoint_id: str,
    dicom_folder: str | Path | C.SourceIndex,
    out: str | Path,
    *,
    series_uid: str | None = None,
    resample: bool = False,
) -> SEGResult:
    """Build the SEG (see :func:`build_seg`) and save it atomically to ``out``."""
    result = build_seg(
        case, timepoint_id, dicom_folder, series_uid=series_uid, resample=resample
    )
    save_dataset(result.dataset, out)
    return result
