"""Best overall response, confirmation and durations (REC-C1 to REC-C6, REC-D1; MR-O1).

Only assessments up to and including the first PD count (REC-C2); with
``bor_stop_at_new_therapy`` also only those before a new systemic therapy.  SD (and NON-CR/NON-PD
for non-target-only disease) counts only when met at least ``sd_min_days`` after the origin,
inclusive (REC-C3).  With ``confirmation_required`` a CR or PR needs the next evaluable
assessment at least ``confirm_min_days`` later, with no PD between and, unless
``allow_intervening_ne``, no NE between, and unless ``confirm_accept_intervening_sd``, no SD
between (REC-C1, REC-C4 Table 3, REC-C6, §11.8).  A scan dated on the day a new therapy starts
still counts (REC-C2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from .criteria import Settings
from .results import CR, NE, NON_CR_NON_PD, PD, PR, SD, BestResponse


@dataclass(frozen=True, slots=True)
class Visit:
    timepoint: str
    date: date
    category: str  # overall response at the timepoint
    cr_then_pr: bool = False  # REC-C5: a PR right after a CR (policy reclassify)


_STABLE = (SD, NON_CR_NON_PD)


def best_overall_response(
    visits: Sequence[Visit],
    *,
    origin: date,
    settings: Settings,
    has_targets: bool,
    new_therapy_date: date | None = None,
) -> BestResponse:
    s = settings
    ordered = sorted(visits, key=lambda v: v.date)
    progression = next((v for v in ordered if v.category == PD), None)
    seq: list[Visit] = []
    rules = ["REC-C2"] if not s.is_mrecist else ["REC-C2", "MR-O1"]
    notes: list[str] = []
    flags: list[str] = []
    for v in ordered:
        if s.bor_stop_at_new_therapy and new_therapy_date is not None and v.date > new_therapy_date:
            notes.append(f"assessments after new therapy on {new_therapy_date.isoformat()} ignored")
            break
        seq.append(v)
        if v.category == PD:
            break

    def day(v: Visit) -> int:
        return (v.date - origin).days

    def sd_ok(v: Visit) -> bool:
        return day(v) >= s.sd_min_days

    # REC-C5: a CR followed by PR.  Under "reclassify" the CR is taken as never real: PR.
    reclassified: set[int] = set()
    for i, v in enumerate(seq):
        if v.cr_then_pr:
            for j in range(i - 1, -1, -1):
                if seq[j].category == CR:
                    reclassified.add(j)
                elif seq[j].category != NE:
                    break
    if reclassified:
        rules.append("REC-C5")
        flags.append("CR followed by PR – reviewer decision (CR reclassified as PR)")

    def cat(i: int) -> str:
        return PR if i in reclassified else seq[i].category

    sd_min_met = any(sd_ok(v) for i, v in enumerate(seq) if cat(i) in (CR, PR, *_STABLE))
    stable_name = SD if has_targets else NON_CR_NON_PD

    best: str
    best_i: int | None = None
    confirmed: bool | None = None
    first_response: date | None = None
    if not s.confirmation_required:
        cats = [cat(i) for i in range(len(seq))]
        for wanted in (CR, PR):
            if wanted in cats:
                best_i = cats.index(wanted)
                best = wanted
                first_response = next(seq[i].date for i, c in enumerate(cats) if c in (CR, PR))
                break
        else:
            best, best_i = _no_response(seq, cats, sd_ok, stable_name, rules, notes)
    else:
        rules.extend(["REC-C1", "REC-C4"])
        best, best_i, first_response = _with_confirmation(seq, cat, sd_ok, stable_name, s, rules, notes, flags)
        confirmed = best in (CR, PR)
        if not has_targets and best == PR:
            best = NON_CR_NON_PD  # cannot happen for Table 2 categories; kept for safety (END-ORR-3)

    if best in _STABLE or (best in (PD, NE) and any(cat(i) in _STABLE for i in range(len(seq)))):
        rules.append("REC-C3")
    duration = None
    if first_response is not None and progression is not None and best in (CR, PR):
        duration = (progression.date - first_response).days
        rules.append("REC-D1")
    return BestResponse(
        category=best,
        confirmed=confirmed,
        timepoint=seq[best_i].timepoint if best_i is not None else None,
        first_response_date=first_response if best in (CR, PR) else None,
        progression_date=progression.date if progression else None,
        duration_of_response_days=duration,
        sd_min_met=sd_min_met,
        rules=tuple(dict.fromkeys(rules)),
        flags=tuple(flags),
        notes=tuple(notes),
    )


def _no_response(seq, cats, sd_ok, stable_name, rules, notes):
    """No CR/PR: SD if met at or after the minimum, else PD if progression, else NE."""
    for i, c in enumerate(cats):
        if c in _STABLE and sd_ok(seq[i]):
            return stable_name, i
    if any(c in _STABLE for c in cats):
        notes.append("stable disease only before the minimum duration (REC-C3)")
    for i, c in enumerate(cats):
        if c == PD:
            return PD, i
    return NE, None


def _with_confirmation(seq, cat, sd_ok, stable_name, s, rules, notes, flags):
    """Table 3 (REC-C4) with REC-C5 and REC-C6."""
    confirmed_cr: int | None = None
    confirmed_pr: int | None = None
    unconfirmed: list[int] = []
    for i in range(len(seq)):
        c = cat(i)
        if c not in (CR, PR):
            continue
        j = _confirming(seq, i, s, cat)
        if j is None:
            unconfirmed.append(i)
            continue
        cj = cat(j)
        if c == CR and cj == CR:
            confirmed_cr = i if confirmed_cr is None else confirmed_cr
        elif cj in (CR, PR):
            confirmed_pr = i if confirmed_pr is None else confirmed_pr
        else:
            unconfirmed.append(i)
    if confirmed_cr is not None:
        return CR, confirmed_cr, seq[confirmed_cr].date
    if confirmed_pr is not None:
        return PR, confirmed_pr, seq[confirmed_pr].date
    if unconfirmed:
        notes.append("response not confirmed")
        flags.append("response not confirmed")
    # Unconfirmed responses count as stable disease when the minimum is met (Table 3).
    for i in range(len(seq)):
        if cat(i) in (CR, PR, *_STABLE) and sd_ok(seq[i]):
            return stable_name, i, None
    # Table 3 "CR then SD/PD, minimum not met → PD"; "… then NE → NE".
    for i in range(len(seq)):
        if cat(i) == PD:
            return PD, i, None
    first_cr = next((i for i in range(len(seq)) if cat(i) == CR), None)
    if first_cr is not None:
        after = [k for k in range(first_cr + 1, len(seq)) if cat(k) != NE]
        if after and cat(after[0]) == SD:
            notes.append("CR followed by SD before the minimum duration: PD (REC-C4)")
            return PD, after[0], None
    return NE, None, None


def _confirming(seq: Sequence[Visit], i: int, s: Settings, cat: Callable[[int], str]) -> int | None:
    """REC-C6: the assessment that confirms (or breaks) the response at ``i``.

    The first CR/PR at least ``confirm_min_days`` later confirms it.  A PD before it, an NE when
    ``allow_intervening_ne`` is off, or an SD (NON-CR/NON-PD) breaks it — except one SD when
    ``confirm_accept_intervening_sd`` is on (admiralonco's ``accept_sd``).  Returns the index of
    the confirming or breaking assessment (the caller reads its category), or None.
    """
    start = seq[i]
    sd_accepted = False
    for j in range(i + 1, len(seq)):
        c = cat(j)
        far_enough = (seq[j].date - start.date).days >= s.confirm_min_days
        if c == PD:
            return j if far_enough else None
        if c == NE:
            if not s.allow_intervening_ne:
                return None
            continue
        if c in (CR, PR):
            if far_enough:
                return j
            continue  # too soon to confirm; a later response may
        if s.confirm_accept_intervening_sd and not sd_accepted:
            sd_accepted = True
            continue
        return j  # an intervening SD breaks the confirmation (§11.8)
    return None
