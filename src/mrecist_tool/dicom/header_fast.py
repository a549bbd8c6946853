"""The fast header walker: little-endian Part 10 files, read with ``struct``, no pydicom.

Walks the data set element by element up to Pixel Data, keeps only the elements in
:data:`~.header.WANTED`, skips everything else (sequences of undefined length included) and
records the byte offset and length of native pixel data so that loading can ``readinto`` the
output array.  Whatever it does not handle raises :class:`Unsupported` and goes to pydicom.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path

from ..errors import DicomError, MrecistError
from ..safe_files import NotRegularFileError, open_regular
from .header import (
    ENHANCED_CLASSES,
    EXPLICIT_LE,
    IMPLICIT_LE,
    NATIVE_LE,
    TAGS,
    WANTED,
    FileHeader,
    build_header,
    looks_like_dicom,
)
from .limits import DicomLimits, current_limits, declared_size_problem

_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_PER_FRAME_GROUPS = 0x52009230
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR",
                       b"UT", b"UV"})
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_FIRST_READ = 16 * 1024  # most headers fit; bigger ones are read in doubling steps


class _NeedMore(Exception):
    """The buffer ended before the Pixel Data element: read more of the file."""


class Unsupported(MrecistError):
    """Not something the fast walker handles: use pydicom."""


def read_fast(path: Path, limits: DicomLimits | None = None) -> FileHeader:
    """Read the header of a regular file, stopping at Pixel Data.

    Reads in doubling steps up to ``limits.max_header_bytes``; a header larger than that (a
    huge private element before the pixels) goes to pydicom, which seeks over large values
    instead of reading them.  Declared sizes are checked against the Pixel Data element.
    """
    limits = limits or current_limits()
    try:
        fh = open_regular(path)
    except NotRegularFileError as exc:
        raise DicomError(f"{path}: {exc.reason}") from None
    with fh:
        file_size = os.fstat(fh.fileno()).st_size
        buf = fh.read(_FIRST_READ)
        if len(buf) < 132 or buf[128:132] != b"DICM":
            if looks_like_dicom(buf):
                raise Unsupported
            raise DicomError(f"{path}: not a DICOM file (no 'DICM' marker at byte 128)")
        size = _FIRST_READ
        while True:
            try:
                return _parse(path, buf, eof=len(buf) < size, file_size=file_size,
                              limits=limits)
            except _NeedMore:
                if len(buf) < size:  # already at end of file
                    raise DicomError(
                        f"{path}: truncated file: the header ends after {len(buf)} bytes"
                    ) from None
                if len(buf) + size > limits.max_header_bytes:
                    raise Unsupported from None  # pydicom skips large values with a seek
                more = fh.read(size)
                buf += more
                size *= 2
            except DicomError:
                raise
            except (struct.error, IndexError, UnicodeDecodeError, ValueError) as exc:
                raise Unsupported from exc


def _explicit_element(buf: bytes, pos: int) -> tuple[bytes, int, int]:
    """VR, value length and value start of the explicit-VR element whose tag is at ``pos``.

    The one place the element header is decoded, for the file meta, the data set and the items
    of undefined-length sequences alike: a long form past the buffer asks for more of the file,
    and bytes that are not a VR hand the file to pydicom.
    """
    vr = buf[pos + 4 : pos + 6]
    if vr in _LONG_VRS:
        if pos + 12 > len(buf):
            raise _NeedMore
        return vr, struct.unpack_from("<I", buf, pos + 8)[0], pos + 12
    if vr.isalpha() and vr.isupper():
        return vr, struct.unpack_from("<H", buf, pos + 6)[0], pos + 8
    raise Unsupported  # not a VR: a mislabelled transfer syntax


def _parse(path: Path, buf: bytes, eof: bool, file_size: int, limits: DicomLimits) -> FileHeader:
    unpack = struct.unpack_from
    pos = 132
    meta: dict[int, bytes] = {}
    while True:
        if pos + 8 > len(buf):
            raise _NeedMore
        group, elem = unpack("<HH", buf, pos)
        if group != 0x0002:
            break
        _, length, start = _explicit_element(buf, pos)
        if length == _UNDEFINED:
            raise Unsupported
        meta[(group << 16) | elem] = buf[start : start + length]
        pos = start + length
    ts = meta.get(0x00020010, b"").rstrip(b"\x00 ").decode("ascii", "replace")
    if ts not in NATIVE_LE and ts != "" and not _is_compressed_le(ts):
        raise Unsupported  # big endian, deflated: pydicom
    explicit = ts != IMPLICIT_LE
    values: dict[int, bytes] = {}
    pixel_offset: int | None = None
    pixel_length: int | None = None
    has_pixels = False
    per_frame = False
    n = len(buf)
    while True:
        if pos >= n:
            if eof and pos == n:
                break  # a data set without pixel data (SR, …)
            if eof:
                raise DicomError(f"{path}: truncated file: an element runs past the end of the "
                                 f"file ({n} bytes)")
            raise _NeedMore
        if pos + 8 > n:
            if eof:
                raise DicomError(f"{path}: truncated file: the data set ends mid-element")
            raise _NeedMore
        group, elem = unpack("<HH", buf, pos)
        tag = (group << 16) | elem
        if explicit:
            vr, length, start = _explicit_element(buf, pos)
        else:
            vr = b""
            (length,) = unpack("<I", buf, pos + 4)
            start = pos + 8
        if tag in _PIXEL_TAGS:
            has_pixels = True
            if tag == 0x7FE00010 and length != _UNDEFINED and ts in NATIVE_LE:
                pixel_offset, pixel_length = start, length
            break
        if tag == _PER_FRAME_GROUPS:
            per_frame = True
        if length == _UNDEFINED:
            pos = _skip_undefined(buf, start, explicit and vr != b"UN")
            continue
        end = start + length
        if tag in WANTED:
            if end > n:
                if eof:
                    raise DicomError(f"{path}: truncated file: the header ends after {n} bytes")
                raise _NeedMore
            values[tag] = buf[start:end]
        pos = end
    if per_frame or _is_multiframe(values):
        raise Unsupported  # Enhanced / multi-frame: geometry sits in sequences
    if 0x00080016 not in values and 0x00020002 in meta:
        values[0x00080016] = meta[0x00020002]  # e.g. a DICOMDIR has its class only in the meta
    text = _decoder(values.get(0x00080005, b""))
    decoded: dict[str, str] = {}
    for tag, raw in values.items():
        keyword, kind = TAGS[tag]
        if kind == "us":
            decoded[keyword] = str(int.from_bytes(raw[:2], "little")) if len(raw) >= 2 else ""
        elif kind == "text":
            decoded[keyword] = text(raw)
        else:
            decoded[keyword] = raw.decode("ascii", "replace").strip(" \x00")
    if pixel_offset is not None and pixel_length is not None and \
            pixel_offset + pixel_length > file_size:
        raise DicomError(
            f"{path}: truncated file: Pixel Data needs {pixel_length} bytes from offset "
            f"{pixel_offset} but the file has {file_size} bytes"
        )
    header = build_header(
        path, decoded, ts or EXPLICIT_LE, has_pixels=has_pixels, pixel_offset=pixel_offset,
        pixel_length=pixel_length,
    )
    if has_pixels:
        # Declared size against what the file holds, before anyone allocates for it.
        exact = pixel_length is not None
        problem = declared_size_problem(
            rows=header.rows, columns=header.columns, frames=header.number_of_frames,
            bits_allocated=header.bits_allocated, samples=header.samples_per_pixel,
            available=pixel_length if pixel_length is not None else file_size - pos,
            encapsulated=ts not in NATIVE_LE and ts != "", limits=limits, exact=exact)
        if problem is not None:
            raise DicomError(f"{path}: {problem}")
    return header


def _is_compressed_le(ts: str) -> bool:
    # Encapsulated syntaxes are explicit VR little endian for the data set itself.
    return ts.startswith("1.2.840.10008.1.2.4.") or ts in {
        "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.8.1"}


def _is_multiframe(values: dict[int, bytes]) -> bool:
    raw = values.get(0x00280008)
    if raw is not None:
        try:
            if int(raw.decode("ascii").strip(" \x00") or "1") > 1:
                return True
        except ValueError:
            return True
    uid = values.get(0x00080016, b"").rstrip(b"\x00 ").decode("ascii", "replace")
    return uid in ENHANCED_CLASSES


def _skip_undefined(buf: bytes, pos: int, explicit: bool) -> int:
    """Skip a sequence (or UN element) of undefined length; return the position after it."""
    unpack = struct.unpack_from
    n = len(buf)
    while True:
        if pos + 8 > n:
            raise _NeedMore
        group, elem = unpack("<HH", buf, pos)
        tag = (group << 16) | elem
        (length,) = unpack("<I", buf, pos + 4)
        pos += 8
        if tag == _SEQ_END:
            return pos
        if tag != _ITEM:
            raise Unsupported
        if length != _UNDEFINED:
            pos += length
            continue
        # An item of undefined length: walk its elements until the item delimiter.
        while True:
            if pos + 8 > n:
                raise _NeedMore
            group, elem = unpack("<HH", buf, pos)
            tag = (group << 16) | elem
            if tag == _ITEM_END:
                pos += 8
                break
            if explicit:
                vr, length, start = _explicit_element(buf, pos)
                inner_explicit = vr != b"UN"
            else:
                (length,) = unpack("<I", buf, pos + 4)
                start = pos + 8
                inner_explicit = False
            pos = _skip_undefined(buf, start, inner_explicit) if length == _UNDEFINED else (
                start + length)


_CHARSETS = {
    "": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 101": "iso8859-2",
    "ISO_IR 109": "iso8859-3", "ISO_IR 110": "iso8859-4", "ISO_IR 144": "iso8859-5",
    "ISO_IR 127": "iso8859-6", "ISO_IR 126": "iso8859-7", "ISO_IR 138": "iso8859-8",
    "ISO_IR 148": "iso8859-9", "ISO_IR 203": "iso8859-15", "ISO_IR 192": "utf-8",
    "GB18030": "gb18030", "GBK": "gbk", "ISO_IR 13": "shift_jis", "ISO_IR 166": "tis-620",
}


def _decoder(charset_raw: bytes) -> Callable[[bytes], str]:
    terms = [t.strip() for t in charset_raw.decode("ascii", "replace").strip(" \x00").split("\\")]
    if len(terms) <= 1 and (terms[0] if terms else "") in _CHARSETS:
        codec = _CHARSETS[terms[0] if terms else ""]
        return lambda raw: raw.decode(codec, "replace").strip(" \x00")
    # Code extensions (ISO 2022 escapes): let pydicom do it properly.
    from pydicom.charset import decode_bytes

    return lambda raw: decode_bytes(raw, terms, set()).strip(" \x00")


