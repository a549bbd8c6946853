"""The editable state of one case, with no Qt and no napari (napari-animation's pure-model habit).

A :class:`Session` holds a working copy of a :class:`mrecist_tool.model.Case` as ordered dicts of
frozen model records (so every field another tool put in a file -- ``extra`` included -- survives
an edit) and produces an immutable :class:`~mrecist_tool.model.Case` on demand.  Categories are
never computed here: :meth:`Session.assessment` calls :func:`mrecist_tool.rules.assess_case`, and
the rules package also says which diameter a lesion is measured by and how many targets an organ
may hold (:func:`mrecist_tool.rules.measure_field`, :func:`~mrecist_tool.rules.target_limit_findings`).

Geometry: lines arrive as napari Shapes vertices in array index space ``(z, y, x)`` of the
timepoint's volume and are turned into DICOM LPS millimetres with the volume's affine; masks are
boolean arrays on the volume's grid.  Diameters and gaps come from :mod:`mrecist_tool.geometry`.

Every edit stamps the observation with the reader id (the person at the keyboard, never the
reader written in the file) and ``recorded_at`` (ISO 8601 with zone), bumps
:attr:`Session.revision` and calls the registered listeners (the widget's refresh, the autosave
timer).  Every edit can be undone and redone (:meth:`Session.undo`): the records are frozen, so a
snapshot of the state is a handful of shallow dict copies.  An edit that fails leaves the
session exactly as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import getpass
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

import numpy as np

from mrecist_tool.errors import MrecistError
from mrecist_tool.model import (
    KINDS,
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
from mrecist_tool.rules import (
    CaseAssessment,
    Settings,
    assess_case,
    excess_targets,
    measure_field,
    settings_for_case,
)

MASK_VIABLE = "viable"
MASK_ZONE = "zone"
MASK_KINDS = (MASK_VIABLE, MASK_ZONE)
_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_MEASURE_FIELDS = ("viable_diameter_mm", "longest_diameter_mm", "short_axis_mm")
# Lesion ids removed in this case: never handed out again (an old mask file or an audit trail
# naming "T2" must not come to mean another lesion).  Kept in the file as a declared extension.
RETIRED_IDS_KEY = "x-retired-lesion-ids"
UNDO_DEPTH = 200
_P = ParamSpec("_P")
_R = TypeVar("_R")


class VolumeGeometry(Protocol):
    """What the session needs of a volume: :class:`mrecist_tool.dicom.Volume` satisfies it."""

    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    series_uid: str

    def index_to_lps(self, points: Any) -> np.ndarray: ...


def default_reader_id() -> str:
    """The OS user name, a fallback when no reader id was given."""
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


class SessionError(MrecistError, ValueError):
    """An edit the case format does not allow (unknown id, bad status, duplicate id)."""


class NonAxialSeries(SessionError):
    """An in-plane diameter asked of a mask painted on a coronal, sagittal or oblique series."""


@dataclass
class MaskEntry:
    """A painted mask on one timepoint's grid; ``path`` is where it was read from / saved to."""

    array: np.ndarray  # bool, (z, y, x)
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    path: str | None = None
    dirty: bool = True
    _bounds: tuple[slice, ...] | None = field(default=None, repr=False, compare=False)

    def bounds(self) -> tuple[slice, ...] | None:
        """The mask's bounding box (``None`` when empty); computed once, as the array is
        replaced, never edited."""
        if self._bounds is None:
            from mrecist_tool.geometry.boxes import bounding_box  # geometry loads scipy: not at start-up

            self._bounds = bounding_box(self.array)
        return self._bounds


