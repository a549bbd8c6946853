"""Exact threshold arithmetic (GEN-1 to GEN-5).

Every threshold is decided by cross-multiplication on :class:`~decimal.Decimal` values, never by
dividing binary floats: ``42/35 - 1`` is ``0.19999999999999996`` in floats, which would miss an
exact +20 % increase.  Percentages are computed only for display.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def meets_pr(baseline: Decimal, current: Decimal, pr_threshold: Decimal) -> bool:
    """REC-T2 / MR-T2 (GEN-2, GEN-4): ``(B - S)·100 >= pr·B``, with B > 0."""
    if baseline <= ZERO:
        return False
    return (baseline - current) * HUNDRED >= pr_threshold * baseline


def meets_relative_pd(nadir: Decimal, current: Decimal, pd_rel_threshold: Decimal) -> bool:
    """REC-T3 / MR-T3 relative part (GEN-2, GEN-3): ``S - N > 0`` and ``(S - N)·100 >= 20·N``.

    The strict ``S - N > 0`` guard stops a persistent 0 from counting as a 0 % "increase" over a
    nadir of 0 (GEN-3).
    """
    increase = current - nadir
    return increase > ZERO and increase * HUNDRED >= pd_rel_threshold * nadir


def meets_absolute_pd(nadir: Decimal, current: Decimal, pd_abs_min: Decimal) -> bool:
    """REC-T3 absolute part (GEN-2, GEN-4): ``S - N >= 5`` mm (0 under mRECIST, MR-T4)."""
    return current - nadir >= pd_abs_min


def pct_change(reference: Decimal | None, current: Decimal | None) -> Decimal | None:
    """Percentage change for display; ``None`` when undefined (no reference or a reference of 0)."""
    if reference is None or current is None or reference == ZERO:
        return None
    return (current - reference) * HUNDRED / reference


def display_pct(value: Decimal | None) -> str:
    """GEN-5: round only for display, to one decimal (half away from zero)."""
    if value is None:
        return ""
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def display_mm(value: Decimal | None) -> str:
    """A length as written in the case file (exact), without exponent notation."""
    if value is None:
        return ""
    text = str(value)  # exact, as written or computed; only exponent forms need reformatting
    if "E" in text:
        text = format(value.normalize(), "f")
    return text
