"""Load one DICOM series as a :class:`~mrecist_tool.dicom.volume.Volume`.

Speed comes from doing little per file: headers are read by the small walker in
:mod:`.header` (no pydicom data sets), and native little-endian pixel values are read with
``readinto`` straight into their slice of a preallocated output array, in a thread pool (file
reads and numpy arithmetic release the GIL, so both cores work).  CT rescale to HU is applied in
place in the stored integer type when the rescale is integral and the values fit (checked per
slice); otherwise the output is ``int32`` or ``float32``.  Compressed, big-endian and
Enhanced multi-frame files are decoded by pydicom (with pylibjpeg / openjpeg / RLE plugins).
"""

from __future__ import annotations

import mmap
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DicomError
from ..safe_files import CappedReader, check_regular, open_regular
from .header import FileHeader, read_header
from .limits import ENV_MAX_BYTES, DicomLimits, current_limits, size_text
from .phase import detect_phase
from .stack import MissingSlices, SliceRef, StackPlan, plan_stack
from .volume import Volume

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Skipped:
    """A file left out, and why (for discovery reports).

    Attributes
    ----------
    path : Path
        The file.
    reason : str
        Why it was left out.
    """

    path: Path
    reason: str


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def list_files(files_or_folder: PathLike | Iterable[PathLike]) -> tuple[list[Path], bool]:
    """Expand a folder (recursively, hidden entries skipped) or a list of paths into files.

    A path to a ``DICOMDIR`` means the folder it indexes (its own folder).

    Returns the files and whether the input was a folder.
    """
    if isinstance(files_or_folder, (str, os.PathLike)):
        root = Path(files_or_folder)
        if root.is_file() and root.name.upper() == "DICOMDIR":
            root = root.parent  # a DICOMDIR stands for the file-set in its folder
        if root.is_dir():
            found: list[Path] = []
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                found.extend(Path(dirpath) / f for f in sorted(filenames)
                             if not f.startswith("."))
            return found, True
        if not root.exists():
            raise DicomError(f"{root}: no such file or folder")
        return [root], False
    paths = [Path(p) for p in files_or_folder]
    for p in paths:
        reason = check_regular(p)
        if reason is not None:
            raise DicomError(f"{p}: {reason}")
    return paths, False


def read_headers(
    paths: Sequence[Path], workers: int | None = None
) -> tuple[list[FileHeader], list[Skipped]]:
    """Read every header; files that cannot be used are returned as :class:`Skipped`."""

    def one(p: Path) -> FileHeader | Skipped:
        try:
            return read_header(p)
        except DicomError as exc:
            return Skipped(p, _strip_path(str(exc), p))
        except Exception as exc:  # a broken file must not stop a batch
            return Skipped(p, f"unreadable ({type(exc).__name__}: {exc})")

    workers = workers or default_workers()
    if workers > 1 and len(paths) > 16:
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, paths, chunksize=16))
    else:
        results = [one(p) for p in paths]
    headers = [r for r in results if isinstance(r, FileHeader)]
    skipped = [r for r in results if isinstance(r, Skipped)]
    return headers, skipped


def _strip_path(message: str, path: Path) -> str:
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def image_problem(h: FileHeader) -> str | None:
    """Why a file cannot be part of a volume, or None when it can."""
    kind = h.non_image_kind
    if kind:
        return f"not an image ({kind})"
    if not h.has_pixels:
        return "no Pixel Data"
    if not h.rows or not h.columns:
        return "no Rows/Columns"
    return None


def slice_refs(headers: Sequence[FileHeader]) -> tuple[list[SliceRef], list[str]]:
    """One :class:`SliceRef` per image (files, or frames of multi-frame files).

    Copies of the same image (same SOP Instance UID) are kept once, with a warning.
    """
    refs: list[SliceRef] = []
    warnings: list[str] = []
    seen: dict[str, Path] = {}
    for h in headers:
        if h.sop_instance_uid and h.sop_instance_uid in seen:
            warnings.append(f"{h.path.name} is a copy of {seen[h.sop_instance_uid].name} "
                            "(same SOP Instance UID): ignored")
            continue
        seen[h.sop_instance_uid] = h.path
        if h.frames is not None:
            refs.extend(SliceRef(h, f) for f in h.frames)
        elif h.number_of_frames > 1:
            raise DicomError(f"{h.path}: multi-frame object ({h.number_of_frames} frames) "
                             "without per-frame geometry: not a volume")
        else:
            refs.append(SliceRef(h))
    return refs, warnings