def same_mask(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two boolean masks are equal, compared eight voxels at a time (a 512×512×300
    mask is 79 million voxels)."""
    if a.shape != b.shape:
        return False
    fa, fb = np.ascontiguousarray(a, dtype=bool).reshape(-1), np.ascontiguousarray(b, dtype=bool).reshape(-1)
    head = fa.size - fa.size % 8
    return bool(np.array_equal(fa[:head].view(np.uint64), fb[:head].view(np.uint64))
                and np.array_equal(fa[head:], fb[head:]))


@dataclass(frozen=True, eq=False)
class _State:
    """What an undo step restores (records are frozen: shallow copies suffice)."""

    label: str
    subject: Subject
    timepoints: dict[str, Timepoint]
    lesions: dict[str, Lesion]
    observations: dict[tuple[str, str], Observation]
    procedures: dict[str, Procedure]
    criteria: str | None
    settings_overrides: dict[str, Any]
    masks: dict[tuple[str, str, str], MaskEntry]

    def same_as(self, other: _State) -> bool:
        """Equal records and the very same mask arrays (arrays are replaced, never edited)."""
        return (self.subject == other.subject and self.timepoints == other.timepoints
                and self.lesions == other.lesions and self.observations == other.observations
                and self.procedures == other.procedures and self.criteria == other.criteria
                and self.settings_overrides == other.settings_overrides
                and self.masks.keys() == other.masks.keys()
                and all(self.masks[k] is other.masks[k] for k in self.masks))


def _edit(label: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Make a method one undoable edit (nested edits join the outer one)."""

    def wrap(method: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(method)
        def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            self = args[0]
            assert isinstance(self, Session)
            with self.transaction(label):
                return method(*args, **kwargs)

        return run

    return wrap


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
    # Where the images are (absolute; written into the case file relative to it on save), and
    # where a reading never saved to a case file is autosaved (a stable, salted name).
    images_root: Path | None = None
    scratch_path: Path | None = None
    # The series each timepoint is being read on (set by the viewer): edits record it, so a
    # reopened case shows every measurement on the phase it was made on.
    shown_series: dict[str, str] = field(default_factory=dict)
    _listeners: list[Callable[[Session], None]] = field(default_factory=list, repr=False)
    _assessment: tuple[int, CaseAssessment] | None = field(default=None, repr=False)
    _undo: list[_State] = field(default_factory=list, repr=False)
    _redo: list[_State] = field(default_factory=list, repr=False)
    _depth: int = field(default=0, repr=False)

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_case(cls, case: Case, path: Path | None = None, reader: str | None = None) -> Session:
        """A working copy of ``case``.

        ``reader`` is the person at the keyboard; the case's own ``reader`` (who prepared the
        file) is kept for the file but never stamped on new observations.
        """
        return cls(
            subject=case.subject,
            timepoints={tp.id: tp for tp in case.timepoints},
            lesions={les.id: les for les in case.lesions},
            observations={(o.lesion, o.timepoint): o for o in case.observations},
            procedures={p.id: p for p in case.procedures},
            criteria=case.criteria,
            settings_overrides=dict(case.settings),
            profile=case.profile,
            reader=(reader or "").strip() or default_reader_id(),
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
        rdr = (reader or "").strip() or default_reader_id()
        return cls(subject=Subject(id=subject_id), timepoints={t.id: t for t in tps}, reader=rdr,
                   case_reader=rdr)

    # -- change notification ---------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Session], None]) -> None:
        self._listeners.append(callback)

    def unsubscribe(self, callback: Callable[[Session], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _changed(self) -> None:
        self.revision += 1
        for cb in list(self._listeners):
            cb(self)

    # -- undo / redo -----------------------------------------------------------------------------
    def _snapshot(self, label: str) -> _State:
        return _State(label, self.subject, dict(self.timepoints), dict(self.lesions),
                      dict(self.observations), dict(self.procedures), self.criteria,
                      dict(self.settings_overrides), dict(self.masks))

    def _restore(self, state: _State) -> None:
        for key, entry in state.masks.items():
            if self.masks.get(key) is not entry:
                entry.dirty = True  # the file on disk may hold the newer mask: rewrite it
        self.subject = state.subject
        self.timepoints = dict(state.timepoints)
        self.lesions = dict(state.lesions)
        self.observations = dict(state.observations)
        self.procedures = dict(state.procedures)
        self.criteria = state.criteria
        self.settings_overrides = dict(state.settings_overrides)
        self.masks = dict(state.masks)

    @contextlib.contextmanager
    def transaction(self, label: str) -> Iterator[None]:
        """Group edits into one undo step, announced once; on an error nothing is changed."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        before = self._snapshot(label)
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._restore(before)
            raise
        self._depth = 0
        if self._snapshot(label).same_as(before):
            return  # nothing changed: no undo step, no notification
        self._undo.append(before)
        del self._undo[:-UNDO_DEPTH]
        self._redo.clear()
        self._changed()

    def _step(self, source: list[_State], target: list[_State]) -> str | None:
        if not source:
            return None
        state = source.pop()
        target.append(self._snapshot(state.label))
        self._restore(state)
        self._changed()
        return state.label

    def undo(self) -> str | None:
        """Undo the last edit; returns what was undone (None when there is nothing to undo)."""
        return self._step(self._undo, self._redo)

    def redo(self) -> str | None:
        """Redo the last undone edit; returns what was redone."""
        return self._step(self._redo, self._undo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

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

    def earlier_timepoints(self, tp: str) -> list[str]:
        """The timepoints dated before ``tp``, latest first (priors to compare with)."""
        when = self._timepoint(tp).date
        return [t.id for t in reversed(self.sorted_timepoints()) if t.date < when]

    def observation(self, lesion: str, timepoint: str) -> Observation | None:
        return self.observations.get((lesion, timepoint))

    def lesion_index(self, lesion: str) -> int:
        """1-based position of a lesion: its label value in the mask layers."""
        return list(self.lesions).index(lesion) + 1

    def lesion_for_label(self, label: int) -> str | None:
        ids = list(self.lesions)
        return ids[label - 1] if 1 <= label <= len(ids) else None

    def measure_field(self, lesion: str) -> str:
        """Which diameter the criteria use for this lesion (the rules package decides)."""
        return measure_field(self._lesion(lesion), self.settings())

    def series_of(self, tp: str) -> str | None:
        """The series most of this timepoint's measurements were made on (None: not recorded)."""
        counts: dict[str, int] = {}
        for (_, t), obs in self.observations.items():
            if t == tp and obs.geometry is not None and obs.geometry.series_uid:
                counts[obs.geometry.series_uid] = counts.get(obs.geometry.series_uid, 0) + 1
        return max(counts, key=lambda uid: counts[uid]) if counts else None

    # -- lesions ---------------------------------------------------------------------------------
    @property
    def retired_ids(self) -> list[str]:
        value = self.extra.get(RETIRED_IDS_KEY)
        return [str(v) for v in value] if isinstance(value, list) else []

    def next_lesion_id(self, role: str) -> str:
        """``T``/``NT``/``N`` and a number above every id used in this case, removed ones too."""
        prefix = {"target": "T", "non-target": "NT", "new": "N"}.get(role, "L")
        pattern = re.compile(rf"^{prefix}(\d+)$")
        used = [int(m.group(1)) for lid in [*self.lesions, *self.retired_ids] if (m := pattern.match(lid))]
        return f"{prefix}{max(used, default=0) + 1}"

    def target_limit_warnings(self) -> list[str]:
        """The engine's warnings when the targets exceed the settings' limits (REC-B1 / MR-B3,
        organs grouped as REC-B2 says: "hepatic" is the liver, paired organs are one)."""
        return [f"{f.message} ({f.rule})" for f in excess_targets(self.to_case())]

    def can_add_target(self, organ: str, kind: str = "tumor") -> tuple[bool, str]:
        """Whether one more target in ``organ`` stays within the limits, and why not (asked of
        the engine with the new target in place)."""
        candidate = Lesion(id=self.next_lesion_id("target"), role="target", kind=kind, organ=organ or "liver")
        case = self.to_case()
        before = {f.message for f in excess_targets(case)}
        trial = dataclasses.replace(case, lesions=(*case.lesions, candidate))
        new = [f for f in excess_targets(trial) if f.message not in before]
        if new:
            return False, f"{new[0].message} ({new[0].rule})"
        return True, ""

    @_edit("add lesion")
    def add_lesion(self, role: str, kind: str = "tumor", organ: str = "liver", site: str | None = None,
                   location: str | None = None, lesion_id: str | None = None,
                   enforce_limits: bool = False) -> Lesion:
        """Add a lesion.  Over the target limits it is added and warned about (settings decide);
        with ``enforce_limits`` it is refused instead."""
        if role not in ROLES:
            raise SessionError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        if kind not in KINDS:
            raise SessionError(f"kind {kind!r}: expected one of {', '.join(KINDS)}")
        lid = lesion_id or self.next_lesion_id(role)
        if not _ID_RE.match(lid):
            raise SessionError(f"lesion id {lid!r}: 1-64 letters, digits, '.', '_' or '-'")
        if lid in self.lesions or lid in self.retired_ids:
            raise SessionError(f"lesion id {lid!r} is or was used in this case")
        if enforce_limits and role == "target":
            ok, why = self.can_add_target(organ, kind)
            if not ok:
                raise SessionError(why)
        les = Lesion(id=lid, role=role, kind=kind, organ=organ or "liver", site=site or None,
                     location=location or None)
        self.lesions[lid] = les
        return les

    @_edit("edit lesion")
    def update_lesion(self, lesion: str, **changes: Any) -> Lesion:
        """Change a lesion's role, kind, organ, site or location."""
        if "role" in changes and changes["role"] not in ROLES:
            raise SessionError(f"role {changes['role']!r}: expected one of {', '.join(ROLES)}")
        if "kind" in changes and changes["kind"] not in KINDS:
            raise SessionError(f"kind {changes['kind']!r}: expected one of {', '.join(KINDS)}")
        if "id" in changes:
            raise SessionError("a lesion's id cannot change (observations and masks refer to it)")
        for key in ("site", "location"):
            if key in changes:
                changes[key] = (changes[key] or "").strip() or None
        if "organ" in changes:
            changes["organ"] = (changes["organ"] or "").strip() or "liver"
        les = dataclasses.replace(self._lesion(lesion), **changes)
        self.lesions[lesion] = les
        return les

    @_edit("remove lesion")
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
        for (les, tp), obs in list(self.observations.items()):
            if obs.near_lesion == lesion:
                self.observations[(les, tp)] = dataclasses.replace(obs, near_lesion=None)
        if lesion not in self.retired_ids:
            self.extra[RETIRED_IDS_KEY] = [*self.retired_ids, lesion]

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
        changes: dict[str, Any] = {"reader": self.reader or None, "recorded_at": now_iso()}
        shown = self.shown_series.get(obs.timepoint)
        if shown:
            changes["geometry"] = dataclasses.replace(obs.geometry or Geometry(), series_uid=shown)
        return dataclasses.replace(obs, **changes)

    def _put(self, obs: Observation) -> Observation:
        obs = self._stamp(obs)
        self.observations[(obs.lesion, obs.timepoint)] = obs
        return obs

    def _base(self, lesion: str, tp: str) -> Observation:
        self._lesion(lesion)
        self._timepoint(tp)
        return self.observations.get((lesion, tp)) or Observation(lesion=lesion, timepoint=tp, status="present")

    @_edit("status")
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

    @_edit("diameter")
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

    @_edit("observation details")
    def update_observation(self, lesion: str, tp: str, **changes: Any) -> Observation:
        """Set other fields (enhancement, equivocal, near_lesion, gap, cytology, note)."""
        obs = self._base(lesion, tp)
        if "gap_to_ablation_zone_mm" in changes and changes["gap_to_ablation_zone_mm"] is not None:
            g = changes["gap_to_ablation_zone_mm"]
            changes["gap_to_ablation_zone_mm"] = g if isinstance(g, Decimal) else mm(g)
        near = changes.get("near_lesion")
        if near is not None and (near == lesion or near not in self.lesions):
            raise SessionError(f"near lesion {near!r}: expected another lesion of this case")
        return self._put(dataclasses.replace(obs, **changes))

    @_edit("clear observation")
    def clear_observation(self, lesion: str, tp: str) -> None:
        self.observations.pop((lesion, tp), None)

    @_edit("line")
    def measure_line(self, lesion: str, tp: str, p0_index: Sequence[float], p1_index: Sequence[float],
                     volume: VolumeGeometry) -> Observation:
        """A line drawn on the volume (index space z, y, x) → LPS end points and its length.

        The length is measured between the LPS points, so anisotropic voxels count correctly.
        On a coronal, sagittal or oblique series the line is refused (:class:`NonAxialSeries`,
        naming lesion, timepoint, series and orientation): its length would be a diameter taken
        in the wrong plane, as for a mask (:meth:`measure_mask`).
        """
        fname = self.measure_field(lesion)
        _check_axial(lesion, tp, f"the line was not kept and no {field_words(fname)} was recorded", volume,
                     volume.direction)
        pts = volume.index_to_lps(np.asarray([p0_index, p1_index], dtype=float))
        length = _line_length(pts[0], pts[1])
        line = (tuple(_coord(v) for v in pts[0]), tuple(_coord(v) for v in pts[1]))
        obs = self._base(lesion, tp)
        geo = obs.geometry or Geometry()
        geo = dataclasses.replace(geo, line=line, series_uid=volume.series_uid or geo.series_uid)  # type: ignore[arg-type]
        return self._put(dataclasses.replace(obs, status="measured", geometry=geo, **{fname: mm(length)}))  # type: ignore[arg-type]

    @_edit("remove line")
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
    @_edit("mask")
    def set_mask(self, lesion: str, tp: str, kind: str, array: np.ndarray, volume: VolumeGeometry) -> None:
        """Keep a painted mask (``viable`` tissue or ablation ``zone``) of a lesion at a timepoint.

        An empty array removes the mask.  The array is copied -- what is kept cannot change
        behind the session's back (undo relies on it) -- unless it is a read-only boolean array
        owning its memory (a grown mask), which is kept as it is.
        """
        if kind not in MASK_KINDS:
            raise SessionError(f"mask kind {kind!r}: expected {MASK_KINDS}")
        self._lesion(lesion)
        self._timepoint(tp)
        frozen = array.dtype == bool and array.base is None and not array.flags.writeable
        arr = array if frozen else np.array(array, dtype=bool, copy=True)
        key = (lesion, tp, kind)
        old = self.masks.get(key)
        if old is not None and same_mask(old.array, arr):
            return
        if not arr.any() and old is None:
            return
        self.masks[key] = MaskEntry(arr, tuple(volume.spacing), tuple(volume.origin),  # type: ignore[arg-type]
                                    np.asarray(volume.direction), path=old.path if old else None)

    def mask(self, lesion: str, tp: str, kind: str = MASK_VIABLE) -> np.ndarray | None:
        entry = self.masks.get((lesion, tp, kind))
        return None if entry is None else entry.array

    @_edit("diameter from mask")
    def measure_mask(self, lesion: str, tp: str, volume: VolumeGeometry | None = None) -> Observation:
        """The lesion's viable-tissue mask gives its measurement: the longest in-plane diameter
        (MR-V1; several foci combined by ``viable_fragment_rule``, MR-V3), or the short axis of
        a node (REC-M2).  An empty mask records the lesion as absent (no viable tissue)."""
        from mrecist_tool import geometry as geom

        entry = self.masks.get((lesion, tp, MASK_VIABLE))
        if entry is None or not entry.array.any():
            return self.set_status(lesion, tp, "absent")
        fname = self.measure_field(lesion)
        # in-plane diameters of a non-axial series would come from the wrong plane
        _check_axial(lesion, tp, f"the {field_words(fname)} was not taken from the mask", volume, entry.direction)
        sub, offset = _crop([entry.array])
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

    @_edit("gap from masks")
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
    @_edit("add procedure")
    def add_procedure(self, type_: str, when: date, lesions: Iterable[str] = (), technique: str | None = None,
                      procedure_id: str | None = None) -> Procedure:
        les = tuple(lesions)
        for lid in les:
            self._lesion(lid)
        if type_ in ("ablation", "resection") and not les:
            raise SessionError(f"an {type_} needs the lesions it treated: select them in the table")
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
        return proc

    @_edit("remove procedure")
    def remove_procedure(self, procedure_id: str) -> None:
        self.procedures.pop(procedure_id, None)

    def ablated_lesions(self) -> list[str]:
        out: list[str] = []
        for p in self.procedures.values():
            if p.type == "ablation":
                out.extend(x for x in p.lesions if x not in out)
        return out

    # -- timepoints ------------------------------------------------------------------------------
    @_edit("baseline")
    def set_baseline(self, tp: str) -> None:
        self._timepoint(tp)
        if any(t.date < self.timepoints[tp].date for t in self.timepoints.values()):
            raise SessionError(f"{tp} is not the earliest timepoint: the baseline must be "
                               "the first study (case-format.md)")
        for tid, t in self.timepoints.items():
            self.timepoints[tid] = dataclasses.replace(t, baseline=(tid == tp))

    @_edit("timepoint flags")
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

    @_edit("criteria")
    def set_criteria(self, criteria: str | None) -> None:
        """mRECIST or RECIST 1.1 for this case (None: the settings' default)."""
        if criteria is not None and criteria not in ("mRECIST", "RECIST1.1"):
            raise SessionError(f"criteria {criteria!r}: expected mRECIST or RECIST1.1")
        self.criteria = criteria

    def set_reader(self, reader: str) -> None:
        """The id stamped on observations recorded from now on."""
        self.reader = reader.strip()


def field_words(fname: str) -> str:
    """'viable_diameter_mm' → 'viable diameter' (for messages)."""
    return fname.removesuffix("_mm").replace("_", " ")


def non_axial_reason(direction: Any) -> str | None:
    """Why slices of ``direction`` are no place for an mRECIST diameter (the core's words:
    coronal, sagittal or oblique, and by how much), or None when they are axial; a missing
    direction counts as axial."""
    from mrecist_tool import geometry as geom

    if direction is None:
        return None
    try:
        geom.check_axial(geom.Grid((1.0, 1.0, 1.0), None, np.asarray(direction, float).reshape(3, 3)))
    except geom.NonAxialError as exc:
        return str(exc)
    return None


def series_words(volume: VolumeGeometry | None) -> str:
    """`` (series <uid>)`` naming the series in a message, or nothing when it has no UID."""
    uid = getattr(volume, "series_uid", None) if volume is not None else None
    return f" (series {uid})" if uid else ""


def _check_axial(lesion: str, tp: str, what: str, volume: VolumeGeometry | None, direction: Any) -> None:
    """Raise :class:`NonAxialSeries` (``"<lesion> at <tp>: <what> (series …): <orientation>"``)
    when the slices of ``direction`` are not axial; a missing direction counts as axial."""
    reason = non_axial_reason(direction)
    if reason is not None:
        raise NonAxialSeries(f"{lesion} at {tp}: {what}{series_words(volume)}: {reason}")


def _line_length(p0: np.ndarray, p1: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(p1, float) - np.asarray(p0, float)))


def _crop(arrays: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """The arrays cut to the bounding box of their union (a lesion is tiny next to a 300-slice
    volume, so diameters and distance transforms run on a few thousand voxels)."""
    union = np.zeros(arrays[0].shape, dtype=bool)
    for a in arrays:
        union |= a
    from mrecist_tool.geometry.boxes import bounding_box

    sl = bounding_box(union)
    if sl is None:
        raise ValueError("the masks are empty")
    return [a[sl] for a in arrays], np.array([b.start for b in sl], dtype=float)


def _entry_affine_lps(entry: MaskEntry, index_zyx: np.ndarray) -> np.ndarray:
    """Index (z, y, x) → LPS on a mask's grid (the same affine as ``Volume.affine``)."""
    sz, sy, sx = entry.spacing
    d = np.asarray(entry.direction, dtype=float).reshape(3, 3)
    m = np.stack([d[:, 2] * sz, d[:, 1] * sy, d[:, 0] * sx], axis=1)
    return np.asarray(index_zyx, dtype=float) @ m.T + np.asarray(entry.origin, dtype=float)
