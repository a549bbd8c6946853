"""Time-to-event endpoints of NCT04562727 (response-rules.md §6), per subject and per tumour.

Pure Python (standard library only): ``mrecist assess`` calls :func:`endpoint_columns` for every
subject, so importing this module must not pull in pandas or numpy.

Input rows are the ``subjects`` and ``ablations`` tables of
:func:`mrecist_tool.pipeline.tables.assessment_tables` (or the same rows read back from
``subjects.csv`` / ``ablations.csv``): values may be ``datetime.date``, ISO strings, ``bool``,
``"true"``/``"false"`` strings, or empty strings / ``None`` for missing.

Every endpoint row is "long format": one row per subject (or tumour) and endpoint, with the origin
date, the end date, the time in days and months (GEN-6: days / 30.4375), and an **event code**:

* ``0`` censored,
* ``1`` event,
* ``2`` competing event (a cause-specific analysis censors it; a cumulative-incidence
  analysis treats it as a competing risk).

Endpoints (names in the ``endpoint`` column):

========================  ======  ==================================================================
``OS``                    patient END-OS: death from any cause; censored at last known alive.
``DFS``                   patient END-DFS / §6.0: recurrence (LTP, IDP, EHP) or death due to disease
                                  (registry, default) — other-cause death competing; or death from
                                  any cause (``dfs_definition="datecan"``).
``CSS``                   patient END-CSS: cancer death; other-cause death competing (END-CSS-3).
``LTP``                   patient END-GEN-1: time to first LTP from randomisation; death competing;
                                  only tumours of the primary risk set count (§11.16, §11.17).
``LTPFS``                 patient END-LTPFS: first LTP or death from any cause.
``DISTANT``               patient PJ-1, PJ-4: time to distant progression — the first intrahepatic
                                  distant (ABL-6) or extrahepatic (ABL-7) progression; death without
                                  it competing (2); censored as DFS (END-GEN-3, END-GEN-4).
``LTP_TUMOUR``            tumour  END-LTP (primary): from the tumour's ablation; tumours with
                                  residual unablated tumour excluded (END-LTP-2); death competing;
                                  resection censors (§11.18).
``LTP_TUMOUR_ASSISTED``   tumour  END-LTP-2 secondary: also tumours completely ablated after
                                  re-treatment, origin the successful re-ablation.
``LTPFS_TUMOUR``          tumour  END-LTPFS per tumour: LTP or death; resection censors.
``LOCAL_CONTROL_TUMOUR``  tumour  END-LTP-5: local tumour control after repeat treatment, from the
                                  last ablation of the site; death competing.
========================  ======  ==================================================================
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

DAYS_PER_MONTH = 30.4375  # GEN-6

CENSORED, EVENT, COMPETING = 0, 1, 2

PATIENT_ENDPOINTS = ("OS", "DFS", "CSS", "LTP", "LTPFS", "DISTANT")
TUMOUR_ENDPOINTS = ("LTP_TUMOUR", "LTP_TUMOUR_ASSISTED", "LTPFS_TUMOUR", "LOCAL_CONTROL_TUMOUR")
ENDPOINT_LABELS = {
    "OS": "Overall survival",
    "DFS": "Disease-free survival",
    "CSS": "Cancer-specific survival",
    "LTP": "Time to first LTP (patient, from randomisation)",
    "LTPFS": "LTP-free survival (patient)",
    "LTP_TUMOUR": "Time to LTP (tumour, from ablation)",
    "LTP_TUMOUR_ASSISTED": "Time to LTP incl. assisted complete ablation (tumour)",
    "LTPFS_TUMOUR": "LTP-free survival (tumour, from ablation)",
    "DISTANT": "Time to distant progression (patient, intrahepatic distant or extrahepatic)",
    "LOCAL_CONTROL_TUMOUR": "Local tumour control after repeat treatment (tumour, from the last ablation)",
}
# Endpoints whose event code 2 marks a competing risk (cumulative incidence is the primary
# estimator, END-LTP-3, END-CSS); the others are analysed by Kaplan–Meier.
COMPETING_RISK_ENDPOINTS = frozenset({"DFS", "CSS", "LTP", "LTP_TUMOUR", "LTP_TUMOUR_ASSISTED", "DISTANT",
                                      "LOCAL_CONTROL_TUMOUR"})

LONG_COLUMNS = (
    "subject",
    "arm",
    "unit",
    "lesion",
    "endpoint",
    "origin_date",
    "end_date",
    "time_days",
    "time_months",
    "event",
    "event_type",
    "rules",
    "flags",
)


@functools.cache
def _default_settings() -> Any:
    """:class:`~mrecist_tool.rules.criteria.Settings` with its defaults, the one source of the
    defaults read here (a copy could drift from them without a word).  Imported when first
    needed: callers that pass their settings never need it."""
    from ..rules.criteria import Settings

    return Settings()


# -- value helpers ------------------------------------------------------------------------------


def _setting(settings: Any, name: str) -> Any:
    """Read one setting from a :class:`~mrecist_tool.rules.criteria.Settings`, a mapping or None."""
    if isinstance(settings, Mapping):
        if name in settings:
            return settings[name]
    elif settings is not None and hasattr(settings, name):
        return getattr(settings, name)
    return getattr(_default_settings(), name)


def parse_date(value: Any) -> date | None:
    """A ``date`` from a date, an ISO ``YYYY-MM-DD`` string (time part ignored) or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value if type(value) is date else date(value.year, value.month, value.day)
    text = str(value).strip()
    if not text or text.lower() in ("nan", "nat", "none"):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD, found {value!r}") from None


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ("true", "1", "yes", "y", "t")


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    return "" if text.lower() == "nan" else text


