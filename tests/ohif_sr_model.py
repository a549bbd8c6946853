"""How OHIF v3 turns a TID 1500 SR into measurements, restated in Python for the tests.

Written from reading ``extensions/cornerstone-dicom-sr/src/getSopClassHandlerModule.ts`` of
OHIF/Viewers (the SOP class handler that loads an SR for display), not translated from it.
What it does, step by step, and where it fails:

1. The document's concept name must be DCM 126000 "Imaging Measurement Report", otherwise the
   SR is "not supported" (nothing shown).
2. The "Imaging Measurements" container (126010) holds the groups (125007).  Groups are merged
   by their Tracking Unique Identifier (112040); a group without one makes the parser read
   ``.UID`` of undefined (a TypeError: the whole SR fails to load).
3. A merged group with any SCOORD or SCOORD3D item is a drawn measurement: its first such item
   is the annotation; the first UIDREF item is taken as the tracking UID; every NUM item of the
   group with a measured value becomes a label ``"<meaning>: <value with 2 decimals> <unit>"``;
   a 2D SCOORD's image comes from its (single) SELECTED FROM child.
4. A merged group without a region is "non-geometric": every NUM item's ContentSequence is
   destructured, so a NUM with no children (e.g. TID 1502's *Time Point Order*, or a volume
   without algorithm or method) throws a TypeError and the whole SR fails to load.

:func:`ohif_measurements` returns what OHIF would display, or raises :class:`OhifWouldFail`
naming the item that would stop it.  JavaScript's view of single-item sequences (dcmjs lets
``ContentSequence.ReferencedSOPSequence`` read through a one-item sequence) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REPORT, MEASUREMENTS, GROUP = "126000", "126010", "125007"
TRACKING_UID, TRACKING_ID = "112040", "112039"
FINDING_SITE_SCT = "363698007"


class OhifWouldFail(Exception):
    """The SR would not load in OHIF v3: the parser would throw here."""


@dataclass
class OhifMeasurement:
    tracking_uid: str
    tracking_id: str
    labels: list[str] = field(default_factory=list)
    graphic: str | None = None  # "SCOORD" / "SCOORD3D" / None (non-geometric)
    graphic_type: str | None = None
    graphic_data: list[float] | None = None
    image: tuple[str, str] | None = None  # (SOP class, SOP instance) of a 2D SCOORD


def _code(item: Any) -> str | None:
    seq = item.get("ConceptNameCodeSequence")
    return str(seq[0].CodeValue) if seq else None


def _items(item: Any) -> list[Any]:
    return list(item.get("ContentSequence") or [])


def _single(seq: Any) -> Any | None:
    """dcmjs's accessor view: a one-item sequence reads as its item; otherwise undefined."""
    return seq[0] if seq is not None and len(seq) == 1 else None


def _label(item: Any) -> str:
    meaning = str(item.ConceptNameCodeSequence[0].CodeMeaning)
    value = item.MeasuredValueSequence[0]
    number = float(value.NumericValue)
    unit = str(value.MeasurementUnitsCodeSequence[0].CodeValue)
    return f"{meaning}: {number:.2f} {unit}"


def ohif_measurements(ds: Any) -> list[OhifMeasurement]:
    """The measurements OHIF v3 would build from ``ds`` (see the module docstring)."""
    if _code(ds) != REPORT:
        raise OhifWouldFail("document title is not 126000 Imaging Measurement Report: not supported")
    container = next((i for i in _items(ds) if _code(i) == MEASUREMENTS), None)
    if container is None:
        raise OhifWouldFail("no Imaging Measurements container (126010)")
    merged: dict[str, list[Any]] = {}
    for n, group in enumerate((g for g in _items(container) if _code(g) == GROUP), 1):
        content = _items(group)
        uid_item = next((i for i in content if _code(i) == TRACKING_UID), None)
        if uid_item is None:
            raise OhifWouldFail(f"measurement group {n} has no Tracking Unique Identifier")
        uid = str(uid_item.UID)
        if uid in merged:
            merged[uid].extend(i for i in content if _code(i) != TRACKING_UID)
        else:
            merged[uid] = list(content)
    return [_measurement(items) for items in merged.values()]


def _measurement(items: list[Any]) -> OhifMeasurement:
    uidref = next(i for i in items if i.ValueType == "UIDREF")
    ident = next(i for i in items if _code(i) == TRACKING_ID)
    out = OhifMeasurement(tracking_uid=str(uidref.UID), tracking_id=str(ident.TextValue))
    graphic = next((i for i in items if i.ValueType in ("SCOORD", "SCOORD3D")), None)
    nums = [i for i in items if i.ValueType == "NUM"]
    if graphic is not None:
        out.graphic, out.graphic_type = str(graphic.ValueType), str(graphic.GraphicType)
        out.graphic_data = [float(v) for v in graphic.GraphicData]
        if graphic.ValueType == "SCOORD":
            ref = _single(graphic.get("ContentSequence"))
            sop = _single(ref.get("ReferencedSOPSequence")) if ref is not None else None
            if sop is not None:
                out.image = (str(sop.ReferencedSOPClassUID), str(sop.ReferencedSOPInstanceUID))
        out.labels = [_label(i) for i in nums if "MeasuredValueSequence" in i]
        return out
    for i in nums:
        if "ContentSequence" not in i:
            raise OhifWouldFail(
                f"NUM {i.ConceptNameCodeSequence[0].CodeMeaning!r} in group {out.tracking_id} "
                "has no ContentSequence: the non-geometric path destructures it (TypeError)"
            )
        if "MeasuredValueSequence" in i:
            out.labels.append(_label(i))
    return out
