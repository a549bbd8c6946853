"""Indexes over one case that every rule module reads: computed once per assessment.

Nothing here decides a category; it answers questions such as "which lesions were ablated before
this timepoint", "was the viability phase acquired", "which new foci are really viable tissue of
an ablated lesion" (APP-3, ABL-6).  Lesions and observations are indexed by id, never by their
position in the file, so results never depend on the order of the file (tested by property).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ..model import Case, Lesion, Observation, Timepoint
from .criteria import Settings

# Phases that satisfy each viability_phase setting (APP-1, MR-O2).  "any" means any contrast-
# enhanced phase: a non-contrast series alone cannot show enhancement.
_VIABILITY_PHASES: dict[str, frozenset[str]] = {
    "arterial": frozenset({"arterial"}),
    "portal_venous": frozenset({"portal-venous"}),
    "any": frozenset({"arterial", "portal-venous", "delayed", "hepatobiliary"}),
}

PRESENT_STATUSES = frozenset({"measured", "too-small", "present", "progressed"})


@dataclass(frozen=True)
class LocalFocus:
    """A focus recorded as a ``new`` lesion next to an ablated lesion, within
    ``ltp_max_distance_mm`` of its zone: viable tissue of that lesion, not a new lesion (APP-3)."""

    focus: str  # the new lesion's id
    lesion: str  # the ablated lesion it belongs to
    first_timepoint: str
    gap_mm: Decimal | None


@dataclass
class CaseContext:
    case: Case
    settings: Settings
    timepoints: tuple[Timepoint, ...]
    baseline: Timepoint
    obs: dict[tuple[str, str], Observation]
    lesions: dict[str, Lesion]
    targets: tuple[Lesion, ...]
    nontargets: tuple[Lesion, ...]
    new_lesions: tuple[Lesion, ...]
    ablation_dates: dict[str, tuple[date, ...]]
    resection_dates: dict[str, date]
    local_foci: dict[str, LocalFocus] = field(default_factory=dict)  # focus id -> focus
    foci_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lesion id -> focus ids
    order: dict[str, int] = field(default_factory=dict)  # timepoint id -> position by date
    # focus id -> first timepoint at which the focus was recorded without the equivocal mark
    focus_confirmed: dict[str, str | None] = field(default_factory=dict)
    # PRE-1: studies after the baseline and before the first ablation of a target lesion
    pre_ablation: tuple[Timepoint, ...] = ()
    first_ablation: date | None = None  # of a target lesion (else of any lesion)
    # PRE-3: disappearing liver metastases -> the last pre-ablation study that showed them gone
    dlm: dict[str, Timepoint] = field(default_factory=dict)
    _first_seen: dict[str, Timepoint | None] = field(default_factory=dict)

    @classmethod
    def build(cls, case: Case, settings: Settings) -> CaseContext:
        tps = case.sorted_timepoints()
        lesions = {lesion.id: lesion for lesion in sorted(case.lesions, key=lambda x: x.id)}
        by_role: dict[str, list[Lesion]] = {"target": [], "non-target": [], "new": []}
        for lesion in lesions.values():
            by_role.setdefault(lesion.role, []).append(lesion)
        ablations: dict[str, list[date]] = {}
        resections: dict[str, date] = {}
        for proc in case.procedures:
            for lesion_id in proc.lesions:
                if proc.type == "ablation":
                    ablations.setdefault(lesion_id, []).append(proc.date)
                elif proc.type == "resection":
                    prior = resections.get(lesion_id)
                    resections[lesion_id] = proc.date if prior is None else min(prior, proc.date)
        ctx = cls(
            case=case,
            settings=settings,
            timepoints=tps,
            baseline=case.baseline,
            obs=case.observation_index(),
            lesions=lesions,
            targets=tuple(by_role["target"]),
            nontargets=tuple(by_role["non-target"]),
            new_lesions=tuple(by_role["new"]),
            ablation_dates={k: tuple(sorted(set(v))) for k, v in ablations.items()},
            resection_dates=resections,
            order={tp.id: i for i, tp in enumerate(tps)},
        )
        ctx._find_pre_ablation_window()
        ctx._classify_foci()
        return ctx

    # -- questions -------------------------------------------------------------------------
    def ablated_before(self, lesion_id: str, when: date) -> bool:
        dates = self.ablation_dates.get(lesion_id, ())
        return bool(dates) and dates[0] < when

    def viability_phase_ok(self, tp: Timepoint) -> bool:
        """MR-O2: under mRECIST the viability phase must be among the recorded series.

        When a timepoint lists no series the phases were not recorded and the reader's
        observations are taken as made on the right phase (case-format.md, "Phases").
        """
        if not self.settings.is_mrecist or tp.series is None:
            return True
        phases = tp.phases or frozenset()
        return bool(phases & _VIABILITY_PHASES[self.settings.viability_phase])

    def observation(self, lesion_id: str, tp_id: str) -> Observation | None:
        return self.obs.get((lesion_id, tp_id))

    def measurability_floor(self) -> Decimal:
        """REC-M1: 10 mm, or twice the baseline slice thickness when slices are thicker than 5 mm."""
        floor = self.settings.min_target_ld_mm
        thickness = self.baseline.slice_thickness_mm
        if thickness is not None and thickness > 5:
            floor = max(floor, 2 * thickness)
        return floor

    def criteria_value(self, lesion: Lesion, o: Observation | None) -> Decimal | None:
        """The diameter the criteria use for a ``measured`` observation (case-format.md)."""
        if o is None or o.status != "measured":
            return None
        if lesion.is_node:
            return o.short_axis_mm
        return o.viable_diameter_mm if self.settings.is_mrecist else o.longest_diameter_mm

    def observed_dlm_site(self, lesion_id: str, when: date) -> bool:
        """PRE-4: a disappeared liver metastasis left under observation (not ablated by then),
        looked at after the last pre-ablation study."""
        last = self.dlm.get(lesion_id)
        return last is not None and when > last.date and not self.ablated_before(lesion_id, when)

    def first_seen(self, lesion_id: str) -> Timepoint | None:
        """The first timepoint with imaging where the lesion is recorded as present."""
        if lesion_id in self._first_seen:
            return self._first_seen[lesion_id]
        found = None
        for tp in self.timepoints:
            o = self.obs.get((lesion_id, tp.id))
            if o is not None and o.status in PRESENT_STATUSES and tp.imaging_done:
                found = tp
                break
        self._first_seen[lesion_id] = found
        return found

    def focus_reading(self, focus_id: str, tp: Timepoint) -> str:
        """What a focus next to an ablated lesion shows at one timepoint, after retroactive
        revision (REC-N3, MR-SP5, ABL-9, response-rules.md §11.6).

        One answer for every table: the ablated lesion's local status, its target value (APP-3)
        and a non-target's state (APP-4) all read it, so they cannot disagree.

        ``"viable"``: viable tissue recorded without the equivocal mark; ``"retro"``: recorded as
        equivocal, confirmed on a later study and dated back to this one; ``"pending"``: equivocal
        and not (or not yet) confirmed; ``"absent"``, ``"ne"`` (not evaluable) or ``"none"`` (no
        observation, or no imaging).
        """
        o = self.obs.get((focus_id, tp.id))
        if o is None or not tp.imaging_done:
            return "none"
        if o.status == "absent":
            return "absent"
        if o.status == "not-evaluable":
            return "ne"
        if not o.equivocal:
            return "viable"
        confirmed = self.focus_confirmed.get(focus_id)
        if (
            confirmed is not None
            and self.settings.retro_date_equivocal_new_lesions
            and self.order[tp.id] < self.order[confirmed]
        ):
            return "retro"
        return "pending"

    # -- set-up ----------------------------------------------------------------------------
    def _find_pre_ablation_window(self) -> None:
        """PRE-1 and PRE-3: the pre-ablation window and the lesions that disappeared in it.

        The window holds the studies after the baseline dated strictly before the first ablation
        of a target lesion (of any lesion when no target was ablated); a study on the ablation
        day is not before it (§11.11).  A liver lesion measurable at baseline (REC-M1) whose
        diameter is 0 or absent at the last pre-ablation study with imaging is a DLM.
        """
        target_ids = {lesion.id for lesion in self.targets}
        dates = [d[0] for lid, d in self.ablation_dates.items() if lid in target_ids]
        if not dates:
            dates = [d[0] for d in self.ablation_dates.values()]
        if not dates:
            return
        self.first_ablation = min(dates)
        self.pre_ablation = tuple(
            tp for tp in self.timepoints if self.baseline.date < tp.date < self.first_ablation
        )
        scanned = [tp for tp in self.pre_ablation if tp.imaging_done]
        if not scanned:
            return
        last = scanned[-1]
        floor = self.measurability_floor()
        for lesion in (*self.targets, *self.nontargets):
            if lesion.is_node or not lesion.is_intrahepatic or lesion.kind != "tumor":
                continue
            at_baseline = self.criteria_value(lesion, self.obs.get((lesion.id, self.baseline.id)))
            if at_baseline is None or at_baseline < floor:
                continue
            o = self.obs.get((lesion.id, last.id))
            if o is None:
                continue
            if o.status == "absent" or (o.status == "measured" and self.criteria_value(lesion, o) == 0):
                self.dlm[lesion.id] = last

    def _classify_foci(self) -> None:
        """Decide once, at a focus's first detection, whether it is viable tissue of an ablated
        lesion (gap within ``ltp_max_distance_mm``, ABL-6 inclusive) or a new lesion."""
        limit = self.settings.ltp_max_distance_mm
        foci_of: dict[str, list[str]] = {}
        for lesion in self.new_lesions:
            tp = self.first_seen(lesion.id)
            if tp is None:
                continue
            o = self.obs[(lesion.id, tp.id)]
            if not o.near_lesion or o.near_lesion not in self.lesions:
                continue
            if not self.ablated_before(o.near_lesion, tp.date) and not self.observed_dlm_site(o.near_lesion, tp.date):
                continue  # next to an ablation zone (APP-3), or at a disappeared metastasis (PRE-4)
            gap = o.gap_to_ablation_zone_mm
            if gap is not None and gap > limit:
                continue
            self.local_foci[lesion.id] = LocalFocus(lesion.id, o.near_lesion, tp.id, gap)
            foci_of.setdefault(o.near_lesion, []).append(lesion.id)
            self.focus_confirmed[lesion.id] = next(
                (
                    later.id
                    for later in self.timepoints[self.order[tp.id] :]
                    if later.imaging_done
                    and (fo := self.obs.get((lesion.id, later.id))) is not None
                    and fo.status in PRESENT_STATUSES
                    and not fo.equivocal
                ),
                None,
            )
        self.foci_of = {k: tuple(sorted(v)) for k, v in foci_of.items()}
