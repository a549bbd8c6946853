"""Invariants of the engine, checked on generated cases (hypothesis).

- The result never depends on the order of lesions, observations or timepoints in the file.
- A lower follow-up sum never gives a worse target category (so never turns PR into PD).
- Under mRECIST (no absolute minimum) scaling every measurement leaves every category unchanged.
- Target CR under mRECIST happens exactly when every viable diameter is 0 (MR-T1).
- Exact thresholds: S = 0.7·B is always PR and S = 1.2·N always PD, for any decimal B, N (GEN-2).
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrecist_tool.model import Case, Lesion, Observation, Subject, Timepoint
from mrecist_tool.pipeline.tables import assessment_tables
from mrecist_tool.rules import assess_case
from mrecist_tool.rules.arith import meets_pr, meets_relative_pd

mm = st.integers(min_value=0, max_value=900).map(lambda n: Decimal(n) / 10)
positive_mm = st.integers(min_value=1, max_value=900).map(lambda n: Decimal(n) / 10)
STATUSES = st.sampled_from(["measured", "measured", "measured", "absent", "too-small", "not-evaluable"])
NT_STATUSES = st.sampled_from(["present", "absent", "progressed", "not-evaluable"])


@st.composite
def cases(draw: st.DrawFn, criteria: str = "mRECIST") -> Case:
    n_tp = draw(st.integers(2, 5))
    start = date(2021, 1, 4)
    gaps = draw(st.lists(st.integers(20, 120), min_size=n_tp - 1, max_size=n_tp - 1))
    dates = [start]
    for g in gaps:
        dates.append(dates[-1] + timedelta(days=g))
    tps = tuple(Timepoint(f"T{i}", d, baseline=(i == 0)) for i, d in enumerate(dates))
    n_t = draw(st.integers(1, 3))
    n_nt = draw(st.integers(0, 2))
    lesions = [Lesion(f"L{i}", "target", organ=("liver" if i < 2 else "lung")) for i in range(n_t)]
    lesions += [Lesion(f"N{i}", "non-target") for i in range(n_nt)]
    obs: list[Observation] = []
    key = "viable_diameter_mm" if criteria == "mRECIST" else "longest_diameter_mm"
    for lesion in lesions:
        for tp in tps:
            if lesion.role == "target":
                status = "measured" if tp.baseline else draw(STATUSES)
                fields = {key: draw(positive_mm if tp.baseline else mm)} if status == "measured" else {}
                obs.append(Observation(lesion.id, tp.id, status, **fields))
            else:
                status = "present" if tp.baseline else draw(NT_STATUSES)
                obs.append(Observation(lesion.id, tp.id, status))
    if draw(st.booleans()):
        new = Lesion("X1", "new", organ="lung")
        lesions.append(new)
        when = draw(st.sampled_from(tps[1:]))
        obs.append(Observation("X1", when.id, "present", equivocal=draw(st.booleans())))
    return Case(subject=Subject("P-1"), timepoints=tps, lesions=tuple(lesions), observations=tuple(obs), criteria=criteria)


def categories(case: Case) -> list[tuple[str, str, str, str]]:
    a = assess_case(case)
    return [
        (r.timepoint, r.target.category if r.target else "", r.nontarget.category if r.nontarget else "", r.overall.category if r.overall else "")
        for r in a.timepoints
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.randoms(use_true_random=False))
def test_result_never_depends_on_order(case: Case, rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = dataclasses.replace(
        case,
        lesions=tuple(rnd.sample(list(case.lesions), len(case.lesions))),
        observations=tuple(rnd.sample(list(case.observations), len(case.observations))),
        timepoints=tuple(rnd.sample(list(case.timepoints), len(case.timepoints))),
    )
    a, b = assess_case(case), assess_case(shuffled)
    assert assessment_tables([a]) == assessment_tables([b])
    assert a.best == b.best


BADNESS = {"CR": 0, "PR": 1, "SD": 2, "PD": 3}


@settings(max_examples=300, deadline=None)
@given(b=positive_mm, previous=mm, s=mm, lower=mm, criteria=st.sampled_from(["mRECIST", "RECIST1.1"]))
def test_lower_sum_never_worse(b: Decimal, previous: Decimal, s: Decimal, lower: Decimal, criteria: str) -> None:
    """Same history, two candidate sums at the last visit: the smaller is never judged worse."""
    lower = min(lower, s)
    key = "viable_diameter_mm" if criteria == "mRECIST" else "longest_diameter_mm"

    def last(value: Decimal) -> str:
        tps = (Timepoint("BL", date(2021, 1, 1), True), Timepoint("FU1", date(2021, 3, 1)), Timepoint("FU2", date(2021, 6, 1)))
        obs = (
            Observation("L1", "BL", "measured", **{key: b}),
            Observation("L1", "FU1", "measured", **{key: previous}),
            Observation("L1", "FU2", "measured", **{key: value}),
        )
        case = Case(Subject("P"), tps, (Lesion("L1", "target"),), obs, criteria=criteria)
        r = assess_case(case).timepoints[2]
        assert r.target is not None
        return r.target.category

    hi, lo = last(s), last(lower)
    assert BADNESS[lo] <= BADNESS[hi], (b, previous, s, lower, hi, lo)
    if hi == "PR":
        assert lo in ("PR", "CR")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(2, 7))
def test_MR_T4_scaling_leaves_mrecist_categories_unchanged(case: Case, k: int) -> None:
    factor = Decimal(k)
    scaled = dataclasses.replace(
        case,
        observations=tuple(
            dataclasses.replace(o, viable_diameter_mm=o.viable_diameter_mm * factor) if o.viable_diameter_mm is not None else o
            for o in case.observations
        ),
        settings={"too_small_default_mm": 0},  # the fixed 5 mm default would not scale
    )
    base = dataclasses.replace(case, settings={"too_small_default_mm": 0})
    assert categories(base) == categories(scaled)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_MR_T1_target_CR_iff_every_viable_diameter_zero(case: Case) -> None:
    a = assess_case(case)
    for r in a.timepoints[1:]:
        if r.target is not None and r.target.category == "CR":
            assert r.target_sum_mm == 0
        if r.target_sum_mm == 0 and r.target is not None:
            assert r.target.category == "CR"


@given(b=positive_mm, n=positive_mm)
def test_GEN2_exact_thresholds_for_any_decimal(b: Decimal, n: Decimal) -> None:
    assert meets_pr(b, b * Decimal("0.7"), Decimal(30))
    assert not meets_pr(b, b * Decimal("0.7") + Decimal("0.01"), Decimal(30))
    assert meets_relative_pd(n, n * Decimal("1.2"), Decimal(20))
    assert not meets_relative_pd(n, n * Decimal("1.2") - Decimal("0.01"), Decimal(20))
