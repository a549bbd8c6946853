"""Field-level checks of a parsed case file, building the :mod:`mrecist_tool.model` objects.

One pass over the JSON tree: every field is type-checked and converted (dates, exact decimal
lengths, enums, ids), every problem is collected with its JSON path, and unknown keys are kept in
the ``extra`` mappings with a *warning* so typos show.  Cross-reference checks (ids that must
exist, one baseline, dates in order, ...) are in :mod:`.xref`, which runs on what this
module builds.  This hand-written checker is the runtime path because it is fast and its messages
say what was found and what was expected; the shipped JSON Schema documents the same structure.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .. import model as m
from ..errors import Problem, SettingsError
from ..rules.criteria import PROFILES, coerce_value
from .jsontext import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    BadText,
    NonFinite,
    OutOfRange,
    describe,
    in_bounds,
    json_path,
    show_number,
)

ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
INSTANT_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})")
UID_RE = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
ID_RULE = "an id of 1-64 letters, digits, '.', '_' or '-'"
IMPLAUSIBLE_MM = Decimal(500)

TOP_REQUIRED = ("format", "version", "subject", "timepoints", "lesions", "observations")
TOP_KEYS = frozenset(TOP_REQUIRED) | {
    "reader", "criteria", "settings", "procedures", "profile",
    # Added optional fields: "simulated" marks generated cohorts (sample.cohort); "$schema"
    # lets editors find the shipped JSON Schema; "evaluator" (INVESTIGATOR or INDEPENDENT
    # ASSESSOR) and "accepted" (the adjudicated read) say whose read this is (SDTM --EVAL,
    # --ACPTFL).
    "simulated", "$schema", "evaluator", "accepted",
}
SUBJECT_KEYS = frozenset({"id", "arm", "randomization_date", "last_known_alive", "death", "strata",
                          "end_of_study"})
DEATH_KEYS = frozenset({"date", "cause"})
END_OF_STUDY_KEYS = frozenset({"date", "reason", "note"})
TIMEPOINT_KEYS = frozenset({"id", "date", "baseline", "imaging", "new_lesion_search", "study_uid",
                            "series", "slice_thickness_mm", "modality"})
SERIES_KEYS = frozenset({"uid", "phase", "description"})
PROCEDURE_KEYS = frozenset({"id", "type", "date", "lesions", "technique", "protocol", "margin"})
LESION_KEYS = frozenset({"id", "role", "kind", "organ", "site", "location"})
OBSERVATION_KEYS = frozenset({
    "lesion", "timepoint", "status", "viable_diameter_mm", "longest_diameter_mm",
    "short_axis_mm", "enhancement", "equivocal", "cytology", "near_lesion",
    "gap_to_ablation_zone_mm", "reader", "recorded_at", "note", "geometry",
})
GEOMETRY_KEYS = frozenset({"series_uid", "line", "mask", "ablation_zone_mask"})
# Keys that would put personal data into a case file (case-format.md: pseudonyms only).
PERSONAL_KEYS = frozenset({"name", "patient_name", "first_name", "last_name", "surname",
                           "birth_date", "date_of_birth", "dob", "birthdate", "mrn",
                           "hospital_number", "patient_id", "address", "phone"})


_INT_BOUND = 10**MAX_INT_DIGITS


def _is_number(value: Any) -> bool:
    return type(value) in (int, float, Decimal)


def _choices(values: tuple[str, ...] | frozenset[str]) -> str:
    return ", ".join(values)


@dataclass
class Built:
    """What the field checks produced, with each item's index in the file (for JSON paths)."""

    timepoints: list[tuple[int, m.Timepoint]] = field(default_factory=list)
    lesions: list[tuple[int, m.Lesion]] = field(default_factory=list)
    procedures: list[tuple[int, m.Procedure]] = field(default_factory=list)
    observations: list[tuple[int, m.Observation]] = field(default_factory=list)
    subject: m.Subject | None = None
    # Every id seen, even on items too broken to build: references to them are not "unknown".
    timepoint_ids: set[str] = field(default_factory=set)
    lesion_ids: set[str] = field(default_factory=set)
    # (lesion, timepoint) of observations too broken to build (so no false "not observed").
    observed_pairs: set[tuple[str, str]] = field(default_factory=set)
    lists_ok: set[str] = field(default_factory=set)  # lists present and of the right type
    complete: bool = True  # False once an item could not be built


