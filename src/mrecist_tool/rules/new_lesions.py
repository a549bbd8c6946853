"""New lesions: when a new finding counts, when it is equivocal, and retroactive dating.

- Extrahepatic and RECIST 1.1 lesions: unequivocal unless the reader marks them equivocal
  (REC-N1); new nodes count from a short axis of 10 mm (REC-N5), porta hepatis nodes under
  mRECIST from 20 mm (MR-SP2); new effusions under mRECIST need positive cytology (MR-SP1).
- Intrahepatic lesions under mRECIST follow ``new_lesion_rule_liver``: the HCC typical pattern
  (MR-SP4: >= 10 mm with arterial hyperenhancement and washout, or an atypical lesion > 10 mm that
  grows >= 10 mm), a protocol pattern with a size floor (APP-2 ``size_and_pattern``), or RECIST's
  unequivocal rule (APP-2 ``recist_unequivocal``).
- A lesion that only later meets the criteria is dated back to its first detection when
  ``retro_date_equivocal_new_lesions`` is set (REC-N3, MR-SP5).

Foci next to an ablated lesion within ``ltp_max_distance_mm`` are not new lesions (APP-3): they are
excluded here (see :mod:`.context`); farther foci are new lesions, i.e. intrahepatic distant
progression when in the liver (ABL-6, APP-5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..model import Lesion, Observation, Timepoint
from .arith import display_mm
from .context import CaseContext
from .measure import focus_diameter

COUNTS, EQUIVOCAL, NOT_NEW = "counts", "equivocal", "no"


@dataclass(frozen=True, slots=True)
class Verdict:
    state: str  # counts | equivocal | no
    rules: tuple[str, ...]
    note: str


@dataclass
class NewLesionCourse:
    """One new lesion over time."""

    lesion: str
    intrahepatic: bool
    first_tp: str
    confirmed_tp: str | None = None  # first timepoint at which it met the criteria
    dated_tp: str | None = None  # the timepoint the progression is dated to (REC-N3)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    distant_note: str | None = None  # recorded next to an ablated lesion but beyond the LTP distance


def _size(ctx: CaseContext, o: Observation) -> Decimal | None:
    if o.status == "measured":
        return focus_diameter(ctx, o)
    if o.status == "too-small":
        return ctx.settings.too_small_default_mm
    return None


def judge(ctx: CaseContext, lesion: Lesion, o: Observation, first_size: Decimal | None) -> Verdict:
    """Does this new lesion count as a new lesion on this observation?"""
    s = ctx.settings
    size = _size(ctx, o)
    if o.equivocal:
        return Verdict(EQUIVOCAL, ("REC-N1",), f"{lesion.id}: marked equivocal by the reader; follow up")
    if lesion.kind == "effusion" and s.effusion_cytology_needed:
        if o.cytology == "positive":
            return Verdict(COUNTS, ("MR-SP1",), f"{lesion.id}: new effusion with positive cytology")
        if o.cytology == "negative":
            return Verdict(NOT_NEW, ("MR-SP1",), f"{lesion.id}: new effusion, cytology negative: not a new lesion")
        return Verdict(EQUIVOCAL, ("MR-SP1",), f"{lesion.id}: new effusion without cytology yet: equivocal")
    if lesion.is_node:
        porta = lesion.kind == "porta-hepatis-node" and s.is_mrecist
        floor = s.porta_hepatis_malignant_sa_mm if porta else s.node_path_sa_mm
        rule = "MR-SP2" if porta else "REC-N5"
        if o.short_axis_mm is None:
            return Verdict(EQUIVOCAL, (rule,), f"{lesion.id}: new node without a short axis: equivocal")
        if o.short_axis_mm >= floor:
            return Verdict(
                COUNTS,
                (rule,),
                f"{lesion.id}: new node, short axis {display_mm(o.short_axis_mm)} mm >= {display_mm(floor)} mm",
            )
        return Verdict(
            NOT_NEW,
            (rule,),
            f"{lesion.id}: node short axis {display_mm(o.short_axis_mm)} mm < {display_mm(floor)} mm: not pathological",
        )
    if not (s.is_mrecist and lesion.is_intrahepatic) or s.new_lesion_rule_liver == "recist_unequivocal":
        rule = "APP-2" if s.is_mrecist and lesion.is_intrahepatic else "REC-N1"
        return Verdict(COUNTS, (rule, "REC-N1"), f"{lesion.id}: unequivocal new lesion")

    # MR-SP4 (hcc_typical_pattern) or APP-2 size_and_pattern: a size floor and a pattern.
    rule = "MR-SP4" if s.new_lesion_rule_liver == "hcc_typical_pattern" else "APP-2"
    floor = s.new_lesion_min_ld_mm
    if o.enhancement == "typical":
        if size is None:
            return Verdict(EQUIVOCAL, (rule,), f"{lesion.id}: typical pattern but no size recorded: equivocal")
        if size >= floor:
            return Verdict(
                COUNTS,
                (rule,),
                f"{lesion.id}: {display_mm(size)} mm >= {display_mm(floor)} mm with the typical pattern",
            )
        return Verdict(
            EQUIVOCAL, (rule,), f"{lesion.id}: {display_mm(size)} mm < {display_mm(floor)} mm: equivocal, follow up"
        )
    if size is not None and first_size is not None and size > floor and size - first_size >= s.atypical_growth_mm:
        return Verdict(
            COUNTS,
            (rule,),
            f"{lesion.id}: atypical lesion {display_mm(size)} mm > {display_mm(floor)} mm grew "
            f"{display_mm(size - first_size)} mm >= {display_mm(s.atypical_growth_mm)} mm",
        )
    return Verdict(EQUIVOCAL, (rule,), f"{lesion.id}: atypical or unknown pattern without enough growth: equivocal")


def follow_new_lesions(ctx: CaseContext) -> list[NewLesionCourse]:
    courses: list[NewLesionCourse] = []
    order = ctx.order
    for lesion in ctx.new_lesions:
        if lesion.id in ctx.local_foci:
            continue
        first = ctx.first_seen(lesion.id)
        if first is None:
            continue
        course = NewLesionCourse(lesion.id, lesion.is_intrahepatic, first.id)
        first_obs = ctx.obs[(lesion.id, first.id)]
        first_size = _size(ctx, first_obs)
        if first_obs.near_lesion and first_obs.gap_to_ablation_zone_mm is not None:
            kind = "intrahepatic distant progression" if lesion.is_intrahepatic else "distant progression"
            course.distant_note = (
                f"{lesion.id}: {display_mm(first_obs.gap_to_ablation_zone_mm)} mm from the ablation zone of "
                f"{first_obs.near_lesion}, beyond ltp_max_distance_mm {display_mm(ctx.settings.ltp_max_distance_mm)}: "
                f"not LTP but {kind}, judged as a new lesion"
            )
        for tp in ctx.timepoints[order[first.id] :]:
            o = ctx.obs.get((lesion.id, tp.id))
            if o is None or not tp.imaging_done or o.status in ("absent", "not-evaluable"):
                continue
            verdict = judge(ctx, lesion, o, first_size)
            course.verdicts[tp.id] = verdict
            if verdict.state == COUNTS and course.confirmed_tp is None:
                course.confirmed_tp = tp.id
                retro = ctx.settings.retro_date_equivocal_new_lesions
                course.dated_tp = first.id if retro else tp.id
        courses.append(course)
    return courses


@dataclass(frozen=True, slots=True)
class NewLesionsAt:
    """New-lesion findings at one timepoint, after retroactive dating."""

    counted: tuple[str, ...]
    counted_intrahepatic: tuple[str, ...]
    counted_extrahepatic: tuple[str, ...]
    equivocal: tuple[str, ...]
    retro: tuple[str, ...]  # counted here only because of a later confirmation
    rules: tuple[str, ...]
    notes: tuple[str, ...]


_NONE = NewLesionsAt((), (), (), (), (), (), ())


def new_lesions_at(ctx: CaseContext, courses: list[NewLesionCourse], tp: Timepoint) -> NewLesionsAt:
    if not courses:
        return _NONE
    order = ctx.order
    here = order[tp.id]
    counted: list[str] = []
    intra: list[str] = []
    extra: list[str] = []
    equivocal: list[str] = []
    retro: list[str] = []
    rules: list[str] = []
    notes: list[str] = []
    for c in courses:
        if order[c.first_tp] > here:
            continue
        v = c.verdicts.get(tp.id)
        dated = c.dated_tp is not None and order[c.dated_tp] <= here
        if dated and (
            (v is not None and v.state == COUNTS) or (c.confirmed_tp is not None and order[c.confirmed_tp] >= here)
        ):
            counted.append(c.lesion)
            (intra if c.intrahepatic else extra).append(c.lesion)
            if c.distant_note:
                rules.extend(("ABL-6", "APP-5"))
                notes.append(c.distant_note)
            if v is not None and v.state == COUNTS:
                rules.extend(v.rules)
                notes.append(v.note)
            else:
                assert c.confirmed_tp is not None
                retro.append(c.lesion)
                rules.extend(("REC-N3", "MR-SP5") if ctx.settings.is_mrecist else ("REC-N3",))
                notes.append(
                    f"{c.lesion}: met the new-lesion criteria at {c.confirmed_tp}; progression dated back to its first detection ({c.first_tp})"
                )
        elif v is not None and v.state == EQUIVOCAL:
            equivocal.append(c.lesion)
            rules.extend(v.rules)
            notes.append(v.note)
        elif v is not None and v.state == NOT_NEW:
            rules.extend(v.rules)
            notes.append(v.note)
    return NewLesionsAt(
        tuple(counted),
        tuple(intra),
        tuple(extra),
        tuple(equivocal),
        tuple(retro),
        tuple(dict.fromkeys(rules)),
        tuple(notes),
    )
