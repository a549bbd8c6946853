"""What each lesion counts for at one timepoint.

Targets give a length (viable diameter under mRECIST, MR-V1; longest diameter under RECIST 1.1;
short axis for nodes, REC-S1) or "not evaluable"; non-targets give absent / present / progressed /
not evaluable.  Viable foci recorded next to an ablated lesion within ``ltp_max_distance_mm`` are
viable tissue of that lesion (APP-3) and are combined with its own measurement by
``viable_fragment_rule`` (MR-V3).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..model import Lesion, Observation, Timepoint
from .arith import ZERO, display_mm
from .context import CaseContext
from .criteria import Settings


@dataclass(frozen=True, slots=True)
class TargetValue:
    lesion: str
    measure: Decimal | None  # None: not evaluable
    status: str  # recorded status, or "not-evaluated"
    viable: bool | None  # viable tissue present (None: unknown)
    is_node: bool
    rules: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NonTargetState:
    lesion: str
    state: str  # "absent" | "present" | "progressed" | "ne"
    status: str
    measure: Decimal | None = None
    rules: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def measure_field(lesion: Lesion, settings: Settings) -> str:
    """The observation field holding the diameter the criteria use (case-format.md).

    The short axis of a node (REC-S1), the viable diameter under mRECIST (MR-V1), else the
    longest diameter (RECIST 1.1).

    Parameters
    ----------
    lesion : Lesion
        The lesion measured.
    settings : Settings
        The settings (their ``criteria``).

    Returns
    -------
    str
        ``"short_axis_mm"``, ``"viable_diameter_mm"`` or ``"longest_diameter_mm"``.
    """
    if lesion.is_node:
        return "short_axis_mm"
    return "viable_diameter_mm" if settings.is_mrecist else "longest_diameter_mm"


def criteria_diameter(ctx: CaseContext, lesion: Lesion, o: Observation) -> Decimal | None:
    """The diameter the criteria use for a measured observation (case-format.md)."""
    value: Decimal | None = getattr(o, measure_field(lesion, ctx.settings))
    return value


def focus_diameter(ctx: CaseContext, o: Observation) -> Decimal | None:
    """Size of a new focus: the criteria's diameter, else whichever diameter was recorded."""
    first = o.viable_diameter_mm if ctx.settings.is_mrecist else o.longest_diameter_mm
    for value in (first, o.longest_diameter_mm, o.viable_diameter_mm, o.short_axis_mm):
        if value is not None:
            return value
    return None


def node_is_normal(ctx: CaseContext, lesion: Lesion, short_axis: Decimal) -> bool:
    """REC-T1: a node has resolved when its short axis is < 10 mm.  Under mRECIST a porta
    hepatis node is malignant only from 20 mm (MR-B5), so below that it counts as resolved [D]."""
    s = ctx.settings
    if lesion.kind == "porta-hepatis-node" and s.is_mrecist:
        return short_axis < s.porta_hepatis_malignant_sa_mm
    return short_axis < s.node_path_sa_mm


def _own_target_value(
    ctx: CaseContext, lesion: Lesion, o: Observation | None
) -> tuple[Decimal | None, list[str], list[str], list[str]]:
    """The lesion's own recorded value: (measure or None, rules, flags, notes)."""
    s = ctx.settings
    rules: list[str] = []
    flags: list[str] = []
    notes: list[str] = []
    if o is None:
        notes.append(f"{lesion.id}: not evaluated at this timepoint")
        return None, ["REC-NE2"], flags, notes
    if o.status == "measured":
        value = criteria_diameter(ctx, lesion, o)
        if value is None:
            notes.append(f"{lesion.id}: measured but without the diameter the criteria use")
            return None, ["REC-NE2"], ["measured lesion lacks its diameter"], notes
        rules.append("REC-S1" if lesion.is_node else ("MR-V1" if s.is_mrecist else "REC-B3"))
        if s.is_mrecist and not lesion.is_node and value == ZERO:
            rules.append("MR-V4")  # no enhancing tissue: 0 mm even if a mass or scar remains
        what = "short axis" if lesion.is_node else ("viable diameter" if s.is_mrecist else "LD")
        notes.append(f"{lesion.id}: {what} {display_mm(value)} mm")
        return value, rules, flags, notes
    if o.status == "absent":
        rules.append("MR-V4" if s.is_mrecist else "REC-S2")
        notes.append(f"{lesion.id}: absent, counts 0 mm")
        return ZERO, rules, flags, notes
    if o.status == "too-small":
        rules.append("MR-V5" if s.is_mrecist else "REC-S2")
        flags.append(f"{lesion.id}: too small to measure, default {display_mm(s.too_small_default_mm)} mm used")
        notes.append(f"{lesion.id}: too small to measure, counts {display_mm(s.too_small_default_mm)} mm")
        return s.too_small_default_mm, rules, flags, notes
    if o.status in ("present", "progressed"):
        flags.append(f"{lesion.id}: target recorded as '{o.status}' without a measurement")
        notes.append(f"{lesion.id}: target not measured (status {o.status}), not evaluable")
        return None, ["REC-NE2"], flags, notes
    notes.append(f"{lesion.id}: not evaluable")
    return None, ["REC-NE2"], flags, notes


