"""Header reading through pydicom: big endian, deflated, no preamble, Enhanced multi-frame.

For Enhanced (multi-frame) objects the per-frame geometry and value mapping come from the
shared and per-frame functional groups (PS3.3 C.7.6.16): Plane Position, Plane Orientation,
Pixel Measures, Pixel Value Transformation and Frame VOI LUT.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from ..errors import DicomError
from ..safe_files import CappedReader, NotRegularFileError, open_regular
from .header import (
    ENHANCED_CLASSES,
    EXPLICIT_BE,
    EXPLICIT_LE,
    IMPLICIT_LE,
    KEYWORDS,
    MAX_DIRECTION_COSINE,
    FileHeader,
    FrameGeometry,
    build_header,
    to_int,
)
from .limits import DicomLimits, current_limits, declared_size_problem
from .values import MAX_POSITION_MM, ValueChecks, element_name

_DEFER = 1024 * 1024  # values larger than this are skipped while reading a header

# pydicom's validation warnings quote element values, which may be a patient's name or ID:
# they are silenced while we read headers (serialised, since warning filters are global).
_PYDICOM_LOCK = threading.Lock()


def read_with_pydicom(path: Path) -> FileHeader:
    logger = logging.getLogger("pydicom")
    with _PYDICOM_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        level = logger.level
        logger.setLevel(logging.CRITICAL)
        try:
            return _read_with_pydicom_unlocked(path)
        finally:
            logger.setLevel(level)


def _read_with_pydicom_unlocked(path: Path) -> FileHeader:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        with CappedReader(open_regular(path)) as fh:
            size = os.fstat(fh.fileno()).st_size
            # defer_size: large values (a 1.5 GB private element) are skipped with a seek, not
            # read; stop_before_pixels: the header ends at Pixel Data; CappedReader: a damaged
            # length field does not make pydicom ask for gigabytes.
            ds = pydicom.dcmread(fh, stop_before_pixels=True, force=True, defer_size=_DEFER)
            header = header_from_dataset(path, ds, file_size=size)
    except NotRegularFileError as exc:
        raise DicomError(f"{path}: {exc.reason}") from None
    except InvalidDicomError as exc:
        raise DicomError(f"{path}: not a DICOM file ({exc})") from exc
    except DicomError:
        raise
    except MemoryError:
        raise DicomError(f"{path}: unreadable DICOM header (not enough memory)") from None
    except Exception as exc:  # pydicom parses hostile bytes: whatever it raises, the header is
        # unreadable (NotImplementedError for an unknown VR, ...); never a traceback
        raise DicomError(f"{path}: unreadable DICOM header ({type(exc).__name__}: "
                         f"{_short(exc)})") from exc
    return header


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def _has_pixel_data(path: Path) -> bool:
    import pydicom

    try:
        with CappedReader(open_regular(path)) as fh:
            ds = pydicom.dcmread(fh, force=True, defer_size=64, specific_tags=[
                "PixelData", "FloatPixelData", "DoubleFloatPixelData"])
    except Exception:  # a broken tail: decoding will say what is wrong
        return True
    return any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"))


def _element_text(ds: Any, keyword: str, ck: ValueChecks) -> str | None:
    """An element's value as text, or None; a value pydicom cannot convert (an Integer String
    ``inf``) becomes a defect naming the element, with its raw text."""
    try:
        elem = ds.get(keyword)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raw = ""
        with contextlib.suppress(Exception):
            raw_elem = ds.get_item(keyword)
            value = getattr(raw_elem, "value", b"")
            raw = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        ck.defects.append(f"{element_name(keyword)} is {raw.strip()!r}: not a value of its kind "
                          f"({type(exc).__name__})")
        return None
    if elem is None:
        return None
    return _str_value(elem).strip(" \x00")


def _str_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def header_from_dataset(path: Path, ds: Any, *, file_size: int | None = None,
                        limits: DicomLimits | None = None) -> FileHeader:
    """Build a :class:`FileHeader` from a pydicom data set (read without pixels).

    With ``file_size``, the declared image size is checked against it and against ``limits``
    (:mod:`.limits`) before any per-frame work: a header declaring 100,000,000 frames is refused
    here instead of looping over them.
    """
    ck = ValueChecks()
    values: dict[str, str] = {}
    for keyword in KEYWORDS:
        text = _element_text(ds, keyword, ck)
        if text is not None:
            values[keyword] = text
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if not ts:
        ts = IMPLICIT_LE if ds.is_implicit_VR else (EXPLICIT_LE if ds.is_little_endian else
                                                    EXPLICIT_BE)
    if not values.get("SOPClassUID") and meta is not None:
        values["SOPClassUID"] = str(meta.get("MediaStorageSOPClassUID", ""))
    enhanced = "PerFrameFunctionalGroupsSequence" in ds or values.get("SOPClassUID") in \
        ENHANCED_CLASSES
    n_frames = ck.integer("NumberOfFrames", values.get("NumberOfFrames"), minimum=1) or 1
    if file_size is not None:
        _check_declared_size(path, ds, values, ts, n_frames, file_size,
                             limits or current_limits())
    frames = _frames_from_dataset(ds, n_frames, ck) if enhanced else None
    has_pixels = bool(values.get("Rows")) and _has_pixel_data(path)
    if frames is not None and frames:
        first = frames[0]
        # Top-level fields mirror frame 0 so that summaries (scan) read the same for both kinds.
        if first.pixel_spacing and "PixelSpacing" not in values:
            values["PixelSpacing"] = "\\".join(str(v) for v in first.pixel_spacing)
        if first.slice_thickness is not None and "SliceThickness" not in values:
            values["SliceThickness"] = str(first.slice_thickness)
        if first.orientation and "ImageOrientationPatient" not in values:
            values["ImageOrientationPatient"] = "\\".join(str(v) for v in first.orientation)
        if first.position and "ImagePositionPatient" not in values:
            values["ImagePositionPatient"] = "\\".join(str(v) for v in first.position)
        if first.window and "WindowCenter" not in values:
            values["WindowCenter"], values["WindowWidth"] = map(str, first.window)
        if not values.get("ContrastBolusAgent"):
            agent = ds.get("ContrastBolusAgentSequence")
            if agent:
                values["ContrastBolusAgent"] = str(agent[0].get("CodeMeaning", "")) or "yes"
    return build_header(path, values, ts, has_pixels=has_pixels, frames=frames, checks=ck)


def _check_declared_size(path: Path, ds: Any, values: dict[str, str], ts: str, n_frames: int,
                         file_size: int, limits: DicomLimits) -> None:
    rows, columns = to_int(values.get("Rows")) or 0, to_int(values.get("Columns")) or 0
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and len(per_frame) != n_frames:
        raise DicomError(f"{path}: Number of Frames (0028,0008) declares {n_frames:,} frames but "
                         f"the Per-Frame Functional Groups Sequence describes {len(per_frame):,}: "
                         "the header does not describe the data")
    problem = declared_size_problem(
        rows=rows, columns=columns, frames=n_frames,
        bits_allocated=to_int(values.get("BitsAllocated")) or 0,
        samples=to_int(values.get("SamplesPerPixel")) or 1, available=file_size,
        encapsulated=ts not in (IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE), limits=limits)
    if problem is not None:
        raise DicomError(f"{path}: {problem}")


def _first_item(group: Any, name: str) -> Any:
    if group is None:
        return None
    seq = group.get(name)
    return seq[0] if seq else None


def _frames_from_dataset(ds: Any, n: int, ck: ValueChecks) -> tuple[FrameGeometry, ...]:
    shared_seq = ds.get("SharedFunctionalGroupsSequence")
    shared = shared_seq[0] if shared_seq else None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    frames = []
    for i in range(n):
        pf = per_frame[i] if i < len(per_frame) else None
        fck = ValueChecks(prefix=f"frame {i + 1}: ")

        def item(name: str, pf: Any = pf) -> Any:
            return _first_item(pf, name) or _first_item(shared, name)

        pos_item = item("PlanePositionSequence")
        ori_item = item("PlaneOrientationSequence")
        meas = item("PixelMeasuresSequence")
        pvt = item("PixelValueTransformationSequence")
        voi = item("FrameVOILUTSequence")
        content = item("FrameContentSequence")
        position = fck.vector("ImagePositionPatient",
                              _str_value(pos_item.get("ImagePositionPatient")) if pos_item
                              else None, 3, MAX_POSITION_MM)
        orientation = fck.vector("ImageOrientationPatient",
                                 _str_value(ori_item.get("ImageOrientationPatient")) if ori_item
                                 else None, 6, MAX_DIRECTION_COSINE)
        spacing = fck.pixel_spacing(_str_value(meas.get("PixelSpacing")) if meas else None)
        thickness = fck.length("SliceThickness",
                               _str_value(meas.get("SliceThickness")) if meas else None,
                               zero_ok=True)
        slope = fck.rescale("RescaleSlope", _str_value((pvt or ds).get("RescaleSlope")), 1.0)
        intercept = fck.rescale("RescaleIntercept",
                                _str_value((pvt or ds).get("RescaleIntercept")), 0.0)
        # One defect of each kind is enough to refuse the object; keep the first frame's.
        for mine, theirs in ((ck.defects, fck.defects), (ck.notes, fck.notes)):
            mine.extend(x for x in theirs if not any(x.split(": ", 1)[1] == y.split(": ", 1)[-1]
                                                     for y in mine))
        window = None
        if voi is not None:
            wc = fck.number("WindowCenter", _str_value(voi.get("WindowCenter")))
            ww = fck.number("WindowWidth", _str_value(voi.get("WindowWidth")))
            if wc is not None and ww is not None and ww > 0:
                window = (wc, ww)
        stack_key = ""
        if content is not None:
            # Frames of several stacks or temporal positions are not one volume.
            stack_key = "|".join(
                _str_value(content.get(k)) for k in ("StackID", "TemporalPositionIndex")
            )
        frames.append(FrameGeometry(
            index=i,
            position=(position[0], position[1], position[2]) if position else None,
            orientation=tuple(orientation) if orientation else None,
            pixel_spacing=spacing,
            slice_thickness=thickness,
            slope=slope,
            intercept=intercept,
            window=window,
            stack_key=stack_key,
        ))
    return tuple(frames)