def _column(row: Mapping[str, Any], key: str) -> Any:
    """A column every current ``subjects``/``ablations`` row has.  Rows without it come from an
    older version (or were built by hand): reading it as empty would change the endpoint without
    saying so (e.g. END-GEN-4's censoring), so they are refused here.  (``mrecist analyze``
    refuses such a result set as a whole before this, naming every missing column.)"""
    try:
        return row[key]
    except KeyError:
        raise ValueError(f"no {key!r} column (a table of an older mrecist assess: assess the "
                         "case files again with this version)") from None


def _months(days: int) -> float:
    return round(days / DAYS_PER_MONTH, 4)


def origin_of(subject_row: Mapping[str, Any]) -> date | None:
    """END-GEN-1: randomisation date, else the ``origin_date`` column, else the baseline date."""
    for key in ("randomization_date", "origin_date", "baseline_date"):
        value = parse_date(subject_row.get(key))
        if value is not None:
            return value
    return None


def death_kind(subject_row: Mapping[str, Any], settings: Any = None) -> str:
    """``""`` (alive), ``"cancer"`` or ``"other"``, with unknown causes per END-CSS-3.

    END-CSS-3 [D]: the primary analysis counts deaths of unknown cause as cancer deaths
    (``css_unknown_cause="cancer"``); the sensitivity analysis as other-cause (``"other"``).
    A death with no recorded cause is a death of unknown cause.
    """
    if parse_date(subject_row.get("death_date")) is None:
        return ""
    cause = _text(subject_row.get("death_cause")).lower() or "unknown"
    if cause == "unknown":
        return "cancer" if _setting(settings, "css_unknown_cause") == "cancer" else "other"
    return "cancer" if cause == "cancer" else "other"


def _row(
    subject_row: Mapping[str, Any],
    endpoint: str,
    origin: date | None,
    end: date | None,
    event: int | None,
    event_type: str,
    rules: Iterable[str],
    flags: Iterable[str] = (),
    *,
    unit: str = "patient",
    lesion: str = "",
) -> dict[str, Any]:
    flags = list(flags)
    days: int | None = None
    if origin is not None and end is not None and event is not None:
        days = (end - origin).days
        if days < 0:
            # A date before the origin is a data error; keep the subject at day 0 and say so.
            flags.append(f"end date {end.isoformat()} before origin; time set to 0")
            days = 0
    return {
        "subject": _text(subject_row.get("subject")),
        "arm": _text(subject_row.get("arm")),
        "unit": unit,
        "lesion": lesion,
        "endpoint": endpoint,
        "origin_date": origin.isoformat() if origin else "",
        "end_date": end.isoformat() if end and event is not None else "",
        "time_days": days if days is not None else "",
        "time_months": _months(days) if days is not None else "",
        "event": event if event is not None and days is not None else "",
        "event_type": event_type,
        "rules": ";".join(dict.fromkeys(rules)),
        "flags": ";".join(flags),
    }


def _last_alive(subject_row: Mapping[str, Any]) -> date | None:
    """Latest date the subject is known to have been alive (END-OS censoring, PJ-5)."""
    candidates = [
        parse_date(subject_row.get(k))
        for k in ("last_known_alive", "last_imaging_date", "last_adequate_assessment_date")
    ]
    known = [d for d in candidates if d is not None]
    return max(known) if known else None