def _flag_distant_own_tissue(
    ctx: CaseContext, lesion: Lesion, tp: Timepoint, o: Observation, own: Decimal, flags: list[str]
) -> None:
    """ABL-6: viable tissue recorded on an ablated lesion but far from its zone is a new lesion."""
    gap = o.gap_to_ablation_zone_mm
    if gap is not None and own > ZERO and gap > ctx.settings.ltp_max_distance_mm and ctx.ablated_before(lesion.id, tp.date):
        flags.append(
            f"{lesion.id}: viable tissue {display_mm(gap)} mm from the ablation zone, beyond "
            f"ltp_max_distance_mm; record it as a new lesion (ABL-6)"
        )


def target_value(ctx: CaseContext, lesion: Lesion, tp: Timepoint) -> TargetValue:
    s = ctx.settings
    o = ctx.observation(lesion.id, tp.id)
    status = o.status if o is not None else "not-evaluated"
    if not tp.imaging_done:
        return TargetValue(
            lesion.id,
            None,
            status,
            None,
            lesion.is_node,
            ("REC-NE1",),
            notes=(f"{lesion.id}: no imaging at this visit",),
        )
    if not ctx.viability_phase_ok(tp) and not lesion.is_node:
        return TargetValue(
            lesion.id,
            None,
            status,
            None,
            lesion.is_node,
            ("MR-O2",),
            notes=(
                f"{lesion.id}: no {s.viability_phase.replace('_', '-')} phase acquired; viability cannot be judged",
            ),
        )

    foci = [f for f in ctx.foci_of.get(lesion.id, ()) if (f, tp.id) in ctx.obs]
    own, rules, flags, notes = _own_target_value(ctx, lesion, o)
    if o is not None and o.status == "not-evaluable":
        return TargetValue(lesion.id, None, status, None, lesion.is_node, tuple(rules), tuple(flags), tuple(notes))
    if not foci:
        # The common case: no focus recorded next to this lesion at this visit.
        if own is not None and o is not None:
            _flag_distant_own_tissue(ctx, lesion, tp, o, own, flags)
        viable = None if own is None or lesion.is_node else own > ZERO
        return TargetValue(lesion.id, own, status, viable, lesion.is_node, tuple(rules), tuple(flags), tuple(notes))

    focus_values: list[Decimal] = []
    focus_unknown = False
    focus_viable = False
    for fid in foci:
        fo = ctx.obs[(fid, tp.id)]
        reading = ctx.focus_reading(fid, tp)
        if reading in ("absent", "none"):
            continue
        if reading == "pending":
            flags.append(f"{fid}: equivocal focus next to {lesion.id}, not counted yet (REC-N3)")
            continue
        if reading == "ne":
            focus_unknown = True
            continue
        focus_viable = True
        rules.append("APP-3" if ctx.ablated_before(lesion.id, tp.date) else "PRE-4")
        if reading == "retro":
            # §11.6: confirmed on a later study, so viable tissue of this lesion from here on;
            # the sums, the responses and the local status are revised together.
            rules.extend(("REC-N3", "ABL-9"))
            flags.append(f"{fid}: equivocal focus next to {lesion.id} confirmed later; counted from this study (§11.6)")
        if fo.status == "measured" and focus_diameter(ctx, fo) is not None:
            value = focus_diameter(ctx, fo)
            assert value is not None
            focus_values.append(value)
            notes.append(f"{fid}: viable focus at the site of {lesion.id}, {display_mm(value)} mm")
        elif fo.status == "too-small":
            focus_values.append(s.too_small_default_mm)
            notes.append(
                f"{fid}: viable focus at the zone of {lesion.id}, too small (counts {display_mm(s.too_small_default_mm)} mm)"
            )
        else:
            focus_unknown = True
            notes.append(f"{fid}: viable focus at the zone of {lesion.id} without a measurement")

    if own is None and o is None and focus_values and not focus_unknown:
        # Only the focus was recorded at this visit: the zone was examined, so the lesion's
        # own remaining viable tissue is taken as none.
        own = ZERO
        rules = [r for r in rules if r != "REC-NE2"]
        flags.append(f"{lesion.id}: no observation recorded; value taken from the focus next to it")
    if own is None or focus_unknown:
        viable = True if focus_viable else None
        return TargetValue(
            lesion.id, None, status, viable, lesion.is_node, tuple(dict.fromkeys(rules)), tuple(flags), tuple(notes)
        )

    if focus_values:
        combined = own + sum(focus_values, ZERO) if s.viable_fragment_rule == "sum" else max([own, *focus_values])
        measure = combined
        rules.append("MR-V3")
        notes.append(f"{lesion.id}: counts {display_mm(measure)} mm ({s.viable_fragment_rule} of its viable foci)")
    else:
        measure = own

    if o is not None:
        _flag_distant_own_tissue(ctx, lesion, tp, o, own, flags)
    viable = measure > ZERO if not lesion.is_node else None
    return TargetValue(
        lesion.id, measure, status, viable, lesion.is_node, tuple(dict.fromkeys(rules)), tuple(flags), tuple(notes)
    )


