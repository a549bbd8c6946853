"""The editable state of one case, with no Qt and no napari (napari-animation's pure-model habit).

A :class:`Session` holds a working copy of a :class:`mrecist_tool.model.Case` as ordered dicts of
frozen model records (so every field another tool put in a file -- ``extra`` included -- survives
an edit) and produces an immutable :class:`~mrecist_tool.model.Case` on demand.  Categories are
never computed here: :meth:`Session.assessment` calls :func:`mrecist_tool.rules.assess_case`.

Geometry: lines arrive as napari Shapes vertices in array index space ``(z, y, x)`` of the
timepoint's volume and are turned into DICOM LPS millimetres with the volume's affine; masks are
boolean arrays on the volume's grid.  Diameters and gaps come from :mod:`mrecist_tool.geometry`.

Every edit stamps the observation with the reader id and ``recorded_at`` (ISO 8601 with zone),
bumps :attr:`Session.revision` and calls the registered listeners (the widget's refresh, the
autosave timer).
"""

from __future__ import annotations

import dataclasses
import getpass
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mrecist_tool.model import (
    ROLES,
    STATUSES,
    Case,
    Geometry,
    Lesion,
    Observation,
    Procedure,
    Subject,
    Timepoint,
)
from mrecist_tool.rules import CaseAssessment, Settings, assess_case, settings_for_case

MASK_VIABLE = "viable"
MASK_ZONE = "zone"
MASK_KINDS = (MASK_VIABLE, MASK_ZONE)
_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_MEASURE_FIELDS = ("viable_diameter_mm", "longest_diameter_mm", "short_axis_mm")


class VolumeGeometry(Protocol):
    """What the session needs of a volume: :class:`mrecist_tool.dicom.Volume` satisfies it."""

    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    series_uid: str

    def index_to_lps(self, points: Any) -> np.ndarray: ...


def default_reader_id() -> str:
    """The OS user name, as a starting value for the reader field."""
    try:
        return getpass.getuser() or "reader"
    except Exception:
        return "reader"