def _imaging_censor(subject_row: Mapping[str, Any], origin: date) -> tuple[date, list[str]]:
    """END-GEN-3: last adequate assessment without an event; day 0 if none after baseline."""
    if not parse_bool(_column(subject_row, "has_post_baseline_assessment")):
        return origin, ["END-GEN-3"]
    last = parse_date(subject_row.get("last_adequate_assessment_date"))
    if last is None or last < origin:
        return origin, ["END-GEN-3"]
    return last, ["END-GEN-3"]


def schedule_of(settings: Any) -> tuple[tuple[int, int | None], ...]:
    """The imaging schedule (``assessment_schedule``, §11.13) as ``((interval, until), ...)``."""
    value = _setting(settings, "assessment_schedule")
    out: list[tuple[int, int | None]] = []
    for interval, until in value:
        out.append((int(interval), None if until in (None, "") else int(until)))
    return tuple(out)


def due_assessments(
    origin: date, schedule: tuple[tuple[int, int | None], ...], until: date
) -> list[tuple[date, int]]:
    """Scheduled assessments from the origin up to ``until``: ``(due date, interval)`` pairs.

    Each segment ``(interval, end)`` schedules a visit every ``interval`` days, counted from the
    end of the previous segment (the first from the origin), up to day ``end`` inclusive; only
    the last may be open-ended.  The default gives days 90, 180, …, 720, then 910, 1090, …
    """
    out: list[tuple[date, int]] = []
    start = 0
    for interval, end in schedule:
        day = start + interval
        while end is None or day <= end:
            when = origin + timedelta(days=day)
            if when > until:
                return out
            out.append((when, interval))
            day += interval
        start = end
    return out


def missed_assessments(
    last_assessment: date | None,
    event_date: date,
    origin: date,
    schedule: tuple[tuple[int, int | None], ...],
) -> int:
    """END-GEN-4 / §11.14: scheduled assessments missed between the last adequate one and an event.

    A visit due on day D of a segment with interval I is served by an assessment within I/2 of
    D; it counts as missed when it was due after the last assessment (more than I/2 later) and
    its window closed (D + I/2) before the event.  Exact in whole days: ``2·(D − last) > I`` and
    ``2·(event − D) > I``.  No adequate assessment lies between ``last_assessment`` and the event,
    so the missed visits are consecutive.
    """
    if last_assessment is None or event_date <= last_assessment:
        return 0
    count = 0
    for due, interval in due_assessments(origin, schedule, event_date):
        if 2 * (due - last_assessment).days > interval and 2 * (event_date - due).days > interval:
            count += 1
    return count


def _dates(value: Any) -> list[date]:
    return sorted(d for d in (parse_date(x) for x in _text(value).split(";")) if d is not None)


def _last_before(
    subject_row: Mapping[str, Any], origin: date, event_date: date, *, key: str, inclusive: bool
) -> date:
    """The last adequate assessment before an event (the event's own study excluded, or
    included with ``inclusive``), from the ``key`` column of dates; the baseline when none."""
    dates = _dates(_column(subject_row, key))
    before = [d for d in dates if d < event_date or (inclusive and d == event_date)]
    if before:
        return before[-1]
    return parse_date(subject_row.get("baseline_date")) or origin


def _gap_rule(
    subject_row: Mapping[str, Any],
    origin: date,
    event_date: date,
    settings: Any,
    *,
    key: str = "assessment_dates",
    death: bool = False,
) -> tuple[bool, list[str], date | None]:
    """END-GEN-4 for one path into an event or a competing death (§11.9, §11.14).

    Returns (censor instead?, flags, censoring date).  The gap is measured from the last
    adequate assessment before the event — for an imaging event its own study is excluded, for a
    death a study on the day of death counts — against the schedule ``assessment_schedule``.
    ``missed_assessments_policy="count_event"`` (primary) keeps the event and flags it;
    ``"censor_before_gap"`` (sensitivity) censors at that last assessment.
    """
    last = _last_before(subject_row, origin, event_date, key=key, inclusive=death)
    return _gap_verdict(last, event_date, origin, settings, death=death)