class Checker:
    """Collects problems for one file and converts JSON values to model values."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.ok_ids: set[str] = set()  # ids already checked (they repeat a lot)
        self.ok_instants: set[str] = set()
        # A reading still in progress (the viewer reopening its own save or autosave): the
        # checks of completeness (a target not yet measured at baseline) only warn.
        self.in_progress = False

    # -- reporting -------------------------------------------------------------------------
    def error(self, path: str, message: str, rule: str | None = None) -> None:
        self.problems.append(Problem(self.file, path, message, "error", rule))

    def warn(self, path: str, message: str, rule: str | None = None) -> None:
        self.problems.append(Problem(self.file, path, message, "warning", rule))

    def wrong(self, path: str, value: Any, expected: str) -> None:
        if isinstance(value, NonFinite | BadText):
            return  # reported once, at this path, by the parser's defect walk
        self.error(path, f"found {describe(value)}, expected {expected}")

    # -- objects and keys ------------------------------------------------------------------
    def obj(self, value: Any, path: str, what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.wrong(path, value, f"an object {{...}} describing {what}")
        return None

    def keys(self, d: dict[str, Any], path: str, known: frozenset[str],
             required: tuple[str, ...], what: str) -> dict[str, Any]:
        """Report missing required keys; return the unknown ones (kept as ``extra``)."""
        for key in required:
            if key not in d:
                self.error(json_path(path, key), f"missing: {what} needs {key!r}")
        if d.keys() <= known:
            return {}
        extra: dict[str, Any] = {}
        for key, value in d.items():
            if key in known:
                continue
            extra[key] = value
            if _too_deep(value, path.count(".") + path.count("[") + 1):
                self.error(json_path(path, key), f"nested more than {MAX_DEPTH} levels deep; "
                                                 "a case file never needs this")
            # Kept values are written back: a number the format cannot hold (data built in
            # Python, which never went through the parser's bounds) would make a file that
            # cannot be read again, so it is refused here as reading refuses it.
            for where, number in _numbers_in(value, json_path(path, key)):
                if type(number) is float and not math.isfinite(number):
                    self.error(where, NonFinite(repr(number)).message())
                elif self.number(number) is None:
                    self.out_of_range(where, number)
            if key.startswith(("x-", "x_")):
                continue  # declared extensions: kept without a warning
            if key == "note":  # an added optional free-text field on any object
                self.text(value, json_path(path, key))
                continue
            if key.lower() in PERSONAL_KEYS:
                self.warn(json_path(path, key), f"{key!r} looks like personal data; case files "
                                                "hold pseudonyms only (no names, hospital numbers "
                                                "or birth dates)")
                continue
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]!r}?" if close else \
                " (prefix it with 'x-' to mark a deliberate extension)"
            self.warn(json_path(path, key), f"unknown key {key!r} in {what}, kept but not "
                                            f"used{hint}")
        return extra

    # -- scalars ---------------------------------------------------------------------------
    def id(self, value: Any, path: str) -> str | None:
        if type(value) is str and (value in self.ok_ids or ID_RE.fullmatch(value)):
            self.ok_ids.add(value)
            return value
        self.wrong(path, value, ID_RULE)
        return None

    def text(self, value: Any, path: str) -> str | None:
        if isinstance(value, str):
            return value
        self.wrong(path, value, "text in double quotes")
        return None

    def enum(self, value: Any, path: str, choices: tuple[str, ...]) -> str | None:
        if isinstance(value, str) and value in choices:
            return value
        if isinstance(value, str):
            close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.error(path, f"found {describe(value)}, expected one of "
                             f"{_choices(choices)}{hint}")
        else:
            self.wrong(path, value, f"one of {_choices(choices)}")
        return None

    def boolean(self, value: Any, path: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.wrong(path, value, "true or false (without quotes)")
        return None

    def date(self, value: Any, path: str) -> date | None:
        if isinstance(value, str) and DATE_RE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                self.error(path, f"{value} is not a calendar date (check the day and month)")
                return None
        self.wrong(path, value, "a date written YYYY-MM-DD, e.g. \"2021-02-25\"")
        return None

    def instant(self, value: Any, path: str) -> str | None:
        if isinstance(value, str) and INSTANT_RE.fullmatch(value):
            try:
                datetime.fromisoformat(value)
                return value
            except ValueError:
                self.error(path, f"{value} is not a valid date and time")
                return None
        self.wrong(path, value, "a date and time with its time zone, e.g. "
                                "\"2021-04-20T10:15:00+02:00\" or \"2021-04-20T08:15:00Z\"")
        return None

    def number(self, value: Any) -> Decimal | None:
        """A JSON number as an exact decimal; None when not a finite number within bounds.

        Numbers parsed from text are bounded by the parser already; this also bounds those of
        data built in Python (``case_from_dict``), which never went through it.
        """
        if type(value) is Decimal:
            number = value
        elif type(value) is int:
            if not -_INT_BOUND < value < _INT_BOUND:
                return None
            number = Decimal(value)
        elif type(value) is float and math.isfinite(value):
            # Data parsed without parse_float=Decimal: repr() is the shortest text that reads
            # back as this float, i.e. the literal the user wrote for any usual length.
            number = Decimal(repr(value))
        else:
            return None
        return number if in_bounds(number) else None

    def out_of_range(self, path: str, value: Any) -> None:
        self.error(path, OutOfRange(show_number(value)).message())

    def length(self, value: Any, path: str) -> Decimal | None:
        """A length in mm: a non-negative JSON number (kept exact)."""
        number = self.number(value)
        if number is None and _is_number(value):
            self.out_of_range(path, value)
            return None
        if number is None:
            if isinstance(value, str):
                self.error(path, f"found {describe(value)}, expected a number of millimetres "
                                 "without quotes, e.g. 12.5")
            else:
                self.wrong(path, value, "a number of millimetres, e.g. 12.5")
            return None
        if number < 0:
            self.error(path, f"found {value} mm, expected a length of 0 mm or more")
            return None
        if number > IMPLAUSIBLE_MM:
            self.warn(path, f"{value} mm is implausibly large for this length; check that the "
                            "unit is millimetres")
        return number

    def coordinate(self, value: Any) -> Decimal | None:
        return self.number(value)

    # -- settings --------------------------------------------------------------------------
    def settings(self, value: Any, path: str) -> dict[str, Any]:
        d = self.obj(value, path, "rule parameters (response-rules.md §7)")
        if d is None:
            return {}
        for name, raw in d.items():
            if isinstance(raw, NonFinite | BadText):
                continue
            if _too_deep(raw, 2):
                self.error(json_path(path, name), f"nested more than {MAX_DEPTH} levels deep; "
                                                  "a setting is a single value")
                continue
            try:
                coerce_value(name, raw, where="settings")
            except SettingsError as exc:
                message = str(exc).split(": ", 1)[-1]
                self.error(json_path(path, name), message)
        return dict(d)

    def profile(self, value: Any, path: str) -> str | None:
        return self.enum(value, path, tuple(PROFILES))


def valid_instant(value: str) -> bool:
    if not INSTANT_RE.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _too_deep(value: Any, depth: int) -> bool:
    if not isinstance(value, dict | list):
        return False
    stack = [(value, depth)]
    while stack:
        node, d = stack.pop()
        if d >= MAX_DEPTH:
            return True
        items = node.values() if isinstance(node, dict) else node
        stack.extend((v, d + 1) for v in items if isinstance(v, dict | list))
    return False


def _numbers_in(value: Any, path: str) -> list[tuple[str, Any]]:
    """Every number (not a bool) anywhere in ``value``, with its JSON path; at most
    :data:`MAX_DEPTH` levels down (deeper is reported as too deep)."""
    found: list[tuple[str, Any]] = []
    stack: list[tuple[str, Any, int]] = [(path, value, 0)]
    while stack:
        where, node, depth = stack.pop()
        if type(node) in (int, float, Decimal):
            found.append((where, node))
        elif depth < MAX_DEPTH and isinstance(node, dict):
            stack.extend((json_path(where, str(k)), v, depth + 1) for k, v in node.items())
        elif depth < MAX_DEPTH and isinstance(node, list):
            stack.extend((f"{where}[{i}]", v, depth + 1) for i, v in enumerate(node))
    return sorted(found, key=lambda item: item[0])


# -- builders ---------------------------------------------------------------------------------


def build_subject(ck: Checker, value: Any) -> m.Subject | None:
    path = "$.subject"
    d = ck.obj(value, path, "the subject")
    if d is None:
        return None
    extra = ck.keys(d, path, SUBJECT_KEYS, ("id",), "the subject")
    sid = ck.id(d["id"], "$.subject.id") if "id" in d else None
    arm = ck.text(d["arm"], "$.subject.arm") if "arm" in d else None
    rand = ck.date(d["randomization_date"], "$.subject.randomization_date") \
        if "randomization_date" in d else None
    lka = ck.date(d["last_known_alive"], "$.subject.last_known_alive") \
        if "last_known_alive" in d else None
    death = None
    if "death" in d:
        dd = ck.obj(d["death"], "$.subject.death", "the death")
        if dd is not None:
            dextra = ck.keys(dd, "$.subject.death", DEATH_KEYS, ("date",), "the death")
            ddate = ck.date(dd["date"], "$.subject.death.date") if "date" in dd else None
            cause = ck.enum(dd["cause"], "$.subject.death.cause", m.DEATH_CAUSES) \
                if "cause" in dd else "unknown"
            if ddate is not None and cause is not None:
                death = m.Death(ddate, cause, dextra)
    strata: dict[str, str] = {}
    if "strata" in d:
        sd = ck.obj(d["strata"], "$.subject.strata", "randomisation strata (name: level)")
        for k, v in (sd or {}).items():
            level = ck.text(v, json_path("$.subject.strata", k))
            if level is not None:
                strata[k] = level
    end = None
    if "end_of_study" in d:
        ed = ck.obj(d["end_of_study"], "$.subject.end_of_study",
                    "the end of study ({\"date\": ..., \"reason\": ...})")
        if ed is not None:
            eextra = ck.keys(ed, "$.subject.end_of_study", END_OF_STUDY_KEYS, ("date", "reason"),
                             "the end of study")
            edate = ck.date(ed["date"], "$.subject.end_of_study.date") if "date" in ed else None
            reason = ck.enum(ed["reason"], "$.subject.end_of_study.reason",
                             m.END_OF_STUDY_REASONS) if "reason" in ed else None
            note = ck.text(ed["note"], "$.subject.end_of_study.note") if "note" in ed else None
            if edate is not None and reason is not None:
                end = m.EndOfStudy(edate, reason, note, eextra)
    if sid is None:
        return None
    return m.Subject(sid, arm, rand, lka, death, strata, extra, end_of_study=end)


def build_timepoint(ck: Checker, i: int, value: Any, built: Built) -> m.Timepoint | None:
    """Check one timepoint fully, reporting every problem."""
    path = f"$.timepoints[{i}]"
    d = ck.obj(value, path, "a timepoint (imaging study)")
    if d is None:
        return None
    extra = ck.keys(d, path, TIMEPOINT_KEYS, ("id", "date"), "a timepoint")
    tid = ck.id(d["id"], path + ".id") if "id" in d else None
    if tid is not None:
        built.timepoint_ids.add(tid)
    when = ck.date(d["date"], path + ".date") if "date" in d else None
    baseline = ck.boolean(d["baseline"], path + ".baseline") if "baseline" in d else False
    imaging = ck.enum(d["imaging"], path + ".imaging", ("done", "not-done")) \
        if "imaging" in d else "done"
    search = ck.enum(d["new_lesion_search"], path + ".new_lesion_search",
                     ("complete", "incomplete")) if "new_lesion_search" in d else "complete"
    study_uid = None
    if "study_uid" in d:
        study_uid = ck.text(d["study_uid"], path + ".study_uid")
        if study_uid is not None and not (len(study_uid) <= 64 and UID_RE.fullmatch(study_uid)):
            ck.warn(path + ".study_uid", f"{study_uid!r} is not a DICOM UID (digits separated "
                                         "by dots, at most 64 characters)")
    series: tuple[m.Series, ...] | None = None
    if "series" in d:
        series = _series_list(ck, d["series"], path + ".series")
    thickness = ck.length(d["slice_thickness_mm"], path + ".slice_thickness_mm") \
        if "slice_thickness_mm" in d else None
    modality = ck.enum(d["modality"], path + ".modality", m.MODALITIES) \
        if "modality" in d else None
    if tid is None or when is None or baseline is None or imaging is None or search is None or \
            ("modality" in d and modality is None):
        return None
    return m.Timepoint(tid, when, baseline, imaging, search, study_uid, series, thickness, extra,
                       modality=modality)


def _series_list(ck: Checker, value: Any, path: str) -> tuple[m.Series, ...] | None:
    if not isinstance(value, list):
        ck.wrong(path, value, "a list of series [{\"uid\": ..., \"phase\": ...}, ...]")
        return None
    out: list[m.Series] = []
    for j, item in enumerate(value):
        spath = f"{path}[{j}]"
        sd = ck.obj(item, spath, "a series")
        if sd is None:
            continue
        extra = ck.keys(sd, spath, SERIES_KEYS, ("uid",), "a series")
        uid = ck.text(sd["uid"], spath + ".uid") if "uid" in sd else None
        if uid is not None and not (len(uid) <= 64 and UID_RE.fullmatch(uid)):
            ck.warn(spath + ".uid", f"{uid!r} is not a DICOM UID (digits separated by dots, at "
                                    "most 64 characters)")
        phase = ck.enum(sd["phase"], spath + ".phase", m.PHASES) if "phase" in sd else "other"
        desc = ck.text(sd["description"], spath + ".description") if "description" in sd \
            else None
        if uid is not None and phase is not None:
            out.append(m.Series(uid, phase, desc, extra))
    return tuple(out)


def build_procedure(ck: Checker, i: int, value: Any) -> m.Procedure | None:
    path = f"$.procedures[{i}]"
    d = ck.obj(value, path, "a procedure")
    if d is None:
        return None
    extra = ck.keys(d, path, PROCEDURE_KEYS, ("id", "type", "date"), "a procedure")
    pid = ck.id(d["id"], path + ".id") if "id" in d else None
    ptype = ck.enum(d["type"], path + ".type", m.PROCEDURE_TYPES) if "type" in d else None
    when = ck.date(d["date"], path + ".date") if "date" in d else None
    lesions: list[str] = []
    ok = True
    if "lesions" in d:
        raw = d["lesions"]
        if isinstance(raw, list):
            for j, lid in enumerate(raw):
                got = ck.id(lid, f"{path}.lesions[{j}]")
                if got is None:
                    ok = False
                else:
                    lesions.append(got)
        else:
            ck.wrong(path + ".lesions", raw, "a list of lesion ids, e.g. [\"L1\"]")
            ok = False
    elif ptype in ("ablation", "resection"):
        article = "an" if ptype == "ablation" else "a"
        ck.error(path + ".lesions", f"missing: {article} {ptype} needs the list of lesions "
                                    "treated, e.g. \"lesions\": [\"L1\"]")
    technique = ck.text(d["technique"], path + ".technique") if "technique" in d else None
    protocol = ck.boolean(d["protocol"], path + ".protocol") if "protocol" in d else False
    margin = None
    if "margin" in d:  # added optional field (MAR): casefile/margin_inputs.py
        from .margin_inputs import build_margin_inputs

        margin = build_margin_inputs(ck, d["margin"], path + ".margin", tuple(lesions))
        ok = ok and margin is not None
    if pid is None or ptype is None or when is None or not ok or protocol is None:
        return None
    return m.Procedure(pid, ptype, when, tuple(lesions), technique, extra, protocol=protocol, margin=margin)


def build_lesion(ck: Checker, i: int, value: Any, built: Built) -> m.Lesion | None:
    path = f"$.lesions[{i}]"
    d = ck.obj(value, path, "a lesion")
    if d is None:
        return None
    extra = ck.keys(d, path, LESION_KEYS, ("id", "role"), "a lesion")
    lid = ck.id(d["id"], path + ".id") if "id" in d else None
    if lid is not None:
        built.lesion_ids.add(lid)
    role = ck.enum(d["role"], path + ".role", m.ROLES) if "role" in d else None
    kind = ck.enum(d["kind"], path + ".kind", m.KINDS) if "kind" in d else "tumor"
    organ = ck.text(d["organ"], path + ".organ") if "organ" in d else "liver"
    if organ is not None and not organ.strip():
        ck.error(path + ".organ", "found empty text, expected an organ such as \"liver\"")
        organ = None
    site = ck.text(d["site"], path + ".site") if "site" in d else None
    location = ck.enum(d["location"], path + ".location", m.LOCATIONS) if "location" in d \
        else None
    if lid is None or role is None or kind is None or organ is None or \
            ("location" in d and location is None):
        return None
    return m.Lesion(lid, role, kind, organ, site, location, extra)


def build_observation(ck: Checker, i: int, value: Any) -> m.Observation | None:
    """Check one observation fully, reporting every problem (see :func:`fast_observation`)."""
    path = f"$.observations[{i}]"
    d = ck.obj(value, path, "an observation")
    if d is None:
        return None
    extra = ck.keys(d, path, OBSERVATION_KEYS, ("lesion", "timepoint", "status"),
                    "an observation")
    ok = True
    lesion = ck.id(d["lesion"], path + ".lesion") if "lesion" in d else None
    tp = ck.id(d["timepoint"], path + ".timepoint") if "timepoint" in d else None
    status = ck.enum(d["status"], path + ".status", m.STATUSES) if "status" in d else None
    if lesion is None or tp is None or status is None:
        ok = False
    lengths: dict[str, Decimal | None] = {}
    for key in ("viable_diameter_mm", "longest_diameter_mm", "short_axis_mm",
                "gap_to_ablation_zone_mm"):
        if key in d:
            got = ck.length(d[key], f"{path}.{key}")
            if got is None:
                ok = False
            lengths[key] = got
    enhancement = None
    if "enhancement" in d:
        enhancement = ck.enum(d["enhancement"], path + ".enhancement", m.ENHANCEMENTS)
        ok = ok and enhancement is not None
    equivocal: bool | None = False
    if "equivocal" in d:
        equivocal = ck.boolean(d["equivocal"], path + ".equivocal")
        ok = ok and equivocal is not None
    cytology = None
    if "cytology" in d:
        cytology = ck.enum(d["cytology"], path + ".cytology", m.CYTOLOGY)
        ok = ok and cytology is not None
    near = None
    if "near_lesion" in d:
        near = ck.id(d["near_lesion"], path + ".near_lesion")
        ok = ok and near is not None
    texts: dict[str, str | None] = {}
    for key in ("reader", "note"):
        if key in d:
            texts[key] = ck.text(d[key], f"{path}.{key}")
            ok = ok and texts[key] is not None
    recorded = None
    if "recorded_at" in d:
        recorded = ck.instant(d["recorded_at"], path + ".recorded_at")
        ok = ok and recorded is not None
    geometry = None
    if "geometry" in d:
        geometry = build_geometry(ck, d["geometry"], path + ".geometry")
        ok = ok and geometry is not None
    if not ok:
        return None
    assert lesion is not None and tp is not None and status is not None and equivocal is not None
    return m.Observation(
        lesion, tp, status,
        lengths.get("viable_diameter_mm"), lengths.get("longest_diameter_mm"),
        lengths.get("short_axis_mm"), enhancement, equivocal, cytology, near,
        lengths.get("gap_to_ablation_zone_mm"), texts.get("reader"), recorded,
        texts.get("note"), geometry, extra,
    )


def build_geometry(ck: Checker, value: Any, path: str) -> m.Geometry | None:
    d = ck.obj(value, path, "where the measurement was made (series_uid, line, mask)")
    if d is None:
        return None
    extra = ck.keys(d, path, GEOMETRY_KEYS, (), "the geometry")
    ok = True
    series_uid = None
    if "series_uid" in d:
        series_uid = ck.text(d["series_uid"], path + ".series_uid")
        ok = series_uid is not None
    line = None
    if "line" in d:
        line = _line(ck, d["line"], path + ".line")
        ok = ok and line is not None
    masks: dict[str, str | None] = {}
    for key in ("mask", "ablation_zone_mask"):
        if key in d:
            masks[key] = mask_path(ck, d[key], f"{path}.{key}")
            ok = ok and masks[key] is not None
    if not ok:
        return None
    return m.Geometry(series_uid, line, masks.get("mask"), masks.get("ablation_zone_mask"), extra)


def _line(ck: Checker, value: Any, path: str) -> \
        tuple[tuple[Decimal, Decimal, Decimal], tuple[Decimal, Decimal, Decimal]] | None:
    expected = ("two points of three numbers (patient coordinates, mm), e.g. "
                "[[10.5, -42, 88], [30, -40.5, 88]]")
    if not (isinstance(value, list) and len(value) == 2):
        ck.wrong(path, value, expected) if not isinstance(value, list) else \
            ck.error(path, f"found a list of {len(value)} items, expected {expected}")
        return None
    points = []
    for j, point in enumerate(value):
        if not (isinstance(point, list) and len(point) == 3):
            if isinstance(point, list):
                ck.error(f"{path}[{j}]", f"found a point of {len(point)} numbers, expected "
                                         "three numbers [x, y, z]")
            else:
                ck.wrong(f"{path}[{j}]", point, "a point of three numbers [x, y, z]")
            return None
        coords = [ck.coordinate(c) for c in point]
        for k, c in enumerate(coords):
            if c is None:
                ck.wrong(f"{path}[{j}][{k}]", point[k], "a number (mm)")
        if any(c is None for c in coords):
            return None
        points.append((coords[0], coords[1], coords[2]))
    if points[0] == points[1]:
        ck.warn(path, "the two end points are the same: the line has no length")
    return (points[0], points[1])  # type: ignore[return-value]


_DRIVE_RE = re.compile(r"^[A-Za-z]:")
MAX_MASK_PATH = 1024  # characters; far beyond any real layout, well within every OS limit
MAX_NAME_BYTES = 255  # one file or folder name (NAME_MAX on Linux, macOS and Windows)


def _short(text: str) -> str:
    """``repr`` of a possibly very long text, cut for messages."""
    return repr(text) if len(text) <= 60 else repr(text[:40]) + f"... ({len(text):,} characters)"


def mask_path(ck: Checker, value: Any, path: str) -> str | None:
    """A mask path: relative to the case file's folder, never leaving it."""
    text = ck.text(value, path)
    if text is None:
        return None
    if not text.strip():
        ck.error(path, "found empty text, expected a file path such as "
                       "\"masks/L1_FU1.nii.gz\" relative to the case file's folder")
        return None
    parts = re.split(r"[/\\]", text)
    longest = max(len(part.encode("utf-8", "surrogatepass")) for part in parts)
    if len(text) > MAX_MASK_PATH or longest > MAX_NAME_BYTES:
        head = repr(text) if len(text) <= 60 else repr(text[:40]) + "..."
        ck.error(path, f"the mask path {head} is {len(text):,} characters long"
                       f"{f' (one name in it {longest:,} bytes)' if longest > MAX_NAME_BYTES else ''}"
                       f"; a mask path has at most {MAX_MASK_PATH:,} characters and each folder "
                       f"or file name in it at most {MAX_NAME_BYTES} bytes")
        return None
    if text.startswith(("/", "\\")) or _DRIVE_RE.match(text):
        ck.error(path, f"{_short(text)} is an absolute path; mask paths are relative to the case "
                       "file's folder, e.g. \"masks/L1_FU1.nii.gz\"")
        return None
    depth = 0
    for part in parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                ck.error(path, f"{_short(text)} leaves the case file's folder; masks must be inside "
                               "it (no '..' above the case folder)")
                return None
        elif part not in ("", "."):
            depth += 1
    if "\\" in text:
        ck.warn(path, f"{_short(text)} uses backslashes; write '/' so the path works on every system")
    return text
