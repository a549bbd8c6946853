"""Cross-reference checks of a case file: what no single field can show.

Ids that must exist and be unique, exactly one baseline that is the earliest study, one study per
date, one observation per (lesion, timepoint), targets and non-targets chosen at baseline and new
lesions appearing after it, the diameter each ``measured`` observation needs under its criteria,
ablations naming their lesions, dates consistent with death.  Problems are *errors* when the
engine could not assess the case correctly and *warnings* for oddities a data manager should see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from .. import model as m
from ..errors import Problem
from ..rules.criteria import layered_criteria
from ..safe_files import OutsideFolderError, check_regular, resolve_inside
from .checks import Built, Checker
from .jsontext import os_reason


def _ids(ids: Iterable[str], limit: int = 12) -> str:
    items = sorted(ids)
    if not items:
        return "(none)"
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def effective_criteria(criteria: str | None, profile: str | None,
                       settings: Mapping[str, Any] | None) -> str:
    """The criteria a case is assessed under without command-line overrides.

    The precedence is decided in one place, :func:`mrecist_tool.rules.criteria.settings_layers`;
    values that are not criteria are skipped here (the checks report them).
    """
    return layered_criteria(profile=profile, case_criteria=criteria,
                            case_settings=settings if isinstance(settings, Mapping) else None)


def measurement_problems(file: str, lesions: Mapping[str, m.Lesion],
                         observations: Iterable[tuple[int, m.Observation]],
                         criteria: str) -> list[Problem]:
    """A ``measured`` observation must carry the diameter its criteria use (case-format.md)."""
    problems: list[Problem] = []
    mrecist = criteria == "mRECIST"
    for i, o in observations:
        if o.status != "measured":
            continue
        lesion = lesions.get(o.lesion)
        if lesion is None:
            continue
        path = f"$.observations[{i}]"
        if lesion.is_node:
            if o.short_axis_mm is None:
                problems.append(Problem(
                    file, path + ".short_axis_mm",
                    f"missing: lesion {o.lesion} is a lymph node with status 'measured', so it "
                    "needs its short axis in short_axis_mm (under either criteria)", "error",
                    "REC-S1"))
            continue
        key = "viable_diameter_mm" if mrecist else "longest_diameter_mm"
        if getattr(o, key) is not None:
            continue
        other = "longest_diameter_mm" if mrecist else "viable_diameter_mm"
        if mrecist:
            need = ("under mRECIST a measured lesion needs the longest diameter of its viable "
                    "(enhancing) tumour in viable_diameter_mm")
        else:
            need = ("under RECIST 1.1 a measured lesion needs its longest diameter in "
                    "longest_diameter_mm")
        hint = ""
        if getattr(o, other) is not None:
            hint = (f"; the observation has only {other}"
                    f"{' (RECIST 1.1 measurements?)' if mrecist else ' (mRECIST measurements?)'}")
        problems.append(Problem(file, f"{path}.{key}",
                                f"missing: status is 'measured' but {need}{hint}", "error",
                                "MR-V1" if mrecist else "REC-T1"))
    return problems


def cross_check(ck: Checker, built: Built, criteria: str, case_dir: Path | None) -> None:
    """Run every cross-reference check, appending to ``ck.problems``."""
    _unique(ck, built.timepoints, "timepoints", "timepoint")
    _unique(ck, built.lesions, "lesions", "lesion")
    _unique(ck, built.procedures, "procedures", "procedure")
    tps = {tp.id: tp for _, tp in built.timepoints}
    lesions = {les.id: les for _, les in built.lesions}
    baseline = _baseline(ck, built)
    _same_dates(ck, built)
    _procedures(ck, built)
    _observations(ck, built, tps, lesions, baseline, criteria, case_dir)
    if case_dir is not None:  # the procedures' margin inputs (added optional field, MAR)
        from .margin_inputs import check_margin_files

        for i, p in built.procedures:
            if p.margin is not None:
                check_margin_files(ck, p.margin, f"$.procedures[{i}].margin", case_dir)
    _subject_dates(ck, built)


def _unique(ck: Checker, items: list[tuple[int, Any]], where: str, what: str) -> dict[str, int]:
    first: dict[str, int] = {}
    for i, item in items:
        if item.id in first:
            ck.error(f"$.{where}[{i}].id", f"duplicate {what} id {item.id!r} (also used by "
                                           f"$.{where}[{first[item.id]}]); ids must be unique")
        else:
            first[item.id] = i
    return first


def _baseline(ck: Checker, built: Built) -> m.Timepoint | None:
    flagged = [(i, tp) for i, tp in built.timepoints if tp.baseline]
    if not flagged:
        if built.complete and built.timepoints:
            earliest = min(built.timepoints, key=lambda it: it[1].date)
            ck.error("$.timepoints", "no timepoint is marked as the baseline; add "
                                     f"\"baseline\": true to the earliest one "
                                     f"({earliest[1].id}, {earliest[1].date}); exactly one "
                                     "timepoint must be the baseline")
        return None
    i0, base = flagged[0]
    for i, tp in flagged[1:]:
        ck.error(f"$.timepoints[{i}].baseline",
                 f"{tp.id} is a second baseline (the first is {base.id} at $.timepoints[{i0}]); "
                 "exactly one timepoint may have \"baseline\": true")
    if len(flagged) > 1:
        return None
    earlier = [tp for _, tp in built.timepoints if tp.date < base.date]
    if earlier:
        first = min(earlier, key=lambda tp: tp.date)
        ck.error(f"$.timepoints[{i0}].baseline",
                 f"the baseline {base.id} ({base.date}) is not the earliest timepoint: "
                 f"{first.id} is on {first.date}; the baseline must be the earliest study")
    return base


def _same_dates(ck: Checker, built: Built) -> None:
    seen: dict[date, m.Timepoint] = {}
    today = date.today()
    for i, tp in built.timepoints:
        if tp.date > today or tp.date.year < 1980:
            ck.warn(f"$.timepoints[{i}].date", f"{tp.date} is "
                    f"{'in the future' if tp.date > today else 'before 1980'}; check the year")
        other = seen.get(tp.date)
        if other is not None and other.id != tp.id:
            ck.error(f"$.timepoints[{i}].date",
                     f"{tp.id} is on the same date as {other.id} ({tp.date}); two timepoints may "
                     "not share a date: record both studies as one timepoint")
        else:
            seen[tp.date] = tp


def _procedures(ck: Checker, built: Built) -> None:
    for i, p in built.procedures:
        for j, lid in enumerate(p.lesions):
            if lid not in built.lesion_ids and "lesions" in built.lists_ok:
                ck.error(f"$.procedures[{i}].lesions[{j}]",
                         f"unknown lesion id {lid!r}; the lesions are: {_ids(built.lesion_ids)}")
        if p.type == "systemic-therapy" and p.lesions:
            ck.warn(f"$.procedures[{i}].lesions",
                    "systemic therapy treats no particular lesion; this list is ignored")


def _observations(ck: Checker, built: Built, tps: Mapping[str, m.Timepoint],
                  lesions: Mapping[str, m.Lesion], baseline: m.Timepoint | None,
                  criteria: str, case_dir: Path | None) -> None:
    # Set operations first, a per-observation loop only where something may be wrong: a case
    # has many observations and reading 668 files must stay well under half a second.
    items = built.observations
    pairs = [(o.lesion, o.timepoint) for _, o in items]
    observed = {lid for lid, _ in pairs}
    lesion_ids = built.lesion_ids
    tp_ids = built.timepoint_ids
    if not observed <= lesion_ids and "lesions" in built.lists_ok:
        for i, o in items:
            if o.lesion not in lesion_ids:
                ck.error(f"$.observations[{i}].lesion", f"unknown lesion id {o.lesion!r}; the "
                                                        f"lesions are: {_ids(lesion_ids)}")
    if not {t for _, t in pairs} <= tp_ids and "timepoints" in built.lists_ok:
        for i, o in items:
            if o.timepoint not in tp_ids:
                ck.error(f"$.observations[{i}].timepoint", f"unknown timepoint id "
                                                           f"{o.timepoint!r}; the timepoints "
                                                           f"are: {_ids(tp_ids)}")
    if len(set(pairs)) != len(pairs):
        seen: dict[tuple[str, str], int] = {}
        for (i, o), key in zip(items, pairs, strict=True):
            if key in seen:
                ck.error(f"$.observations[{i}]",
                         f"a second observation of lesion {o.lesion} at timepoint "
                         f"{o.timepoint} (the first is $.observations[{seen[key]}]); record at "
                         "most one observation per lesion and timepoint")
            else:
                seen[key] = i
    at_baseline: set[str] = set()
    if baseline is not None:
        base_id, base_date = baseline.id, baseline.date
        at_baseline = {lid for lid, t in pairs if t == base_id}
        early = {tp.id for tp in tps.values() if tp.date <= base_date}
        for i, o in items:
            if o.timepoint not in early or o.lesion not in lesions:
                continue
            lesion, tp = lesions[o.lesion], tps[o.timepoint]
            if lesion.role == "new":
                when = "at the baseline" if tp.id == base_id else "before the baseline"
                ck.error(f"$.observations[{i}].timepoint",
                         f"new lesion {lesion.id} is observed {when} {tp.id} ({tp.date}); a "
                         "lesion seen at baseline is a target or non-target, and a new "
                         "lesion's first observation is where it first appeared after baseline")
            elif tp.date < base_date:
                ck.error(f"$.observations[{i}].timepoint",
                         f"{lesion.role} lesion {lesion.id} is observed at {tp.id} ({tp.date}), "
                         f"before the baseline {base_id} ({base_date}); targets and "
                         "non-targets are chosen at baseline")
    not_done = {tp.id for tp in tps.values() if tp.imaging == "not-done"}
    if not_done:
        for i, o in items:
            if o.timepoint in not_done:
                ck.warn(f"$.observations[{i}]", f"timepoint {o.timepoint} has \"imaging\": "
                                                "\"not-done\", so this observation is not used")
    ablated = {lid for _, p in built.procedures if p.type == "ablation" for lid in p.lesions}
    for i, o in items:
        if o.near_lesion is None and o.enhancement is None and not o.equivocal and \
                o.cytology is None and o.gap_to_ablation_zone_mm is None and o.geometry is None:
            status = o.status
            if status == "present" or status == "measured" or status == "too-small" or (
                    (status == "absent" or status == "not-evaluable") and
                    o.viable_diameter_mm is None and o.longest_diameter_mm is None and
                    o.short_axis_mm is None):
                continue  # nothing more to check on a plain observation
        path = f"$.observations[{i}]"
        known = lesions.get(o.lesion)
        if known is not None or o.near_lesion is not None:
            _observation_fields(ck, o, path, known, built, ablated)
        if o.geometry is not None and case_dir is not None:
            _masks_exist(ck, o.geometry, path, case_dir)
    ck.problems.extend(measurement_problems(ck.file, lesions, items, criteria))
    if baseline is not None and "observations" in built.lists_ok:
        for i, lesion in built.lesions:
            if lesion.role in ("target", "non-target") and lesion.id not in at_baseline and \
                    (lesion.id, baseline.id) not in built.observed_pairs:
                msg = (f"{lesion.role} lesion {lesion.id} has no observation at the baseline "
                       f"{baseline.id}; {lesion.role}s are chosen and recorded at baseline")
                if lesion.role == "target" and not ck.in_progress:
                    ck.error(f"$.lesions[{i}]", msg, "REC-B1")
                elif lesion.role == "target":
                    ck.warn(f"$.lesions[{i}]", msg + " (the reading is not finished)", "REC-B1")
                else:
                    ck.warn(f"$.lesions[{i}]", msg)
            elif lesion.role == "new" and lesion.id not in observed and built.complete:
                ck.warn(f"$.lesions[{i}]", f"new lesion {lesion.id} has no observation, so it "
                                           "is never counted")


def _masks_exist(ck: Checker, g: m.Geometry, path: str, case_dir: Path) -> None:
    """Each mask is a regular file inside the case folder once links are resolved.

    A mask reached through a symbolic link that leaves the folder is an error (case-format.md:
    mask paths "may not leave it"); a missing mask, or one that is not a regular file, is a
    warning (the assessment does not read masks; exports that do refuse them).
    """
    for key, mask in (("mask", g.mask), ("ablation_zone_mask", g.ablation_zone_mask)):
        if mask is None:
            continue
        where = f"{path}.geometry.{key}"
        try:
            target = resolve_inside(case_dir, mask)
        except OutsideFolderError as exc:
            ck.error(where, f"the mask {mask!r} leads outside the case file's folder through a "
                            f"symbolic link (it resolves to {exc.real}); masks must be inside "
                            "the case folder")
            continue
        except (OSError, ValueError) as exc:  # e.g. a path too long for the file system
            ck.warn(where, f"the mask {mask!r} cannot be looked up ({os_reason(exc)})")
            continue
        reason = check_regular(target)
        if reason == "no such file":
            ck.warn(where, f"the mask file {mask!r} does not exist in the case file's folder "
                           f"({case_dir})")
        elif reason is not None:
            ck.warn(where, f"the mask {mask!r} is {reason}")


def _observation_fields(ck: Checker, o: m.Observation, path: str, lesion: m.Lesion | None,
                        built: Built, ablated: set[str]) -> None:
    if o.near_lesion is not None:
        if o.near_lesion not in built.lesion_ids and "lesions" in built.lists_ok:
            ck.error(path + ".near_lesion", f"unknown lesion id {o.near_lesion!r}; the lesions "
                                            f"are: {_ids(built.lesion_ids)}")
        elif o.near_lesion == o.lesion:
            ck.error(path + ".near_lesion", f"names the observation's own lesion {o.lesion}; "
                                            "near_lesion is the ablated lesion a new focus lies "
                                            "next to")
        elif o.near_lesion not in ablated and built.complete:
            ck.warn(path + ".near_lesion", f"lesion {o.near_lesion} has no ablation procedure, "
                                           "so a focus next to it cannot be local tumour "
                                           "progression")
        if lesion is not None and lesion.role != "new":
            ck.warn(path + ".near_lesion", f"near_lesion is meant for new foci; lesion "
                                           f"{lesion.id} is a {lesion.role}")
    if lesion is None:
        return
    if o.status in ("absent", "not-evaluable"):
        for key in ("viable_diameter_mm", "longest_diameter_mm", "short_axis_mm"):
            if getattr(o, key) is not None:
                ck.warn(f"{path}.{key}", f"a diameter is recorded but the status is "
                                         f"{o.status!r}; the diameter is not used")
    if o.status == "progressed" and lesion.role == "target":
        ck.warn(path + ".status", "'progressed' is for non-target lesions; a target's "
                                  "progression is shown by its measurements")
    if lesion.role != "new" and (o.enhancement is not None or o.equivocal):
        key = "enhancement" if o.enhancement is not None else "equivocal"
        ck.warn(f"{path}.{key}", f"{key} is recorded for new lesions only; lesion {lesion.id} "
                                 f"is a {lesion.role}, so it is not used")
    if o.cytology is not None and lesion.kind != "effusion":
        ck.warn(path + ".cytology", f"cytology is recorded for effusions only; lesion "
                                    f"{lesion.id} is a {lesion.kind}")
    if o.gap_to_ablation_zone_mm is not None and o.near_lesion is None and \
            lesion.id not in ablated and built.complete:
        ck.warn(path + ".gap_to_ablation_zone_mm",
                f"a gap to the ablation zone is recorded but lesion {lesion.id} has no ablation "
                "procedure")


def _subject_dates(ck: Checker, built: Built) -> None:
    s = built.subject
    if s is None:
        return
    last_tp = max((tp for _, tp in built.timepoints), key=lambda tp: tp.date, default=None)
    if s.death is not None:
        death = s.death.date
        if s.randomization_date is not None and death < s.randomization_date:
            ck.error("$.subject.death.date", f"the death date {death} is before the "
                                             f"randomisation date {s.randomization_date}")
        if s.last_known_alive is not None and s.last_known_alive > death:
            ck.error("$.subject.last_known_alive",
                     f"last known alive {s.last_known_alive} is after the death date {death}")
        for i, tp in built.timepoints:
            if tp.date > death:
                ck.error(f"$.timepoints[{i}].date", f"timepoint {tp.id} ({tp.date}) is after "
                                                    f"the death date {death}")
        for i, p in built.procedures:
            if p.date > death:
                ck.error(f"$.procedures[{i}].date", f"procedure {p.id} ({p.date}) is after "
                                                    f"the death date {death}")
    if s.end_of_study is not None:
        _end_of_study(ck, built, s, s.end_of_study)
    if s.last_known_alive is not None and last_tp is not None and \
            s.last_known_alive < last_tp.date:
        ck.warn("$.subject.last_known_alive",
                f"last known alive {s.last_known_alive} is before the last study {last_tp.id} "
                f"({last_tp.date}); the subject was alive at every study")


def _end_of_study(ck: Checker, built: Built, s: m.Subject, end: m.EndOfStudy) -> None:
    """The end of study agrees with randomisation, death and the studies; a "death" reason
    without the death's date would leave OS censored, so it is an error."""
    path = "$.subject.end_of_study"
    if s.randomization_date is not None and end.date < s.randomization_date:
        ck.error(path + ".date", f"the end of study {end.date} is before the randomisation date "
                                 f"{s.randomization_date}")
    if end.reason == "death":
        if s.death is None:
            ck.error(path + ".reason", "the end of study is \"death\" but subject.death (its date "
                                       "and cause) is missing: overall survival would be censored")
        elif s.death.date != end.date:
            ck.warn(path + ".date", f"the end of study by death is dated {end.date}, the death "
                                    f"{s.death.date}")
    elif s.death is not None and s.death.date < end.date:
        ck.warn(path + ".reason", f"the subject died on {s.death.date}, before the end of study "
                                  f"({end.reason}) on {end.date}")
    for i, tp in built.timepoints:
        if tp.date > end.date:
            ck.warn(f"$.timepoints[{i}].date", f"timepoint {tp.id} ({tp.date}) is after the end "
                                               f"of study on {end.date}")