def _gap_verdict(
    last: date, event_date: date, schedule_origin: date, settings: Any, *, death: bool, of: str = ""
) -> tuple[bool, list[str], date | None]:
    """END-GEN-4's decision once the last adequate assessment before the event is known: two or
    more scheduled assessments missed between them (the schedule counted from
    ``schedule_origin``) censor at ``last`` (sensitivity policy) or flag the counted event
    (primary).  ``of`` names whose assessments, for the flag ("" for the patient's)."""
    missed = missed_assessments(last, event_date, schedule_origin, schedule_of(settings))
    if missed < 2:
        return False, [], None
    what = "death" if death else "event"
    if _setting(settings, "missed_assessments_policy") == "censor_before_gap":
        return True, [f"END-GEN-4: censored before {missed} missed assessments{of}"], max(last, schedule_origin)
    return False, [f"END-GEN-4: {what} after {missed} missed assessments{of} (counted)"], None


# -- patient-level endpoints --------------------------------------------------------------------


def os_row(subject_row: Mapping[str, Any], settings: Any = None) -> dict[str, Any]:
    """END-OS: death from any cause is the event; alive subjects censored at last known alive."""
    origin = origin_of(subject_row)
    death = parse_date(subject_row.get("death_date"))
    if origin is None:
        return _row(subject_row, "OS", None, None, None, "no origin date", ["END-GEN-1"])
    if death is not None:
        return _row(subject_row, "OS", origin, death, EVENT, "death", ["END-OS", "END-GEN-2"])
    last = _last_alive(subject_row) or origin
    return _row(subject_row, "OS", origin, last, CENSORED, "alive", ["END-OS", "PJ-5"])


def dfs_row(subject_row: Mapping[str, Any], settings: Any = None) -> dict[str, Any]:
    """END-DFS with the trial's registry definition (§6.0) or the DATECAN variant.

    * Event (1): the first recurrence — LTP (ABL-5), intrahepatic distant (ABL-6) or extrahepatic
      progression (ABL-7) — dated by the imaging study that first shows it (END-GEN-2).
    * Death before any recurrence: ``dfs_definition="registry"`` (default): an event when due to
      the disease (unknown cause per END-CSS-3), a competing event (2) when from another cause;
      ``"datecan"``: an event whatever the cause.
    * END-DFS-4 [D]: never disease-free (residual unablated tumour not successfully re-treated)
      is an event at day 0 (``dfs_never_disease_free="event_day0"``) or the subject is left out
      of DFS (``"exclude"``: the row has an empty event and says why).
    * END-GEN-3: otherwise censored at the last adequate disease assessment; day 0 when there is
      no post-baseline assessment.
    * END-GEN-4: an event after two or more missed scheduled assessments is counted
      (``missed_assessments_policy="count_event"``) or censored at the last assessment before the
      gap (``"censor_before_gap"``).
    """
    origin = origin_of(subject_row)
    if origin is None:
        return _row(subject_row, "DFS", None, None, None, "no origin date", ["END-GEN-1"])
    definition = _setting(settings, "dfs_definition")
    rules = ["END-DFS", "§6.0" if definition == "registry" else "PJ-4"]
    if parse_bool(subject_row.get("never_disease_free")):
        if _setting(settings, "dfs_never_disease_free") == "exclude":
            return _row(
                subject_row, "DFS", origin, None, None, "excluded: never disease-free",
                [*rules, "END-DFS-4"], ["never disease-free (END-DFS-4)"],
            )
        return _row(
            subject_row, "DFS", origin, origin, EVENT, "never disease-free",
            [*rules, "END-DFS-4"], ["never disease-free (END-DFS-4)"],
        )
    recurrence = parse_date(subject_row.get("first_recurrence_date"))
    death = parse_date(subject_row.get("death_date"))
    kind = death_kind(subject_row, settings)

    if recurrence is not None and (death is None or recurrence <= death):
        censor, flags, at = _gap_rule(subject_row, origin, recurrence, settings)
        if censor and at is not None:
            return _row(subject_row, "DFS", origin, at, CENSORED, "censored before gap",
                        [*rules, "END-GEN-4"], flags)
        kinds = _text(subject_row.get("first_recurrence_kinds")) or "recurrence"
        return _row(subject_row, "DFS", origin, recurrence, EVENT, kinds,
                    [*rules, "END-GEN-2", *(["END-GEN-4"] if flags else [])], flags)
    if death is not None:
        if definition == "datecan" or kind == "cancer":
            censor, flags, at = _gap_rule(subject_row, origin, death, settings, death=True)
            if censor and at is not None:
                return _row(subject_row, "DFS", origin, at, CENSORED, "censored before gap",
                            [*rules, "END-GEN-4"], flags)
            label = "death" if definition == "datecan" else "death (disease)"
            return _row(subject_row, "DFS", origin, death, EVENT, label,
                        [*rules, "END-CSS-3", *(["END-GEN-4"] if flags else [])], flags)
        censor, flags, at = _gap_rule(subject_row, origin, death, settings, death=True)
        if censor and at is not None:
            return _row(subject_row, "DFS", origin, at, CENSORED, "censored before gap",
                        [*rules, "END-GEN-4"], flags)
        return _row(subject_row, "DFS", origin, death, COMPETING, "death (other cause)",
                    [*rules, "END-CSS-3", *(["END-GEN-4"] if flags else [])], flags)
    end, censor_rules = _imaging_censor(subject_row, origin)
    return _row(subject_row, "DFS", origin, end, CENSORED, "censored", [*rules, *censor_rules])


