"""Header reading through pydicom: big endian, deflated, no preamble, Enhanced multi-frame.

For Enhanced (multi-frame) objects the per-frame geometry and value mapping come from the
shared and per-frame functional groups (PS3.3 C.7.6.16): Plane Position, Plane Orientation,
Pixel Measures, Pixel Value Transformation and Frame VOI LUT.
"""

from __future__ import annotations

import logging
import struct
import threading
import warnings
from pathlib import Path
from typing import Any

from ..errors import DicomError
from .header import (
    ENHANCED_CLASSES,
    EXPLICIT_BE,
    EXPLICIT_LE,
    IMPLICIT_LE,
    KEYWORDS,
    FileHeader,
    FrameGeometry,
    build_header,
    to_float,
    to_floats,
)

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
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except InvalidDicomError as exc:
        raise DicomError(f"{path}: not a DICOM file ({exc})") from exc
    except (EOFError, OSError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise DicomError(f"{path}: unreadable DICOM header ({type(exc).__name__}: {exc})") from exc
    try:
        return header_from_dataset(path, ds)
    except (ValueError, KeyError, TypeError, AttributeError, struct.error) as exc:
        raise DicomError(f"{path}: unreadable DICOM header ({type(exc).__name__}: {exc})") from exc


def _has_pixel_data(path: Path) -> bool:
    import pydicom

    try:
        ds = pydicom.dcmread(path, force=True, specific_tags=["PixelData", "FloatPixelData",
                                                               "DoubleFloatPixelData"],
                             defer_size=64)
    except Exception:  # a broken tail: decoding will say what is wrong
        return True
    return any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"))


def _str_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def header_from_dataset(path: Path, ds: Any) -> FileHeader:
    """Build a :class:`FileHeader` from a pydicom data set (read without pixels)."""
    values: dict[str, str] = {}
    for keyword in KEYWORDS:
        elem = ds.get(keyword)
        if elem is not None:
            values[keyword] = _str_value(elem).strip(" \x00")
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if not ts:
        ts = IMPLICIT_LE if ds.is_implicit_VR else (EXPLICIT_LE if ds.is_little_endian else
                                                    EXPLICIT_BE)
    if not values.get("SOPClassUID") and meta is not None:
        values["SOPClassUID"] = str(meta.get("MediaStorageSOPClassUID", ""))
    frames = _frames_from_dataset(ds) if "PerFrameFunctionalGroupsSequence" in ds or (
        values.get("SOPClassUID") in ENHANCED_CLASSES) else None
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
    return build_header(path, values, ts, has_pixels=has_pixels, frames=frames)


def _first_item(group: Any, name: str) -> Any:
    if group is None:
        return None
    seq = group.get(name)
    return seq[0] if seq else None


def _frames_from_dataset(ds: Any) -> tuple[FrameGeometry, ...]:
    n = int(ds.get("NumberOfFrames") or 1)
    shared_seq = ds.get("SharedFunctionalGroupsSequence")
    shared = shared_seq[0] if shared_seq else None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    frames = []
    for i in range(n):
        pf = per_frame[i] if i < len(per_frame) else None

        def item(name: str, pf: Any = pf) -> Any:
            return _first_item(pf, name) or _first_item(shared, name)

        pos_item = item("PlanePositionSequence")
        ori_item = item("PlaneOrientationSequence")
        meas = item("PixelMeasuresSequence")
        pvt = item("PixelValueTransformationSequence")
        voi = item("FrameVOILUTSequence")
        content = item("FrameContentSequence")
        position = to_floats(_str_value(pos_item.get("ImagePositionPatient"))) if pos_item else None
        orientation = (to_floats(_str_value(ori_item.get("ImageOrientationPatient")))
                       if ori_item else None)
        spacing = to_floats(_str_value(meas.get("PixelSpacing"))) if meas else None
        thickness = to_float(_str_value(meas.get("SliceThickness"))) if meas else None
        slope = to_float(_str_value((pvt or ds).get("RescaleSlope")))
        intercept = to_float(_str_value((pvt or ds).get("RescaleIntercept")))
        window = None
        if voi is not None:
            wc = to_floats(_str_value(voi.get("WindowCenter")))
            ww = to_floats(_str_value(voi.get("WindowWidth")))
            if wc and ww:
                window = (wc[0], ww[0])
        stack_key = ""
        if content is not None:
            # Frames of several stacks or temporal positions are not one volume.
            stack_key = "|".join(
                _str_value(content.get(k)) for k in ("StackID", "TemporalPositionIndex")
            )
        frames.append(FrameGeometry(
            index=i,
            position=tuple(position[:3]) if position and len(position) >= 3 else None,  # type: ignore[arg-type]
            orientation=tuple(orientation) if orientation and len(orientation) == 6 else None,
            pixel_spacing=(spacing[0], spacing[1]) if spacing and len(spacing) >= 2 else None,
            slice_thickness=thickness,
            slope=slope if slope is not None else 1.0,
            intercept=intercept if intercept is not None else 0.0,
            window=window,
            stack_key=stack_key,
        ))
    return tuple(frames)


