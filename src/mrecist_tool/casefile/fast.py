"""Fast paths for the common, valid timepoint and observation (no per-field bookkeeping).

A case file holds dozens of observations and a batch reads hundreds of files, so the usual
well-formed item is recognised and built here in one step.  Anything unusual returns ``None``
and goes through :mod:`.checks`, which checks every field and reports every problem:
the fast path never decides that something is wrong, it only declines.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

from .. import model as m
from .checks import DATE_RE, ID_RE, IMPLAUSIBLE_MM, Built, Checker, valid_instant
from .jsontext import in_bounds

_FAST_TP_KEYS = frozenset({"id", "date", "baseline", "imaging", "new_lesion_search", "modality"})
_MODALITIES = frozenset((None, *m.MODALITIES))


def fast_timepoint(d: Any, ck: Checker, built: Built) -> m.Timepoint | None:
    """The common, valid timepoint without bookkeeping (``None``: check it fully)."""
    if type(d) is not dict or not d.keys() <= _FAST_TP_KEYS:
        return None
    tid = d.get("id")
    when = d.get("date")
    baseline = d.get("baseline", False)
    imaging = d.get("imaging", "done")
    search = d.get("new_lesion_search", "complete")
    modality = d.get("modality")
    if type(tid) is not str or type(when) is not str or type(baseline) is not bool or \
            imaging not in ("done", "not-done") or search not in ("complete", "incomplete") or \
            not (modality is None or type(modality) is str) or modality not in _MODALITIES or \
            not ID_RE.fullmatch(tid) or not DATE_RE.fullmatch(when):
        return None
    try:
        day = date.fromisoformat(when)
    except ValueError:
        return None
    ck.ok_ids.add(tid)
    built.timepoint_ids.add(tid)
    return m.Timepoint(tid, day, baseline, imaging, search, None, None, None, {}, modality=modality)


_FAST_OBS_KEYS = frozenset({"lesion", "timepoint", "status", "viable_diameter_mm",
                            "longest_diameter_mm", "short_axis_mm", "gap_to_ablation_zone_mm",
                            "reader", "note", "equivocal", "enhancement", "recorded_at"})
_STATUS_SET = frozenset(m.STATUSES)
_OBS = m.Observation
_OBS_FIELDS = tuple(f.name for f in dataclasses.fields(m.Observation))
# Observations are built by the hundred thousand in a batch, and a frozen dataclass's __init__
# sets each of its 16 fields through object.__setattr__ (~1.5 us).  Filling __dict__ directly
# builds the identical object; it is used only while the class has no __post_init__ or
# __slots__ and its fields are the ones listed here (checked at import).
_DIRECT_OBS = (
    not hasattr(m.Observation, "__post_init__")
    and "__slots__" not in vars(m.Observation)
    and _OBS_FIELDS == ("lesion", "timepoint", "status", "viable_diameter_mm",
                        "longest_diameter_mm", "short_axis_mm", "enhancement", "equivocal",
                        "cytology", "near_lesion", "gap_to_ablation_zone_mm", "reader",
                        "recorded_at", "note", "geometry", "extra")
)
_new = object.__new__


def _observation(lesion: str, tp: str, status: str, vd: Decimal | None = None,
                 ld: Decimal | None = None, sa: Decimal | None = None,
                 enhancement: str | None = None, equivocal: bool = False,
                 gap: Decimal | None = None, reader: str | None = None,
                 recorded: str | None = None, note: str | None = None) -> m.Observation:
    if not _DIRECT_OBS:
        return _OBS(lesion, tp, status, vd, ld, sa, enhancement, equivocal, None, None, gap,
                    reader, recorded, note, None, {})
    o: m.Observation = _new(_OBS)
    o.__dict__.update({
        "lesion": lesion, "timepoint": tp, "status": status, "viable_diameter_mm": vd,
        "longest_diameter_mm": ld, "short_axis_mm": sa, "enhancement": enhancement,
        "equivocal": equivocal, "cytology": None, "near_lesion": None,
        "gap_to_ablation_zone_mm": gap, "reader": reader, "recorded_at": recorded,
        "note": note, "geometry": None, "extra": {},
    })
    return o


_LENGTH_SET = frozenset({"viable_diameter_mm", "longest_diameter_mm", "short_axis_mm",
                         "gap_to_ablation_zone_mm"})
_ENHANCEMENT_SET = frozenset(m.ENHANCEMENTS)


def fast_observation(d: Any, ck: Checker) -> m.Observation | None:
    """The common, valid observation without per-field bookkeeping (``None``: check fully).

    Case files hold many observations, so this path keeps reading 668 case files well under
    half a second; anything unusual falls back to :func:`build_observation`, which reports.
    """
    if type(d) is not dict:
        return None
    try:
        lesion = d["lesion"]
        tp = d["timepoint"]
        status = d["status"]
    except KeyError:
        return None
    ids = ck.ok_ids
    if type(lesion) is not str or type(tp) is not str or type(status) is not str or \
            lesion not in ids or tp not in ids or status not in _STATUS_SET:
        return None
    if len(d) == 3:
        return _observation(lesion, tp, status)
    if not d.keys() <= _FAST_OBS_KEYS:
        return None
    vd = ld = sa = gap = enhancement = reader = note = recorded = None
    equivocal = False
    for key, value in d.items():
        if key in _LENGTH_SET:
            t = type(value)
            if t is int:
                value = Decimal(value)
            elif t is not Decimal:
                return None
            if value < 0 or value > IMPLAUSIBLE_MM or not in_bounds(value):
                return None  # the full check reports it (e.g. more digits than a case file holds)
            if key == "viable_diameter_mm":
                vd = value
            elif key == "longest_diameter_mm":
                ld = value
            elif key == "short_axis_mm":
                sa = value
            else:
                gap = value
        elif key == "reader" or key == "note":
            if type(value) is not str:
                return None
            if key == "reader":
                reader = value
            else:
                note = value
        elif key == "equivocal":
            if type(value) is not bool:
                return None
            equivocal = value
        elif key == "enhancement":
            if type(value) is not str or value not in _ENHANCEMENT_SET:
                return None
            enhancement = value
        elif key == "recorded_at":
            if type(value) is not str:
                return None
            if value not in ck.ok_instants:
                if not valid_instant(value):
                    return None  # the full check reports it with its path
                ck.ok_instants.add(value)
            recorded = value
    return _observation(lesion, tp, status, vd, ld, sa, enhancement, equivocal, gap, reader,
                        recorded, note)