def group_by_series(headers: Iterable[FileHeader]) -> dict[str, list[FileHeader]]:
    groups: dict[str, list[FileHeader]] = defaultdict(list)
    for h in headers:
        groups[h.series_uid].append(h)
    return dict(groups)


# Header fields that split one series into several volumes (dynamic contrast MR keeps every
# temporal position in one series; dual-echo and repeated acquisitions do the same).
PART_FIELDS: dict[str, tuple[str, str]] = {
    "temporal": ("temporal_position", "Temporal Position Identifier"),
    "acquisition": ("acquisition_number", "Acquisition Number"),
    "echo": ("echo_number", "Echo Numbers"),
}


def series_parts(headers: Sequence[FileHeader]) -> dict[str, list[FileHeader]] | None:
    """Split a series that holds several volumes, keyed ``"<field>=<value>"``; None if it is not
    such a series.

    A split is offered when some slice position occurs more than once and one of
    :data:`PART_FIELDS` takes several values with no repeated position inside each value.
    """
    singles = [h for h in headers if h.frames is None and h.position is not None]
    if len(singles) < 2:
        return None
    positions = [tuple(round(v, 2) for v in h.position or ()) for h in singles]
    if len(set(positions)) == len(positions):
        return None
    for key, (attr, _name) in PART_FIELDS.items():
        values = {getattr(h, attr) for h in singles}
        if len(values) < 2 or None in values:
            continue
        groups: dict[str, list[FileHeader]] = defaultdict(list)
        for h in singles:
            groups[f"{key}={getattr(h, attr)}"].append(h)
        if all(len({tuple(round(v, 2) for v in h.position or ()) for h in g}) == len(g)
               for g in groups.values()):
            return dict(sorted(groups.items(), key=lambda kv: int(kv[0].split("=")[1])))
    return None


def select_part(headers: Sequence[FileHeader], part: str, where: str) -> list[FileHeader]:
    """The files of one part (``"temporal=3"``, ``"acquisition=2"``, ``"echo=1"``)."""
    key, _, value = part.partition("=")
    if key not in PART_FIELDS or not value.strip().lstrip("-").isdigit():
        raise DicomError(f"{where}: part {part!r} is not one of "
                         f"{', '.join(k + '=N' for k in PART_FIELDS)}")
    attr = PART_FIELDS[key][0]
    chosen = [h for h in headers if getattr(h, attr) == int(value)]
    if not chosen:
        found = sorted({getattr(h, attr) for h in headers} - {None})
        raise DicomError(f"{where}: no files with {PART_FIELDS[key][1]} {value} "
                         f"(found: {found or 'none'})")
    return chosen


