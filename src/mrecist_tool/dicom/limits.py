"""Declared image sizes, checked against the file and a limit before anything is allocated.

A DICOM header states how much pixel data follows (Rows x Columns x Number of Frames x Bits
Allocated x Samples per Pixel).  A hostile or damaged header can state anything: 100,000,000
frames in a 75 KB file, 65535 x 65535 pixels, a Pixel Data element of 1.5 GB in front of a
32 x 32 image.  Trusting it costs minutes and gigabytes before any error; so every reader checks
the declared size first:

- against the **file**: uncompressed pixel data must fit in the bytes the file has (and must not
  be twice what the header describes: then Bits Allocated, Rows, Columns or the number of frames
  is wrong and the pixels would be garbage); compressed frames need at least a few bytes each;
- against a **limit** (:class:`DicomLimits`): the number of frames of one object and the bytes
  of decoded pixels of one object or one volume.  The defaults fit any clinical CT or MR study
  on an ordinary workstation; raise them with the environment variables
  ``MRECIST_DICOM_MAX_FRAMES`` and ``MRECIST_DICOM_MAX_BYTES`` (or pass ``limits=``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

ENV_MAX_FRAMES = "MRECIST_DICOM_MAX_FRAMES"
ENV_MAX_BYTES = "MRECIST_DICOM_MAX_BYTES"
MIN_COMPRESSED_FRAME_BYTES = 8  # an encapsulated frame is at least an item tag and its length


@dataclass(frozen=True)
class DicomLimits:
    """How large an image the toolkit agrees to read.

    Attributes
    ----------
    max_frames
        Frames of one multi-frame object (a 4-D perfusion MR has some tens of thousands).
    max_bytes
        Decoded pixel bytes of one object, and of one loaded volume (a 1,000-slice 512 x 512
        CT in 32-bit values is 1 GiB).
    max_header_bytes
        How far the fast header reader reads while looking for Pixel Data; larger headers (huge
        private elements) are read by pydicom, which skips over large values instead of reading
        them.
    """

    max_frames: int = 100_000
    max_bytes: int = 4 * 2**30
    max_header_bytes: int = 8 * 2**20


def current_limits() -> DicomLimits:
    """The limits in force: the defaults, or the environment variables when set to a number."""
    return _limits_for(os.environ.get(ENV_MAX_FRAMES, ""), os.environ.get(ENV_MAX_BYTES, ""))


@functools.lru_cache(maxsize=8)
def _limits_for(frames: str, size: str) -> DicomLimits:
    # Called once per file read: computed once per distinct setting of the variables.
    defaults = DicomLimits()
    return DicomLimits(
        max_frames=_env_int(frames, defaults.max_frames),
        max_bytes=_env_int(size, defaults.max_bytes),
        max_header_bytes=defaults.max_header_bytes,
    )


def _env_int(text: str, default: int) -> int:
    text = text.strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        return default  # a typo must not disable the limit
    return value if value > 0 else default


def size_text(n: int) -> str:
    """``1,610,612,736 bytes (1.5 GiB)``: exact, and readable."""
    if n >= 2**30:
        return f"{n:,} bytes ({n / 2**30:.1f} GiB)"
    if n >= 2**20:
        return f"{n:,} bytes ({n / 2**20:.1f} MiB)"
    return f"{n:,} bytes"


def pixel_bytes(rows: int, columns: int, frames: int, bits_allocated: int, samples: int) -> int:
    """Bytes of uncompressed pixel data the header describes."""
    bits = rows * columns * max(frames, 1) * max(samples, 1) * bits_allocated
    return (bits + 7) // 8


def declared_size_problem(*, rows: int, columns: int, frames: int, bits_allocated: int,
                          samples: int, available: int, encapsulated: bool,
                          limits: DicomLimits, exact: bool = False) -> str | None:
    """Why the declared image cannot be right or cannot be read, or None.

    Parameters
    ----------
    available
        Bytes that can hold the pixel data: the Pixel Data element's length when known
        (``exact=True``), else the file's size (an upper bound).
    encapsulated
        Compressed pixel data: only a lower bound per frame can be checked against the file.
    """
    if frames > limits.max_frames:
        if frames * MIN_COMPRESSED_FRAME_BYTES > available:
            shape = f" of {rows}×{columns} pixels" if rows and columns else ""
            return (f"Number of Frames (0028,0008) declares {frames:,} frames{shape}, but the "
                    f"file has only {size_text(available)}")
        return (f"Number of Frames (0028,0008) declares {frames:,} frames, more than the "
                f"{limits.max_frames:,} accepted (set {ENV_MAX_FRAMES} to raise the limit)")
    if not (rows and columns and bits_allocated):
        return None  # not an image: said elsewhere ("no Rows/Columns")
    needed = pixel_bytes(rows, columns, frames, bits_allocated, samples)
    what = (f"{frames:,} frame{'s' if frames != 1 else ''} of {rows}×{columns} pixels of "
            f"{bits_allocated} bits" + (f" × {samples} samples" if samples > 1 else ""))
    if encapsulated:
        if frames * MIN_COMPRESSED_FRAME_BYTES > available:
            return (f"declares {what} (compressed), but the file has only "
                    f"{size_text(available)}: too little for {frames:,} frames")
    elif needed > available:
        holds = "Pixel Data holds" if exact else "the file has"
        return (f"declares {what}: {size_text(needed)} of pixel data, but {holds} only "
                f"{size_text(available)} (a truncated file, or a wrong Rows, Columns, Number "
                "of Frames or Bits Allocated)")
    elif exact and available >= 2 * needed:
        return (f"Pixel Data holds {size_text(available)}, at least twice the "
                f"{size_text(needed)} that {what} need: Bits Allocated, Rows, Columns or "
                "Number of Frames does not describe the data (its pixels would be garbage)")
    if needed > limits.max_bytes:
        return (f"declares {what}: {size_text(needed)} of pixels, more than the "
                f"{size_text(limits.max_bytes)} accepted (set {ENV_MAX_BYTES} to raise the limit)")
    return None