def now_iso() -> str:
    """The current instant, ISO 8601 with its zone (case-format.md: instants carry a zone)."""
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def mm(value: float) -> Decimal:
    """A length in mm rounded to 0.1 mm, the precision a reader reports (GEN-1: Decimal)."""
    return Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _coord(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class SessionError(ValueError):
    """An edit the case format does not allow (unknown id, bad status, duplicate id)."""


@dataclass
class MaskEntry:
    """A painted mask on one timepoint's grid; ``path`` is where it was read from / saved to."""

    array: np.ndarray  # bool, (z, y, x)
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    path: str | None = None
    dirty: bool = True


@dataclass
class Session:
    """A mutable working copy of one case plus its masks; see the module docstring."""

    subject: Subject
    timepoints: dict[str, Timepoint]
    lesions: dict[str, Lesion] = field(default_factory=dict)
    observations: dict[tuple[str, str], Observation] = field(default_factory=dict)
    procedures: dict[str, Procedure] = field(default_factory=dict)
    criteria: str | None = None
    settings_overrides: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None
    reader: str = field(default_factory=default_reader_id)
    case_reader: str | None = None
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    masks: dict[tuple[str, str, str], MaskEntry] = field(default_factory=dict)
    revision: int = 0
    _listeners: list[Callable[[Session], None]] = field(default_factory=list, repr=False)
    _assessment: tuple[int, CaseAssessment] | None = field(default=None, repr=False)

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_case(cls, case: Case, path: Path | None = None, reader: str | None = None) -> Session:
        """A working copy of ``case``; the reader id defaults to the case's, else the OS user."""
        return cls(
            subject=case.subject,
            timepoints={tp.id: tp for tp in case.timepoints},
            lesions={les.id: les for les in case.lesions},
            observations={(o.lesion, o.timepoint): o for o in case.observations},
            procedures={p.id: p for p in case.procedures},
            criteria=case.criteria,
            settings_overrides=dict(case.settings),
            profile=case.profile,
            reader=reader or case.reader or default_reader_id(),
            case_reader=case.reader,
            version=case.version,
            extra=dict(case.extra),
            path=Path(path) if path is not None else (case.source if case.source else None),
        )

    @classmethod
    def new(cls, subject_id: str, timepoints: Sequence[Timepoint], reader: str | None = None) -> Session:
        """An empty case for a subject whose studies were opened from DICOM."""
        if not timepoints:
            raise SessionError("a case needs at least one timepoint")
        tps = sorted(timepoints, key=lambda t: t.date)
        if not any(t.baseline for t in tps):
            tps[0] = dataclasses.replace(tps[0], baseline=True)
        rdr = reader or default_reader_id()
        return cls(subject=Subject(id=subject_id), timepoints={t.id: t for t in tps}, reader=rdr,
                   case_reader=rdr)

    # -- change notification ---------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Session], None]) -> None:
        self._listeners.append(callback)

    def unsubscribe(self, callback: Callable[[Session], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def touch(self) -> None:
        """Announce a change made through :meth:`set_mask` with ``notify=False``."""
        self._changed()

    def _changed(self) -> None:
        self.revision += 1
        for cb in list(self._listeners):
            cb(self)

    # -- snapshots -------------------------------------------------------------------------------
    def to_case(self) -> Case:
        """The immutable case as it stands now (what is saved and what the engine reads).

        Records keep the order they had in the file, new ones follow in the order they were
        made: a file opened and saved again without edits is the same case.
        """
        return Case(
            subject=self.subject,
            timepoints=tuple(self.timepoints.values()),
            lesions=tuple(self.lesions.values()),
            observations=tuple(self.observations.values()),
            procedures=tuple(self.procedures.values()),
            criteria=self.criteria,
            settings=dict(self.settings_overrides),
            profile=self.profile,
            reader=self.case_reader if self.case_reader is not None else self.reader,
            version=self.version,
            extra=dict(self.extra),
            source=self.path,
        )

    def settings(self) -> Settings:
        return settings_for_case(self.to_case())

    def assessment(self) -> CaseAssessment:
        """The engine's assessment of the current state (cached per revision)."""
        if self._assessment is None or self._assessment[0] != self.revision:
            self._assessment = (self.revision, assess_case(self.to_case()))
        return self._assessment[1]

    # -- lookups ---------------------------------------------------------------------------------
    def sorted_timepoints(self) -> list[Timepoint]:
        return sorted(self.timepoints.values(), key=lambda t: t.date)

    @property
    def baseline_id(self) -> str:
        tps = self.sorted_timepoints()
        for tp in tps:
            if tp.baseline:
                return tp.id
        return tps[0].id

    def observation(self, lesion: str, timepoint: str) -> Observation | None:
        return self.observations.get((lesion, timepoint))

    def lesion_index(self, lesion: str) -> int:
        """1-based position of a lesion: its label value in the mask layers."""
        return list(self.lesions).index(lesion) + 1

    def lesion_for_label(self, label: int) -> str | None:
        ids = list(self.lesions)
        return ids[label - 1] if 1 <= label <= len(ids) else None

    def measure_field(self, lesion: str) -> str:
        """Which diameter the criteria use for this lesion (case-format.md, observations)."""
        if self.lesions[lesion].is_node:
            return "short_axis_mm"
        crit = self.criteria or self.settings().criteria
        return "viable_diameter_mm" if crit == "mRECIST" else "longest_diameter_mm"

    # -- lesions ---------------------------------------------------------------------------------
    def next_lesion_id(self, role: str) -> str:
        prefix = {"target": "T", "non-target": "NT", "new": "N"}.get(role, "L")
        n = 1
        while f"{prefix}{n}" in self.lesions:
            n += 1
        return f"{prefix}{n}"

    def target_limit_warnings(self, organ: str | None = None) -> list[str]:
        """Warnings when the targets exceed the settings' limits (REC-B1 / MR-B3)."""
        s = self.settings()
        targets = [les for les in self.lesions.values() if les.role == "target"]
        out: list[str] = []
        if len(targets) > s.max_targets_total:
            out.append(f"{len(targets)} target lesions: at most {s.max_targets_total} allowed (REC-B1/MR-B3)")
        organs = {organ} if organ else {les.organ for les in targets}
        for org in sorted(organs):
            n = sum(1 for les in targets if les.organ.strip().lower() == org.strip().lower())
            if n > s.max_targets_per_organ:
                out.append(f"{n} targets in {org}: at most {s.max_targets_per_organ} per organ (REC-B1/MR-B3)")
        return out

    def can_add_target(self, organ: str) -> tuple[bool, str]:
        """Whether one more target fits the limits, and the warning when it does not."""
        s = self.settings()
        targets = [les for les in self.lesions.values() if les.role == "target"]
        if len(targets) >= s.max_targets_total:
            return False, f"already {len(targets)} targets: at most {s.max_targets_total} (REC-B1/MR-B3)"
        n = sum(1 for les in targets if les.organ.strip().lower() == organ.strip().lower())
        if n >= s.max_targets_per_organ:
            return False, f"already {n} targets in {organ}: at most {s.max_targets_per_organ} per organ (REC-B1/MR-B3)"
        return True, ""

    def add_lesion(self, role: str, kind: str = "tumor", organ: str = "liver", site: str | None = None,
                   location: str | None = None, lesion_id: str | None = None,
                   enforce_limits: bool = False) -> Lesion:
        """Add a lesion.  Over the target limits it is added and warned about (settings decide);
        with ``enforce_limits`` it is refused instead."""
        if role not in ROLES:
            raise SessionError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        lid = lesion_id or self.next_lesion_id(role)
        if not _ID_RE.match(lid):
            raise SessionError(f"lesion id {lid!r}: 1-64 letters, digits, '.', '_' or '-'")
        if lid in self.lesions:
            raise SessionError(f"lesion id {lid!r} already exists")
        if enforce_limits and role == "target":
            ok, why = self.can_add_target(organ)
            if not ok:
                raise SessionError(why)
        les = Lesion(id=lid, role=role, kind=kind, organ=organ or "liver", site=site or None,
                     location=location or None)
        self.lesions[lid] = les
        self._changed()
        return les

    def update_lesion(self, lesion: str, **changes: Any) -> Lesion:
        les = dataclasses.replace(self._lesion(lesion), **changes)
        self.lesions[lesion] = les
        self._changed()
        return les

    def remove_lesion(self, lesion: str) -> None:
        self._lesion(lesion)
        del self.lesions[lesion]
        for key in [k for k in self.observations if k[0] == lesion]:
            del self.observations[key]
        for mkey in [k for k in self.masks if k[0] == lesion]:
            del self.masks[mkey]
        for pid, proc in list(self.procedures.items()):
            if lesion in proc.lesions:
                self.procedures[pid] = dataclasses.replace(
                    proc, lesions=tuple(x for x in proc.lesions if x != lesion))
        self._changed()

    def _lesion(self, lesion: str) -> Lesion:
        try:
            return self.lesions[lesion]
        except KeyError:
            raise SessionError(f"no lesion {lesion!r}") from None

    def _timepoint(self, tp: str) -> Timepoint:
        try:
            return self.timepoints[tp]
        except KeyError:
            raise SessionError(f"no timepoint {tp!r}") from None

    # -- observations ----------------------------------------------------------------------------
    def _stamp(self, obs: Observation) -> Observation:
        return dataclasses.replace(obs, reader=self.reader or None, recorded_at=now_iso())

    def _put(self, obs: Observation) -> Observation:
        obs = self._stamp(obs)
        self.observations[(obs.lesion, obs.timepoint)] = obs
        self._changed()
        return obs

    def _base(self, lesion: str, tp: str) -> Observation:
        self._lesion(lesion)
        self._timepoint(tp)
        return self.observations.get((lesion, tp)) or Observation(lesion=lesion, timepoint=tp, status="present")

    def set_status(self, lesion: str, tp: str, status: str) -> Observation:
        """One-click statuses: absent, too-small, present, progressed, not-evaluable.

        Any diameter is cleared (a stale number beside 'absent' would confuse the next reader);
        the line and masks stay in ``geometry`` so the evidence is kept.
        """
        if status not in STATUSES:
            raise SessionError(f"status {status!r}: expected one of {', '.join(STATUSES)}")
        obs = self._base(lesion, tp)
        changes: dict[str, Any] = {"status": status}
        if status != "measured":
            changes.update({f: None for f in _MEASURE_FIELDS})
        return self._put(dataclasses.replace(obs, **changes))

    def set_measurement(self, lesion: str, tp: str, value_mm: Decimal | float,
                        field_name: str | None = None) -> Observation:
        """Record a measured diameter typed by the reader (or computed from a line / mask)."""
        fname = field_name or self.measure_field(lesion)
        if fname not in _MEASURE_FIELDS:
            raise SessionError(f"{fname!r} is not a diameter field")
        value = value_mm if isinstance(value_mm, Decimal) else mm(value_mm)
        if value < 0:
            raise SessionError("a diameter cannot be negative")
        obs = self._base(lesion, tp)
        return self._put(dataclasses.replace(obs, status="measured", **{fname: value}))  # type: ignore[arg-type]

    def update_observation(self, lesion: str, tp: str, **changes: Any) -> Observation:
        """Set other fields (enhancement, equivocal, near_lesion, gap, cytology, note)."""
        obs = self._base(lesion, tp)
        if "gap_to_ablation_zone_mm" in changes and changes["gap_to_ablation_zone_mm"] is not None:
            g = changes["gap_to_ablation_zone_mm"]
            changes["gap_to_ablation_zone_mm"] = g if isinstance(g, Decimal) else mm(g)
        return self._put(dataclasses.replace(obs, **changes))

    def clear_observation(self, lesion: str, tp: str) -> None:
        if self.observations.pop((lesion, tp), None) is not None:
            self._changed()

    def measure_line(self, lesion: str, tp: str, p0_index: Sequence[float], p1_index: Sequence[float],
                     volume: VolumeGeometry) -> Observation:
        """A line drawn on the volume (index space z, y, x) → LPS end points and its length.

        The length is measured between the LPS points, so anisotropic voxels count correctly.
        """
        pts = volume.index_to_lps(np.asarray([p0_index, p1_index], dtype=float))
        length = _line_length(pts[0], pts[1])
        line = (tuple(_coord(v) for v in pts[0]), tuple(_coord(v) for v in pts[1]))
        obs = self._base(lesion, tp)
        geo = obs.geometry or Geometry()
        geo = dataclasses.replace(geo, line=line, series_uid=volume.series_uid or geo.series_uid)  # type: ignore[arg-type]
        fname = self.measure_field(lesion)
        return self._put(dataclasses.replace(obs, status="measured", geometry=geo, **{fname: mm(length)}))  # type: ignore[arg-type]

    def remove_line(self, lesion: str, tp: str) -> None:
        obs = self.observations.get((lesion, tp))
        if obs is not None and obs.geometry is not None and obs.geometry.line is not None:
            self._put(dataclasses.replace(obs, geometry=dataclasses.replace(obs.geometry, line=None)))

    def line_lps(self, lesion: str, tp: str) -> np.ndarray | None:
        obs = self.observations.get((lesion, tp))
        if obs is None or obs.geometry is None or obs.geometry.line is None:
            return None
        return np.asarray([[float(v) for v in p] for p in obs.geometry.line], dtype=float)

    # -- masks -----------------------------------------------------------------------------------
    def set_mask(self, lesion: str, tp: str, kind: str, array: np.ndarray, volume: VolumeGeometry,
                 notify: bool = True) -> None:
        """Keep a painted mask (``viable`` tissue or ablation ``zone``) of a lesion at a timepoint."""
        if kind not in MASK_KINDS:
            raise SessionError(f"mask kind {kind!r}: expected {MASK_KINDS}")
        self._lesion(lesion)
        self._timepoint(tp)
        arr = np.asarray(array).astype(bool, copy=False)
        key = (lesion, tp, kind)
        old = self.masks.get(key)
        self.masks[key] = MaskEntry(arr, tuple(volume.spacing), tuple(volume.origin),  # type: ignore[arg-type]
                                    np.asarray(volume.direction), path=old.path if old else None)
        if notify:
            self._changed()

    def mask(self, lesion: str, tp: str, kind: str = MASK_VIABLE) -> np.ndarray | None:
        entry = self.masks.get((lesion, tp, kind))
        return None if entry is None else entry.array

    def measure_mask(self, lesion: str, tp: str, volume: VolumeGeometry | None = None) -> Observation:
        """The lesion's viable-tissue mask gives its measurement: the longest in-plane diameter
        (MR-V1; several foci combined by ``viable_fragment_rule``, MR-V3), or the short axis of
        a node (REC-M2).  An empty mask records the lesion as absent (no viable tissue)."""
        from mrecist_tool import geometry as geom

        entry = self.masks.get((lesion, tp, MASK_VIABLE))
        if entry is None or not entry.array.any():
            return self.set_status(lesion, tp, "absent")
        sub, offset = _crop([entry.array])
        fname = self.measure_field(lesion)
        seg: Any
        if fname == "short_axis_mm":
            seg = geom.short_axis(sub[0], entry.spacing)
            length = seg.length_mm
        elif fname == "viable_diameter_mm":
            vd = geom.viable_diameter(sub[0], entry.spacing, rule=self.settings().viable_fragment_rule)  # type: ignore[arg-type]
            seg = vd.largest.long_axis if vd.largest is not None else None
            length = vd.diameter_mm
        else:
            best = geom.longest_axial_diameter(sub[0], entry.spacing)
            seg = best.long_axis if best is not None else None
            length = seg.length_mm if seg is not None else 0.0
        obs = self._base(lesion, tp)
        geo = obs.geometry or Geometry()
        if seg is not None:
            ends = _entry_affine_lps(entry, np.asarray([seg.start_index, seg.end_index]) + offset)
            line = (tuple(_coord(v) for v in ends[0]), tuple(_coord(v) for v in ends[1]))
            geo = dataclasses.replace(geo, line=line)  # type: ignore[arg-type]
        if volume is not None and volume.series_uid:
            geo = dataclasses.replace(geo, series_uid=volume.series_uid)
        return self._put(dataclasses.replace(obs, status="measured", geometry=geo, **{fname: mm(length)}))  # type: ignore[arg-type]

    def gap_from_masks(self, lesion: str, tp: str, ablated_lesion: str | None = None) -> Observation:
        """Gap (mm) from this lesion's viable focus to the ablation zone of ``ablated_lesion``
        (default: the lesion's ``near_lesion``, else its own zone), from the painted masks;
        0 when they touch (case-format.md, ``gap_to_ablation_zone_mm``)."""
        from mrecist_tool import geometry as geom

        obs = self._base(lesion, tp)
        target = ablated_lesion or obs.near_lesion or lesion
        focus = self.masks.get((lesion, tp, MASK_VIABLE))
        zone = self.masks.get((target, tp, MASK_ZONE))
        if focus is None or not focus.array.any():
            raise SessionError(f"paint the viable focus of {lesion} at {tp} first")
        if zone is None or not zone.array.any():
            raise SessionError(f"paint the ablation zone of {target} at {tp} first")
        if focus.array.shape != zone.array.shape:
            raise SessionError("the focus and the ablation zone were painted on different grids")
        (f, z), _ = _crop([focus.array, zone.array])
        gap = geom.gap_mm(f, z, focus.spacing)
        changes: dict[str, Any] = {"gap_to_ablation_zone_mm": mm(gap)}
        if target != lesion:
            changes["near_lesion"] = target
        return self._put(dataclasses.replace(obs, **changes))

    # -- procedures ------------------------------------------------------------------------------
    def add_procedure(self, type_: str, when: date, lesions: Iterable[str] = (), technique: str | None = None,
                      procedure_id: str | None = None) -> Procedure:
        les = tuple(lesions)
        for lid in les:
            self._lesion(lid)
        if type_ in ("ablation", "resection") and not les:
            raise SessionError(f"an {type_} needs the lesions it treated")
        pid = procedure_id
        if pid is None:
            prefix = {"ablation": "ABL", "resection": "RES"}.get(type_, "SYS")
            n = 1
            while f"{prefix}{n}" in self.procedures:
                n += 1
            pid = f"{prefix}{n}"
        if pid in self.procedures:
            raise SessionError(f"procedure id {pid!r} already exists")
        proc = Procedure(id=pid, type=type_, date=when, lesions=les, technique=technique or None)
        self.procedures[pid] = proc
        self._changed()
        return proc

    def remove_procedure(self, procedure_id: str) -> None:
        if self.procedures.pop(procedure_id, None) is not None:
            self._changed()

    def ablated_lesions(self) -> list[str]:
        out: list[str] = []
        for p in self.procedures.values():
            if p.type == "ablation":
                out.extend(x for x in p.lesions if x not in out)
        return out

    # -- timepoints ------------------------------------------------------------------------------
    def set_baseline(self, tp: str) -> None:
        self._timepoint(tp)
        for tid, t in self.timepoints.items():
            self.timepoints[tid] = dataclasses.replace(t, baseline=(tid == tp))
        self._changed()

    def set_timepoint_flags(self, tp: str, imaging_done: bool | None = None,
                            search_complete: bool | None = None) -> None:
        """No imaging at a visit (the visit is NE), or a new-lesion search too limited to
        exclude new lesions (REC-NE4)."""
        t = self._timepoint(tp)
        changes: dict[str, str] = {}
        if imaging_done is not None:
            changes["imaging"] = "done" if imaging_done else "not-done"
        if search_complete is not None:
            changes["new_lesion_search"] = "complete" if search_complete else "incomplete"
        self.timepoints[tp] = dataclasses.replace(t, **changes)  # type: ignore[arg-type]
        self._changed()

    def set_criteria(self, criteria: str | None) -> None:
        """mRECIST or RECIST 1.1 for this case (None: the settings' default)."""
        if criteria is not None and criteria not in ("mRECIST", "RECIST1.1"):
            raise SessionError(f"criteria {criteria!r}: expected mRECIST or RECIST1.1")
        self.criteria = criteria
        self._changed()

    def set_reader(self, reader: str) -> None:
        """The id stamped on observations recorded from now on."""
        self.reader = reader.strip()


def _line_length(p0: np.ndarray, p1: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(p1, float) - np.asarray(p0, float)))


def _crop(arrays: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """The arrays cut to the bounding box of their union (a lesion is tiny next to a 300-slice
    volume, so diameters and distance transforms run on a few thousand voxels)."""
    union = np.zeros(arrays[0].shape, dtype=bool)
    for a in arrays:
        union |= a
    idx = np.argwhere(union)
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    sl = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    return [a[sl] for a in arrays], lo.astype(float)


def _entry_affine_lps(entry: MaskEntry, index_zyx: np.ndarray) -> np.ndarray:
    """Index (z, y, x) → LPS on a mask's grid (the same affine as ``Volume.affine``)."""
    sz, sy, sx = entry.spacing
    d = np.asarray(entry.direction, dtype=float).reshape(3, 3)
    m = np.stack([d[:, 2] * sz, d[:, 1] * sy, d[:, 0] * sx], axis=1)
    return np.asarray(index_zyx, dtype=float) @ m.T + np.asarray(entry.origin, dtype=float)