def css_row(subject_row: Mapping[str, Any], settings: Any = None) -> dict[str, Any]:
    """END-CSS: cancer death is the event; other-cause death competing (2); censored at last alive.

    END-CSS-3 [D]: deaths of unknown cause count as cancer deaths unless
    ``css_unknown_cause="other"`` (sensitivity analysis).
    """
    origin = origin_of(subject_row)
    if origin is None:
        return _row(subject_row, "CSS", None, None, None, "no origin date", ["END-GEN-1"])
    death = parse_date(subject_row.get("death_date"))
    if death is not None:
        kind = death_kind(subject_row, settings)
        code = EVENT if kind == "cancer" else COMPETING
        cause = _text(subject_row.get("death_cause")) or "unknown"
        return _row(subject_row, "CSS", origin, death, code, f"death ({cause})",
                    ["END-CSS", "END-CSS-3"])
    last = _last_alive(subject_row) or origin
    return _row(subject_row, "CSS", origin, last, CENSORED, "alive", ["END-CSS", "PJ-5"])


def ltp_patient_row(subject_row: Mapping[str, Any], settings: Any = None) -> dict[str, Any]:
    """Time to first LTP per patient from randomisation (END-GEN-1; §6.0 "LTP" per patient).

    PJ-4 "time to X": the first LTP of a tumour in the per-tumour primary risk set is the event
    (§11.16); death without LTP is a competing event (2); otherwise censored at the last study at
    which every zone still at risk was adequately imaged (§11.17).  IDP or EHP do not end
    follow-up for LTP.  A patient with no tumour in that risk set is left out (empty event).
    """
    return _first_ltp_row(subject_row, settings, "LTP", ["END-LTP", "END-GEN-1", "PJ-4"], death_is_event=False)


def ltpfs_patient_row(subject_row: Mapping[str, Any], settings: Any = None) -> dict[str, Any]:
    """END-LTPFS per patient: first LTP or death from any cause (PJ-4 "X-free survival")."""
    return _first_ltp_row(subject_row, settings, "LTPFS", ["END-LTPFS", "PJ-4"], death_is_event=True)


def _ltp_censor(subject_row: Mapping[str, Any], origin: date) -> tuple[date, list[str]]:
    """§11.17: the last study at which every zone still at risk was adequately imaged."""
    end = parse_date(_column(subject_row, "ltp_censor_date"))
    if not parse_bool(_column(subject_row, "has_post_baseline_assessment")) or end is None or end < origin:
        return origin, ["END-GEN-3", "§11.17"]
    return end, ["END-GEN-3", "§11.17"]


def _first_ltp_row(
    subject_row: Mapping[str, Any], settings: Any, endpoint: str, rules: list[str], *, death_is_event: bool
) -> dict[str, Any]:
    """First LTP per patient; PJ-4: death before it is competing ("time to") or an event ("-free")."""
    origin = origin_of(subject_row)
    if origin is None:
        return _row(subject_row, endpoint, None, None, None, "no origin date", ["END-GEN-1"])
    if not parse_bool(_column(subject_row, "ltp_risk_set")):
        # §11.16: every ablated tumour is excluded from the primary LTP analysis (END-LTP-2), or
        # none was ablated: the patient is left out, not censored.
        return _row(subject_row, endpoint, origin, None, None, "not in the LTP risk set",
                    [*rules, "END-LTP-2", "§11.16"], ["no tumour in the primary LTP risk set"])
    ltp = parse_date(_column(subject_row, "first_ltp_primary_date"))
    death = parse_date(subject_row.get("death_date"))
    risk_end = parse_date(subject_row.get("ltp_risk_end_date"))
    key = "ltp_assessment_dates"
    if ltp is not None and (death is None or ltp <= death):
        censor, flags, at = _gap_rule(subject_row, origin, ltp, settings, key=key)
        if censor and at is not None:
            return _row(subject_row, endpoint, origin, at, CENSORED, "censored before gap",
                        [*rules, "END-GEN-4"], flags)
        return _row(subject_row, endpoint, origin, ltp, EVENT, "LTP",
                    [*rules, "END-GEN-2", *(["END-GEN-4"] if flags else [])], flags)
    if death is not None and (risk_end is None or death <= risk_end):
        censor, flags, at = _gap_rule(subject_row, origin, death, settings, key=key, death=True)
        if censor and at is not None:
            return _row(subject_row, endpoint, origin, at, CENSORED, "censored before gap",
                        [*rules, "END-GEN-4"], flags)
        extra = ["END-GEN-4"] if flags else []
        if death_is_event:
            return _row(subject_row, endpoint, origin, death, EVENT, "death", [*rules, *extra], flags)
        return _row(subject_row, endpoint, origin, death, COMPETING, "death without LTP", [*rules, *extra], flags)
    end, censor_rules = _ltp_censor(subject_row, origin)
    if risk_end is not None:
        censor_rules = [*censor_rules, "§11.18"]
    return _row(subject_row, endpoint, origin, end, CENSORED, "censored", [*rules, *censor_rules])


