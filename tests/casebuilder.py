"""Build cases for rule tests compactly: real `Case` objects, no mocks.

    case = build(
        tps=[("BL", "2021-01-01"), ("FU1", "2021-03-01")],
        lesions={"L1": "target", "N1": "non-target"},
        obs={("L1", "BL"): 20, ("L1", "FU1"): "14.0", ("N1", "BL"): "present"},
    )

An observation value that is a number or a numeric string is a measurement (the diameter the
criteria use); otherwise it is a status, or a dict of observation fields.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from mrecist_tool.model import Case, Death, Lesion, Observation, Procedure, Series, Subject, Timepoint


def d(text: str) -> date:
    return date.fromisoformat(text)


def _obs(lesion: Lesion, tp: str, spec: Any, criteria: str) -> Observation:
    fields: dict[str, Any]
    if isinstance(spec, dict):
        fields = dict(spec)
        for key in ("viable_diameter_mm", "longest_diameter_mm", "short_axis_mm", "gap_to_ablation_zone_mm"):
            if key in fields and fields[key] is not None:
                fields[key] = Decimal(str(fields[key]))
        if "size" in fields:
            size = Decimal(str(fields.pop("size")))
            fields.setdefault("status", "measured")
            fields.setdefault("viable_diameter_mm", size)
            fields.setdefault("longest_diameter_mm", size)
        fields.setdefault("status", "present")
        return Observation(lesion=lesion.id, timepoint=tp, **fields)
    if isinstance(spec, int | float | Decimal) or (isinstance(spec, str) and spec.replace(".", "", 1).isdigit()):
        value = Decimal(str(spec))
        if lesion.is_node:
            return Observation(lesion.id, tp, "measured", short_axis_mm=value)
        if criteria == "RECIST1.1":
            return Observation(lesion.id, tp, "measured", longest_diameter_mm=value)
        return Observation(lesion.id, tp, "measured", viable_diameter_mm=value)
    return Observation(lesion.id, tp, str(spec))


def build(
    *,
    tps: list[tuple[Any, ...]],
    lesions: dict[str, str | dict[str, Any]],
    obs: dict[tuple[str, str], Any],
    criteria: str = "mRECIST",
    settings: dict[str, Any] | None = None,
    procedures: list[tuple[str, str, str, list[str]]] | None = None,
    subject: dict[str, Any] | None = None,
) -> Case:
    timepoints = []
    for i, item in enumerate(tps):
        tp_id, when = item[0], item[1]
        extra: dict[str, Any] = dict(item[2]) if len(item) > 2 else {}
        if "series" in extra and extra["series"] is not None:
            extra["series"] = tuple(Series(uid=f"1.2.3.{i}.{j}", phase=p) for j, p in enumerate(extra["series"]))
        timepoints.append(Timepoint(tp_id, d(when), baseline=(i == 0), **extra))
    lesion_objs = []
    for lid, spec in lesions.items():
        if isinstance(spec, str):
            lesion_objs.append(Lesion(lid, spec))
        else:
            lesion_objs.append(Lesion(lid, **spec))
    by_id = {lesion.id: lesion for lesion in lesion_objs}
    observations = tuple(_obs(by_id[lid], tp, spec, criteria) for (lid, tp), spec in obs.items())
    procs = tuple(Procedure(pid, ptype, d(when), tuple(ls)) for pid, ptype, when, ls in (procedures or []))
    subj = dict(subject or {})
    if "death" in subj and isinstance(subj["death"], tuple):
        subj["death"] = Death(d(subj["death"][0]), subj["death"][1])
    for key in ("randomization_date", "last_known_alive"):
        if key in subj and isinstance(subj[key], str):
            subj[key] = d(subj[key])
    return Case(
        subject=Subject(id=subj.pop("id", "TEST-001"), **subj),
        timepoints=tuple(timepoints),
        lesions=tuple(lesion_objs),
        observations=observations,
        procedures=procs,
        criteria=criteria,
        settings=dict(settings or {}),
    )