def nontarget_state(ctx: CaseContext, lesion: Lesion, tp: Timepoint) -> NonTargetState:
    s = ctx.settings
    o = ctx.observation(lesion.id, tp.id)
    status = o.status if o is not None else "not-evaluated"
    if not tp.imaging_done:
        return NonTargetState(
            lesion.id, "ne", status, rules=("REC-NE1",), notes=(f"{lesion.id}: no imaging at this visit",)
        )
    rules: list[str] = []
    flags: list[str] = []
    notes: list[str] = []
    measure: Decimal | None = None
    state = "ne"
    if o is None:
        notes.append(f"{lesion.id}: not evaluated")
        rules.append("REC-NE2")
    elif o.status == "absent":
        state = "absent"
        notes.append(f"{lesion.id}: absent")
    elif o.status in ("present", "measured", "too-small"):
        state = "present"
        notes.append(f"{lesion.id}: persists")
        if o.status == "measured":
            measure = criteria_diameter(ctx, lesion, o)
        if lesion.is_node and o.short_axis_mm is not None and node_is_normal(ctx, lesion, o.short_axis_mm):
            state = "absent"
            rules.append("MR-B5" if lesion.kind == "porta-hepatis-node" and s.is_mrecist else "REC-T1")
            notes[-1] = f"{lesion.id}: node short axis {display_mm(o.short_axis_mm)} mm, no longer pathological"
        elif s.is_mrecist and not lesion.is_node and o.status == "measured" and o.viable_diameter_mm == ZERO:
            state = "absent"
            rules.append("MR-V4")
            notes[-1] = f"{lesion.id}: no viable (enhancing) tissue"
    elif o.status == "progressed":
        state = "progressed"
        if lesion.kind == "effusion" and s.effusion_cytology_needed and o.cytology != "positive":
            state = "present"
            rules.append("MR-SP1")
            flags.append(f"{lesion.id}: effusion worse without positive cytology, not PD (MR-SP1)")
            notes.append(f"{lesion.id}: effusion worse, cytology {o.cytology or 'not recorded'}: not progression")
        else:
            rules.append("MR-SP3" if lesion.kind == "portal-vein-thrombus" else "REC-NT1")
            if lesion.kind == "effusion" and s.effusion_cytology_needed:
                rules.append("MR-SP1")
            notes.append(f"{lesion.id}: unequivocal progression")
    else:
        notes.append(f"{lesion.id}: not evaluable")
        rules.append("REC-NE2")

    if state in ("absent", "present") and not lesion.is_node and not ctx.viability_phase_ok(tp):
        state = "ne"
        rules.append("MR-O2")
        notes.append(f"{lesion.id}: viability phase not acquired, not evaluable")

    # APP-4: viable tissue at the zone of an ablated non-target keeps it at least IR/SD; it may be
    # recorded on the lesion itself (case-format.md) or as a focus next to it.
    if (
        state == "present"
        and o is not None
        and o.status in ("measured", "too-small", "present")
        and ctx.ablated_before(lesion.id, tp.date)
        and (o.gap_to_ablation_zone_mm is None or o.gap_to_ablation_zone_mm <= s.ltp_max_distance_mm)
    ):
        rules.append("APP-4")
        notes.append(f"{lesion.id}: viable tissue at its ablation zone")
    for fid in ctx.foci_of.get(lesion.id, ()):
        reading = ctx.focus_reading(fid, tp)
        if reading not in ("viable", "retro"):
            continue
        if state in ("absent", "ne"):
            state = "present"
        rules.append("APP-4" if ctx.ablated_before(lesion.id, tp.date) else "PRE-4")
        if reading == "retro":
            rules.extend(("REC-N3", "ABL-9"))
            notes.append(f"{fid}: equivocal focus at the ablation zone of non-target {lesion.id}, confirmed later (§11.6)")
        else:
            notes.append(f"{fid}: viable focus at the ablation zone of non-target {lesion.id}")
    return NonTargetState(lesion.id, state, status, measure, tuple(dict.fromkeys(rules)), tuple(flags), tuple(notes))