def distant_row(subject_row: Mapping[str, Any], settings: Any = None) -> dict[str, Any]:
    """Time to distant progression per patient from randomisation (PJ-1, PJ-4 "time to X").

    * Event (1): the first intrahepatic distant (ABL-6) or extrahepatic (ABL-7) progression,
      dated by the study that first shows it (END-GEN-2); LTP does not end follow-up.
    * Death without it: a competing event (2) whatever its cause (PJ-4: in a "time to X"
      endpoint death is not an event); ``event_type`` names the cause.
    * END-GEN-3: otherwise censored at the last adequate disease assessment, day 0 without one.
    * END-GEN-4: after two or more missed scheduled assessments the event or death counts
      (primary) or is censored at the last assessment before the gap (sensitivity), as in DFS.
    """
    origin = origin_of(subject_row)
    rules = ["PJ-1", "PJ-4"]
    if origin is None:
        return _row(subject_row, "DISTANT", None, None, None, "no origin date", ["END-GEN-1"])
    dated: dict[str, date] = {}
    for kind, column in (("IDP", "first_idp_date"), ("EHP", "first_ehp_date")):
        when = parse_date(subject_row.get(column))
        if when is not None:
            dated[kind] = when
    first = min(dated.values(), default=None)
    death = parse_date(subject_row.get("death_date"))
    if first is not None and (death is None or first <= death):
        censor, flags, at = _gap_rule(subject_row, origin, first, settings)
        if censor and at is not None:
            return _row(subject_row, "DISTANT", origin, at, CENSORED, "censored before gap",
                        [*rules, "END-GEN-4"], flags)
        kinds = ";".join(k for k, d in dated.items() if d == first)
        return _row(subject_row, "DISTANT", origin, first, EVENT, kinds,
                    [*rules, "ABL-6" if "IDP" in kinds else "ABL-7", "END-GEN-2",
                     *(["END-GEN-4"] if flags else [])], flags)
    if death is not None:
        censor, flags, at = _gap_rule(subject_row, origin, death, settings, death=True)
        if censor and at is not None:
            return _row(subject_row, "DISTANT", origin, at, CENSORED, "censored before gap",
                        [*rules, "END-GEN-4"], flags)
        cause = "disease" if death_kind(subject_row, settings) == "cancer" else "other cause"
        return _row(subject_row, "DISTANT", origin, death, COMPETING,
                    f"death without distant progression ({cause})",
                    [*rules, *(["END-GEN-4"] if flags else [])], flags)
    end, censor_rules = _imaging_censor(subject_row, origin)
    return _row(subject_row, "DISTANT", origin, end, CENSORED, "censored", [*rules, *censor_rules])


def subject_endpoints(subject_row: Mapping[str, Any], settings: Any = None) -> list[dict[str, Any]]:
    """All patient-level endpoint rows (OS, DFS, CSS, LTP, LTPFS, DISTANT) of one subject."""
    return [
        os_row(subject_row, settings),
        dfs_row(subject_row, settings),
        css_row(subject_row, settings),
        ltp_patient_row(subject_row, settings),
        ltpfs_patient_row(subject_row, settings),
        distant_row(subject_row, settings),
    ]


