"""Numeric header values, read with their sanity checks and located when they fail them.

DICOM decimal and integer strings (DS, IS) are text, and ``float()`` accepts ``NaN``, ``inf`` and
``1e400``: a NaN in Image Orientation (Patient) used to reach ``round()`` (a traceback in
``scan``), an ``inf`` Instance Number ``int()`` (``OverflowError``), a Rescale Intercept of 1e12
the pixel arithmetic, and a negative Pixel Spacing the volume (silently, mirrored).

Each value is therefore read through :class:`ValueChecks`, which returns it only when it is
usable and otherwise records why, naming the element and its tag:

- a **defect** makes the image unusable (wrong geometry or wrong pixel values): the series
  holding it is refused, naming the file and the element;
- a **note** is a value that is ignored (a negative Slice Thickness, a NaN window): the image is
  loaded and the note becomes a warning naming the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache

INT_LIMIT = 2**31  # IS is a 32-bit signed integer (PS3.5 6.2)
# Values beyond these are no image a scanner writes, and break the arithmetic downstream.
MAX_POSITION_MM = 1e6
MAX_PIXEL_SPACING_MM = 1e4
MAX_SLOPE = 1e6
MAX_INTERCEPT = 1e7
MAX_THICKNESS_MM = 1e4

_TITLES = {
    "ImagePositionPatient": "Image Position (Patient)",
    "ImageOrientationPatient": "Image Orientation (Patient)",
    "GantryDetectorTilt": "Gantry/Detector Tilt",
    "EchoNumbers": "Echo Number(s)",
    "NumberOfFrames": "Number of Frames",
    "TemporalPositionIdentifier": "Temporal Position Identifier",
}


@cache
def _tag_of() -> dict[str, int]:
    from .header import TAGS  # header imports this module: resolved on first use

    return {keyword: tag for tag, (keyword, _) in TAGS.items()}


def element_name(keyword: str) -> str:
    """``Image Orientation (Patient) (0020,0037)``: the standard's name and the tag."""
    title = _TITLES.get(keyword) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", keyword)
    tag = _tag_of().get(keyword)
    return f"{title} ({tag >> 16:04X},{tag & 0xFFFF:04X})" if tag is not None else title


def _shown(text: str) -> str:
    """The value as written (backslashes separate values), quoted, cut when long."""
    text = text.strip()
    text = text if len(text) <= 60 else text[:57] + "..."
    return "'" + text.encode("ascii", "backslashreplace").decode("ascii") + "'"


@dataclass
class ValueChecks:
    """Reads numeric values of one file (or one frame: ``prefix="frame 3: "``), collecting
    defects and notes."""

    prefix: str = ""
    defects: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def _defect(self, keyword: str, text: str, why: str) -> None:
        self.defects.append(f"{self.prefix}{element_name(keyword)} is {_shown(text)}: {why}")

    def _note(self, keyword: str, text: str, why: str) -> None:
        self.notes.append(f"{self.prefix}{element_name(keyword)} {_shown(text)} {why}")

    @staticmethod
    def _parse(text: str) -> list[float] | None:
        try:
            return [float(v) for v in text.split("\\") if v.strip()]
        except ValueError:
            return None

    def vector(self, keyword: str, text: str | None, count: int, bound: float) -> list[float] | None:
        """A geometry vector (position, orientation): refused unless finite and within bound.

        Fewer than ``count`` values is left to the caller (reported as missing geometry).
        """
        if not text:
            return None
        values = self._parse(text)
        if values is None:
            self._defect(keyword, text, "not a list of numbers")
            return None
        if len(values) < count:
            return None
        values = values[:count]
        if not all(math.isfinite(v) for v in values):
            self._defect(keyword, text, "not finite numbers (NaN or infinity)")
            return None
        if any(abs(v) > bound for v in values):
            self._defect(keyword, text, f"out of range (each value at most {bound:g} in size)")
            return None
        return values

    def pixel_spacing(self, text: str | None) -> tuple[float, float] | None:
        keyword = "PixelSpacing"
        if not text:
            return None
        values = self._parse(text)
        if values is None:
            self._defect(keyword, text, "not a pair of numbers")
            return None
        if len(values) < 2:
            return None
        row, col = values[0], values[1]
        if not (math.isfinite(row) and math.isfinite(col)):
            self._defect(keyword, text, "not finite numbers (NaN or infinity)")
            return None
        if row <= 0 or col <= 0:
            self._defect(keyword, text, "not a positive spacing in mm (a zero or negative "
                                        "spacing would give every distance wrong)")
            return None
        if row > MAX_PIXEL_SPACING_MM or col > MAX_PIXEL_SPACING_MM:
            self._defect(keyword, text, f"out of range (at most {MAX_PIXEL_SPACING_MM:g} mm)")
            return None
        return (row, col)

    @staticmethod
    def _first(keyword: str, text: str) -> float | None:
        try:
            return float(text.split("\\", 1)[0])
        except ValueError:
            return None

    def rescale(self, keyword: str, text: str | None, default: float) -> float:
        """Rescale Slope or Intercept: a wrong one makes every pixel value wrong: a defect."""
        if not text:
            return default
        value = self._first(keyword, text)
        if value is None:
            self._defect(keyword, text, "not a number")
            return default
        if not math.isfinite(value):
            self._defect(keyword, text, "not a finite number (NaN or infinity)")
            return default
        if keyword == "RescaleSlope":
            if value == 0:
                self._defect(keyword, text, "zero: every pixel would have the same value")
                return default
            if abs(value) > MAX_SLOPE:
                self._defect(keyword, text, f"out of range (at most {MAX_SLOPE:g} in size)")
                return default
        elif abs(value) > MAX_INTERCEPT:
            self._defect(keyword, text, f"out of range (at most {MAX_INTERCEPT:g} in size)")
            return default
        return value

    def length(self, keyword: str, text: str | None, *, zero_ok: bool) -> float | None:
        """Slice Thickness, Spacing Between Slices: a wrong one is ignored, with a note."""
        if not text:
            return None
        value = self._first(keyword, text)
        if value is None:
            return None
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok) or \
                value > MAX_THICKNESS_MM:
            self._note(keyword, text, "is not a usable length in mm: ignored")
            return None
        return value if value > 0 else None

    def number(self, keyword: str, text: str | None) -> float | None:
        """A display value (window, tilt): ignored with a note when not finite."""
        if not text:
            return None
        value = self._first(keyword, text)
        if value is None:
            return None
        if not math.isfinite(value):
            self._note(keyword, text, "is not a finite number: ignored")
            return None
        return value

    def integer(self, keyword: str, text: str | None, *, minimum: int | None = None) -> int | None:
        """An Integer String (numbers, counts): refused when it cannot be a 32-bit integer."""
        if not text:
            return None
        value = self._first(keyword, text)
        if value is None:
            return None
        if not math.isfinite(value) or abs(value) >= INT_LIMIT:
            self._defect(keyword, text, "not a whole number of at most 10 digits")
            return None
        if minimum is not None and value < minimum:
            self._defect(keyword, text, f"below {minimum}")
            return None
        return int(value)
