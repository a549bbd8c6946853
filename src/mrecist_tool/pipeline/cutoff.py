"""A data cut-off: the case as it stood on a date (``mrecist analyze --cutoff DATE``).

An interim or final analysis is run on the data known at its cut-off date.  Cutting the case
*before* it is assessed keeps every rule honest: a later study cannot revise an earlier timepoint
(§11.6), confirm a response (REC-C1) or date back an equivocal lesion (REC-N3) when it happened
after the cut-off.  Everything after the date is left out and counted, so the report can say so:

* timepoints dated after the cut-off, with their observations;
* procedures dated after it; new lesions first seen after it;
* a death after it (the subject was alive at the cut-off: ``last_known_alive`` becomes the
  cut-off date, PJ-5);
* ``last_known_alive`` later than the cut-off is brought back to it;
* an end of study (``subject.end_of_study``) after it: the subject was still in the study.

A subject randomised (or with the baseline study) after the cut-off is not in the analysis
(:class:`AfterCutoff`).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from ..errors import MrecistError
from ..model import Case


class AfterCutoff(MrecistError, ValueError):
    """The subject entered the study after the cut-off date."""


IGNORED_KINDS = ("timepoints", "observations", "procedures", "new lesions", "deaths",
                 "study ends", "follow-up days")


def cut_case(case: Case, cutoff: date) -> tuple[Case, dict[str, int]]:
    """``case`` as known on ``cutoff`` and the counts of what was left out (IGNORED_KINDS)."""
    origin = case.subject.randomization_date or case.baseline.date
    if origin > cutoff or case.baseline.date > cutoff:
        raise AfterCutoff(f"randomised {origin.isoformat()}, after the data cut-off "
                          f"{cutoff.isoformat()}: not in this analysis")
    kept_tp = tuple(t for t in case.timepoints if t.date <= cutoff)
    kept_ids = {t.id for t in kept_tp}
    kept_obs = tuple(o for o in case.observations if o.timepoint in kept_ids)
    seen = {o.lesion for o in kept_obs}
    kept_lesions = tuple(les for les in case.lesions if les.role != "new" or les.id in seen)
    kept_names = {les.id for les in kept_lesions}
    kept_obs = tuple(o for o in kept_obs if o.lesion in kept_names)
    kept_proc = tuple(p for p in case.procedures if p.date <= cutoff)
    subject = case.subject
    ignored: dict[str, Any] = dict.fromkeys(IGNORED_KINDS, 0)
    if subject.death is not None and subject.death.date > cutoff:
        subject = dataclasses.replace(subject, death=None, last_known_alive=cutoff)
        ignored["deaths"] = 1
    if subject.end_of_study is not None and subject.end_of_study.date > cutoff:
        subject = dataclasses.replace(subject, end_of_study=None)
        ignored["study ends"] = 1
    if subject.last_known_alive is not None and subject.last_known_alive > cutoff:
        ignored["follow-up days"] = (subject.last_known_alive - cutoff).days
        subject = dataclasses.replace(subject, last_known_alive=cutoff)
    ignored["timepoints"] = len(case.timepoints) - len(kept_tp)
    ignored["observations"] = len(case.observations) - len(kept_obs)
    ignored["procedures"] = len(case.procedures) - len(kept_proc)
    ignored["new lesions"] = len(case.lesions) - len(kept_lesions)
    cut = dataclasses.replace(case, subject=subject, timepoints=kept_tp, observations=kept_obs,
                              lesions=kept_lesions, procedures=kept_proc)
    return cut, ignored