def read_series(
    files_or_folder: PathLike | Iterable[PathLike],
    series_uid: str | None = None,
    *,
    part: str | None = None,
    missing_slices: MissingSlices = "raise",
    workers: int | None = None,
    dtype: np.dtype | type | None = None,
) -> Volume:
    """Load one CT or MR series as a volume in LPS millimetres.

    Parameters
    ----------
    files_or_folder : str, Path or iterable of them
        A folder (searched recursively), one file, or a list of files.
    series_uid : str, optional
        Which series to load when the input holds more than one image series.
    part : str, optional
        For a series holding several volumes (see :func:`series_parts`, e.g. every temporal
        position of a dynamic contrast MR), which one: ``"temporal=N"``, ``"acquisition=N"``
        or ``"echo=N"``.  The refusal message of such a series lists the parts.
    missing_slices : str
        ``"raise"`` (default) refuses a series with missing slices, naming the gap;
        ``"fill"`` loads it with empty slices in the gaps (so the spacing stays right) and a
        warning.
    workers : int, optional
        Threads for reading pixel data (default: the number of cores, at most 8).
    dtype : numpy dtype, optional
        Force the output type (e.g. ``np.float32``); by default the stored integer type when
        the rescaled values fit in it, else ``int32`` / ``float32``.

    Returns
    -------
    Volume
        ``array[z, y, x]`` with rescale applied (CT in HU), geometry, and header facts.

    Raises
    ------
    DicomError
        When the input holds no loadable image series, several series and no ``series_uid``,
        or a series that is not one regular volume (the message says what and where).
    """
    paths, from_folder = list_files(files_or_folder)
    headers, skipped = read_headers(paths, workers)
    if skipped and not from_folder:
        raise DicomError("; ".join(f"{s.path}: {s.reason}" for s in skipped))
    where = str(files_or_folder) if from_folder else (
        str(paths[0]) if len(paths) == 1 else f"{len(paths)} files")
    if series_uid is not None:
        chosen = [h for h in headers if h.series_uid == series_uid]
        if not chosen:
            raise DicomError(f"{where}: no series with Series Instance UID {series_uid}")
    else:
        chosen = _single_image_series(headers, where, skipped)
    problems = {image_problem(h) for h in chosen} - {None}
    images = [h for h in chosen if image_problem(h) is None]
    if not images:
        first = chosen[0]
        raise DicomError(f"{first.path if len(chosen) == 1 else where}: "
                         f"{sorted(p for p in problems if p)[0]}: nothing to load as a volume")
    label = _series_label(images[0], where)
    if part is not None:
        images = select_part(images, part, label)
        label += f" ({part})"
    refs, warnings = slice_refs(images)
    try:
        plan = plan_stack(refs, label=label, missing_slices=missing_slices)
    except DicomError as exc:
        parts = series_parts(images) if part is None else None
        if parts:
            raise DicomError(f"{exc}; load one volume with part= one of: "
                             f"{', '.join(f'{k} ({len(v)} files)' for k, v in parts.items())}"
                             ) from None
        raise
    warnings.extend(plan.warnings)
    ignored = len(chosen) - len(images)
    if ignored:
        warnings.append(f"{ignored} non-image object(s) in the series ignored")
    if skipped and from_folder:
        dicom_like = [s for s in skipped if not s.reason.startswith("not a DICOM file")]
        if dicom_like:
            warnings.append(f"{len(dicom_like)} unreadable DICOM file(s) in the folder skipped, "
                            f"e.g. {dicom_like[0].path.name}: {dicom_like[0].reason}")
    array = load_pixels(plan, workers=workers, dtype=dtype)
    h = plan.slices[0].header
    phase = detect_phase(
        series_description=h.series_description, protocol_name=h.protocol_name,
        contrast_agent=h.contrast_agent, contrast_start_time=h.contrast_start_time,
        acquisition_time=h.acquisition_time, series_time=h.series_time,
        content_time=h.content_time,
    )
    uids = [""] * plan.n_slices
    files = [""] * plan.n_slices
    frame_numbers = [0] * plan.n_slices
    for ref, k in zip(plan.slices, plan.slice_index, strict=True):
        uids[k] = ref.header.sop_instance_uid
        files[k] = str(ref.header.path)
        frame_numbers[k] = ref.frame.index + 1 if ref.frame is not None else 0
    middle = plan.slices[len(plan.slices) // 2]
    return Volume(
        array=array,
        spacing=plan.spacing,
        origin=plan.origin,
        direction=plan.direction,
        series_uid=h.series_uid,
        study_uid=h.study_uid,
        modality=h.modality,
        phase=phase.phase,
        description=h.series_description,
        window=middle.window,
        frame_of_reference_uid=h.frame_of_reference_uid,
        sop_instance_uids=tuple(uids),
        warnings=tuple(warnings),
        extra={
            "files": tuple(files),
            "frame_numbers": tuple(frame_numbers),  # 1-based; 0 for single-frame files
            "phase_evidence": phase.evidence,
            "orientation": plan.orientation_label,
            "slice_thickness": h.slice_thickness,
            "study_date": h.study_date,
            "part": part,
        },
    )


def _series_label(h: FileHeader, where: str) -> str:
    desc = f" {h.series_description!r}" if h.series_description else ""
    return f"{where}: series {h.series_number if h.series_number is not None else '?'}{desc}"


def _single_image_series(
    headers: list[FileHeader], where: str, skipped: list[Skipped]
) -> list[FileHeader]:
    groups = group_by_series(headers)
    candidates = {
        uid: hs for uid, hs in groups.items()
        if any(image_problem(h) is None and not h.is_localizer for h in hs)
    }
    if len(candidates) == 1:
        return next(iter(candidates.values()))
    if not candidates:
        if len(groups) == 1:
            return next(iter(groups.values()))  # let the caller say why it is not an image
        why = "; ".join(f"{s.path.name}: {s.reason}" for s in skipped[:3])
        raise DicomError(f"{where}: no image series found" + (f" ({why})" if why else ""))
    listing = "; ".join(
        f"{uid} (series {hs[0].series_number}, {hs[0].modality}, "
        f"{hs[0].series_description!r}, {len(hs)} files)"
        for uid, hs in sorted(candidates.items(), key=lambda kv: kv[1][0].series_number or 0)
    )
    raise DicomError(f"{where}: {len(candidates)} image series; pass series_uid= one of: "
                     f"{listing}")


# -- pixels ----------------------------------------------------------------------------------------


def _stored_dtype(h: FileHeader) -> np.dtype:
    if h.bits_allocated not in (8, 16, 32):
        raise DicomError(f"{h.path}: Bits Allocated {h.bits_allocated} is not supported for "
                         "volumes (expected 8, 16 or 32)")
    kind = "i" if h.pixel_representation == 1 else "u"
    return np.dtype(f"<{kind}{h.bits_allocated // 8}")


def _plan_dtype(plan: StackPlan) -> np.dtype:
    """The output type: the stored integer type (signed when the intercept is negative) when the
    rescale is integral, else float32."""
    h = plan.slices[0].header
    stored = _stored_dtype(h)
    slopes = {r.slope for r in plan.slices}
    intercepts = {r.intercept for r in plan.slices}
    integral = slopes == {1.0} and all(float(i).is_integer() for i in intercepts)
    if not integral:
        return np.dtype(np.float32)
    if stored.itemsize == 1 and intercepts != {0.0}:
        return np.dtype(np.int16)  # 8-bit values with an offset rarely fit in 8 bits
    if stored.kind == "u" and min(intercepts) < 0:
        return np.dtype(f"<i{stored.itemsize}")
    return stored


class _Overflow(Exception):
    pass


def load_pixels(plan: StackPlan, *, workers: int | None = None,
                dtype: np.dtype | type | None = None,
                limits: DicomLimits | None = None) -> np.ndarray:
    """Read the pixel values of a planned stack into a new ``(z, y, x)`` array.

    Every declared size is checked against the files and ``limits`` before the array is
    allocated.
    """
    limits = limits or current_limits()
    out_dtype = np.dtype(dtype) if dtype is not None else _plan_dtype(plan)
    _check_sizes(plan, out_dtype, limits)
    try:
        return _load(plan, out_dtype, workers)
    except _Overflow:
        # Rescaled values left the stored type's range: redo in a wider type (rare).
        wider = np.dtype(np.int32) if out_dtype.kind in "iu" else np.dtype(np.float64)
        _check_sizes(plan, wider, limits)
        try:
            return _load(plan, wider, workers)
        except _Overflow:
            wider = np.dtype(np.float64)
            _check_sizes(plan, wider, limits)
            try:
                return _load(plan, wider, workers)
            except _Overflow:  # pragma: no cover - float64 holds any rescaled 32-bit value
                raise DicomError(f"{plan.slices[0].header.path}: rescaled pixel values out of "
                                 "range") from None


def _check_sizes(plan: StackPlan, out_dtype: np.dtype, limits: DicomLimits) -> None:
    """Refuse before allocating: a volume beyond the limit, or a slice whose Pixel Data holds
    fewer bytes than its Rows x Columns x Bits Allocated need."""
    total = plan.n_slices * plan.rows * plan.columns * out_dtype.itemsize
    if total > limits.max_bytes:
        raise DicomError(
            f"{plan.slices[0].header.path.parent}: the volume of {plan.n_slices:,} slices of "
            f"{plan.rows}×{plan.columns} pixels would need {size_text(total)} of memory, more "
            f"than the {size_text(limits.max_bytes)} accepted (set {ENV_MAX_BYTES} to raise the "
            "limit)")
    frame_pixels = plan.rows * plan.columns
    for ref in plan.slices:
        h = ref.header
        if ref.frame is None and h.pixel_offset is not None and h.pixel_length is not None:
            needed = frame_pixels * _stored_dtype(h).itemsize
            if h.pixel_length < needed:
                raise DicomError(
                    f"{h.path}: Pixel Data holds {h.pixel_length} bytes but {plan.rows}×"
                    f"{plan.columns} pixels of {h.bits_allocated} bits need {needed}: the file "
                    "is truncated or its image size is wrong"
                )


_MMAP_MIN_BYTES = 16 * 1024 * 1024


def _fresh_array(shape: tuple[int, int, int], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array; large ones on an anonymous memory map.

    Touching a fresh 150 MB array costs more than reading the pixels into it (page faults); on
    the project's VMs pages from an anonymous ``mmap`` fault in with about 40 % less CPU than
    ``numpy.empty``'s.  The array owns the map through its ``base`` and releases it when
    collected.
    """
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if nbytes < _MMAP_MIN_BYTES:
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype=dtype).reshape(shape)


def _load(plan: StackPlan, out_dtype: np.dtype, workers: int | None) -> np.ndarray:
    out = _fresh_array((plan.n_slices, plan.rows, plan.columns), out_dtype)
    by_file: dict[Path, list[tuple[SliceRef, int]]] = defaultdict(list)
    fast: list[tuple[SliceRef, int]] = []
    for ref, k in zip(plan.slices, plan.slice_index, strict=True):
        h = ref.header
        if ref.frame is None and h.pixel_offset is not None and h.pixel_length is not None:
            fast.append((ref, k))  # sizes checked by _check_sizes before allocation
        else:
            by_file[h.path].append((ref, k))

    def read_fast(item: tuple[SliceRef, int]) -> None:
        ref, k = item
        h = ref.header
        stored = _stored_dtype(h)
        dest = out[k]
        with open_regular(h.path) as fh:
            fh.seek(h.pixel_offset or 0)
            if stored == out_dtype or (stored.itemsize == out_dtype.itemsize
                                       and out_dtype.kind in "iu"):
                view = dest.view(np.uint8).reshape(-1)
                n = fh.readinto(view.data)
                if n != view.size:
                    raise DicomError(f"{h.path}: truncated Pixel Data ({n} of {view.size} bytes)")
                _clear_unused_bits(dest.view(stored), h)
                if stored != out_dtype:
                    raw = dest.view(stored)
                    _rescale_in_place(dest, raw, ref, out_dtype)
                elif ref.intercept != 0.0:
                    _rescale_in_place(dest, dest, ref, out_dtype)
            else:
                raw = np.empty((plan.rows, plan.columns), dtype=stored)
                n = fh.readinto(raw.view(np.uint8).reshape(-1).data)
                if n != raw.nbytes:
                    raise DicomError(f"{h.path}: truncated Pixel Data ({n} of {raw.nbytes} "
                                     "bytes)")
                _clear_unused_bits(raw, h)
                _rescale_into(dest, raw, ref, out_dtype)

    def read_decoded(path: Path) -> None:
        items = by_file[path]
        arr = _decode(path)
        frames = arr.reshape(-1, plan.rows, plan.columns) if arr.ndim >= 2 else arr
        for ref, k in items:
            index = ref.frame.index if ref.frame is not None else 0
            if index >= frames.shape[0]:
                raise DicomError(f"{path}: frame {index + 1} missing from Pixel Data")
            _rescale_into(out[k], frames[index], ref, out_dtype)

    workers = workers or default_workers()
    jobs = [lambda item=item: read_fast(item) for item in fast]
    jobs += [lambda p=p: read_decoded(p) for p in by_file]
    if workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(workers) as pool:
            for future in [pool.submit(job) for job in jobs]:
                future.result()
    else:
        for job in jobs:
            job()
    if plan.n_slices > len(plan.slices):
        filled = sorted(set(range(plan.n_slices)) - set(plan.slice_index))
        present = np.asarray(plan.slice_index)
        fill = out[present].min() if present.size else 0
        out[filled] = fill
    return out


def _clear_unused_bits(raw: np.ndarray, h: FileHeader) -> None:
    """Ignore bits above Bits Stored, as pydicom does: mask them (unsigned) or sign-extend
    from the stored high bit (signed)."""
    bits = h.bits_stored
    total = 8 * raw.dtype.itemsize
    if not 0 < bits < total:
        return
    if raw.dtype.kind == "u":
        np.bitwise_and(raw, (1 << bits) - 1, out=raw, casting="unsafe")
    else:
        shift = total - bits
        np.left_shift(raw, shift, out=raw)
        np.right_shift(raw, shift, out=raw)


def _rescale_in_place(dest: np.ndarray, raw: np.ndarray, ref: SliceRef,
                      out_dtype: np.dtype) -> None:
    """``dest`` (same bytes as ``raw``) becomes ``raw + intercept`` in ``out_dtype``.

    The addition is done modulo 2**bits on the unsigned view, which is exact whenever the true
    result fits in ``out_dtype`` -- checked first from the slice's minimum and maximum.
    """
    intercept = int(ref.intercept)
    if intercept == 0 and raw.dtype == out_dtype:
        return
    info = np.iinfo(out_dtype)
    lo, hi = int(raw.min()), int(raw.max())
    if lo + intercept < info.min or hi + intercept > info.max:
        raise _Overflow
    if intercept:
        unsigned = dest.view(np.dtype(f"<u{out_dtype.itemsize}"))
        unsigned += np.array(intercept % (1 << (8 * out_dtype.itemsize)), dtype=unsigned.dtype)


def _rescale_into(dest: np.ndarray, raw: np.ndarray, ref: SliceRef, out_dtype: np.dtype) -> None:
    slope, intercept = ref.slope, ref.intercept
    if out_dtype.kind in "iu":
        values = raw.astype(np.int64, copy=False)
        if slope != 1.0 or not float(intercept).is_integer():
            values = np.rint(raw * slope + intercept).astype(np.int64)
        elif intercept:
            values = values + int(intercept)
        info = np.iinfo(out_dtype)
        if values.size and (values.min() < info.min or values.max() > info.max):
            raise _Overflow
        dest[...] = values
    else:
        np.multiply(raw, slope, out=dest, casting="unsafe")
        if intercept:
            dest += intercept


_DEFER_BYTES = 16 * 1024 * 1024


def _decode(path: Path) -> np.ndarray:
    import pydicom

    try:
        with CappedReader(open_regular(path)) as fh:
            # defer_size: elements the image does not need (a 1.5 GB private blob) are skipped
            # with a seek, and read only if asked for.
            ds = pydicom.dcmread(fh, defer_size=_DEFER_BYTES)
            return np.asarray(ds.pixel_array)
    except (NotImplementedError, RuntimeError) as exc:
        ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None) if (
            "ds" in locals()) else None
        name = getattr(ts, "name", ts)
        raise DicomError(f"{path}: cannot decode the pixel data ({name}): {exc}") from exc
    except Exception as exc:  # truncated or corrupt compressed data
        raise DicomError(f"{path}: unreadable pixel data ({type(exc).__name__}: {exc})") from exc