def endpoint_columns(subject_row: Mapping[str, Any], settings: Any = None) -> dict[str, Any]:
    """Patient-level endpoint columns for ``subjects.csv``.

    Returns ``os_days, os_event, dfs_days, dfs_event, css_days, css_event, ltp_days, ltp_event,
    ltpfs_days, ltpfs_event, distant_days, distant_event``; days are integers, events 0/1/2, empty strings when not defined
    (no origin date, or DFS excluded under END-DFS-4).
    """
    out: dict[str, Any] = {}
    for row in subject_endpoints(subject_row, settings):
        key = row["endpoint"].lower()
        out[f"{key}_days"] = row["time_days"]
        out[f"{key}_event"] = row["event"]
    return out


# -- tumour-level endpoints ---------------------------------------------------------------------


def _zone_gap_rule(
    ablation_row: Mapping[str, Any],
    subject_row: Mapping[str, Any],
    origin: date,
    event_date: date,
    settings: Any,
    *,
    death: bool,
) -> tuple[bool, list[str], date | None]:
    """END-GEN-4 for a per-tumour row (§11.9, §11.14; the project's reading of END-LTP).

    As :func:`_gap_rule`, but the last adequate assessment is the last adequate contrast imaging
    of this ablation zone before the event (``adequate_imaging_dates``; a study on the day of a
    death counts), not before the tumour's origin (else the origin itself).  The schedule runs
    from the patient's origin (randomisation): the visits are the patient's.
    """
    imaged = _dates(_column(ablation_row, "adequate_imaging_dates"))
    before = [d for d in imaged if d < event_date or (death and d == event_date)]
    last = max(before[-1], origin) if before else origin
    censor, flags, _ = _gap_verdict(last, event_date, origin_of(subject_row) or origin, settings,
                                    death=death, of=" of the zone")
    return censor, flags, last if censor else None


def tumour_endpoints(
    ablation_row: Mapping[str, Any],
    subject_row: Mapping[str, Any],
    settings: Any = None,
) -> list[dict[str, Any]]:
    """Per-tumour LTP endpoints of one ablated tumour (PJ-1, PJ-2, END-LTP), long format.

    * ``LTP_TUMOUR`` (primary, END-LTP-2): tumours whose first follow-up showed complete
      ablation (primary technique efficacy), origin the first ablation date.  Event the first LTP
      (ABL-5, dated per ABL-9); competing (2) death without LTP; censored at the resection of the
      ablated area (§11.18) or at the last adequate contrast imaging of that zone (PJ-5, §11.17).
      The project's reading of END-LTP-2 and PJ-2: a tumour with no adequate follow-up (technique
      efficacy not evaluable, no residual tumour seen) is in the risk set from its ablation; it
      ends as a competing death if the patient died, else censored at the ablation (no time).
    * ``LTP_TUMOUR_ASSISTED`` (secondary, END-LTP-2): also tumours completely ablated after
      re-treatment of residual tumour; origin ``ltp_origin_date`` (the successful re-ablation).
    * ``LTPFS_TUMOUR`` (END-LTPFS): LTP or death from any cause; resection censors.
    * ``LOCAL_CONTROL_TUMOUR`` (END-LTP-5, §11.12): local tumour control after repeat treatment;
      origin the last ablation of the site, event the first LTP after its clean follow-up, death
      competing, censored as LTP.  A tumour never re-ablated has the ``LTP_TUMOUR`` origin and
      event; one with tumour at the first follow-up after its last ablation is left out.
    * END-GEN-4 (the project's reading of §11.9 for the per-tumour unit): the sensitivity
      analysis censors an LTP or a death after two or more missed scheduled assessments at the
      last adequate imaging of the zone before the gap (:func:`_zone_gap_rule`).

    A tumour outside a row's risk set (residual never cleared, or tumour after its last
    ablation) gets that row with an empty event saying why, so it is counted but not analysed.
    """
    lesion = _text(ablation_row.get("lesion"))
    first_ablation = parse_date(ablation_row.get("first_ablation_date"))
    if first_ablation is None:
        dates = [d for d in _text(ablation_row.get("ablation_dates")).split(";") if d.strip()]
        first_ablation = parse_date(dates[0]) if dates else None
    risk_origin = parse_date(ablation_row.get("ltp_origin_date"))
    residual = parse_date(ablation_row.get("residual_date"))
    efficacy = _text(ablation_row.get("technique_efficacy"))
    # END-LTP-2 / PJ-2, the project's reading: no adequate follow-up is not residual tumour.
    unfollowed = risk_origin is None and residual is None and efficacy == "not-evaluable"
    primary_ok = (risk_origin is not None and residual is None and efficacy != "assisted-success") or unfollowed
    ltp = parse_date(ablation_row.get("ltp_date"))
    resected = parse_date(ablation_row.get("resected_date"))
    death = parse_date(subject_row.get("death_date"))
    last_img = parse_date(ablation_row.get("last_adequate_imaging_date"))

    def one(endpoint: str, origin: date | None, free_survival: bool, *, event_date: date | None,
            base_rules: list[str], reason: str, no_followup: bool = False) -> dict[str, Any]:
        rules = [*base_rules, "PJ-1", "PJ-2"] + (["END-LTPFS"] if free_survival else [])
        if origin is None:
            return _row(subject_row, endpoint, None, None, None, reason, [*rules, "END-LTP-2"],
                        unit="tumour", lesion=lesion)
        extra = ["END-LTP-2"] if no_followup else []
        flags = ["no adequate follow-up of the zone: in the risk set from the ablation (END-LTP-2, PJ-2)"] \
            if no_followup else []
        events: list[tuple[date, int, str]] = []
        if event_date is not None and event_date >= origin:
            events.append((event_date, EVENT, "LTP"))
        if death is not None and death >= origin:
            events.append((death, EVENT if free_survival else COMPETING, "death"))
        if resected is not None:
            # §11.18: resection of the zone is neither LTP nor death: censored at its date.
            events.append((resected, CENSORED, "resection"))
        if events:
            # Same-day ties: LTP first (it was seen on imaging), then death, then resection.
            end, code, label = min(events, key=lambda e: (e[0], ["LTP", "death", "resection"]
                                                          .index(e[2])))
            if code != CENSORED:
                censor, gap_flags, at = _zone_gap_rule(ablation_row, subject_row, origin, end, settings,
                                                       death=label == "death")
                if censor and at is not None:
                    return _row(subject_row, endpoint, origin, at, CENSORED, "censored before gap",
                                [*rules, *extra, "END-GEN-4"], [*flags, *gap_flags],
                                unit="tumour", lesion=lesion)
                if gap_flags:
                    rules, flags = [*rules, "END-GEN-4"], [*flags, *gap_flags]
            else:
                rules = [*rules, "§11.18"]
            return _row(subject_row, endpoint, origin, end, code, label, [*rules, *extra], flags,
                        unit="tumour", lesion=lesion)
        if no_followup:
            return _row(subject_row, endpoint, origin, origin, CENSORED, "censored: no follow-up of the zone",
                        [*rules, *extra, "PJ-5"], flags, unit="tumour", lesion=lesion)
        end = last_img if last_img is not None and last_img >= origin else origin
        return _row(subject_row, endpoint, origin, end, CENSORED, "censored", [*rules, "PJ-5"],
                    unit="tumour", lesion=lesion)

    not_in = "residual unablated tumour (END-LTP-2)" if residual is not None else "not in LTP risk set"
    primary_origin = (first_ablation or risk_origin) if primary_ok else None
    assisted_origin = risk_origin if risk_origin is not None else (first_ablation if unfollowed else None)
    ltp_rules = ["END-LTP"]
    rows = [
        one("LTP_TUMOUR", primary_origin, False, event_date=ltp, base_rules=ltp_rules, reason=not_in,
            no_followup=unfollowed),
        one("LTP_TUMOUR_ASSISTED", assisted_origin, False, event_date=ltp, base_rules=ltp_rules,
            reason=not_in, no_followup=unfollowed),
        one("LTPFS_TUMOUR", primary_origin, True, event_date=ltp, base_rules=ltp_rules, reason=not_in,
            no_followup=unfollowed),
    ]
    rows.append(one("LOCAL_CONTROL_TUMOUR", parse_date(_column(ablation_row, "local_control_origin_date")),
                    False, event_date=parse_date(_column(ablation_row, "local_control_failure_date")),
                    base_rules=["END-LTP-5", "§11.12"],
                    reason="tumour at the first follow-up after the last ablation (END-LTP-5)"))
    return rows


def long_table(
    subjects: Iterable[Mapping[str, Any]],
    ablations: Iterable[Mapping[str, Any]] = (),
    settings: Any = None,
) -> list[dict[str, Any]]:
    """Every endpoint row of a cohort: patient endpoints, then per-tumour endpoints."""
    subject_rows = list(subjects)
    by_subject = {_text(s.get("subject")): s for s in subject_rows}
    rows: list[dict[str, Any]] = []
    for s in subject_rows:
        rows.extend(subject_endpoints(s, settings))
    for a in ablations:
        subject = by_subject.get(_text(a.get("subject")))
        if subject is None:
            continue
        rows.extend(tumour_endpoints(a, subject, settings))
    return rows
