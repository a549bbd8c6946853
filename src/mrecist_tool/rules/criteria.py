"""Rule parameters (response-rules.md §7), their defaults, and named profiles.

Every parameter of §7 that the toolkit uses is a field of :class:`Settings`.  A parameter is set,
in increasing precedence, by: its default; a named profile (the case file's ``profile`` or the
command line's ``--profile``); the case file's ``criteria`` and ``settings``; the command line's
``--criteria`` and ``--set NAME=VALUE``.  Two defaults depend on the criteria (``pd_abs_min_mm``:
0 for mRECIST, 5 for RECIST 1.1, MR-T4; ``effusion_requires_cytology``: True for mRECIST, MR-SP1)
and are stored as ``None`` until resolved.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import SettingsConflictError, SettingsError


@dataclass(frozen=True)
class ParamSpec:
    """How one parameter is typed and documented."""

    kind: str  # "decimal", "int", "int_or_null", "bool", "choice", "int_range", "schedule", "str"
    rule: str
    help: str
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None


D = Decimal
#: Every rule parameter of response-rules.md §7 by name: its kind, rule IDs, help and bounds.
PARAMS: dict[str, ParamSpec] = {
    "criteria": ParamSpec("choice", "§2, §3", "response criteria", ("mRECIST", "RECIST1.1")),
    "pd_rel_threshold": ParamSpec("decimal", "REC-T3/MR-T3", "relative increase over nadir for PD, %", minimum=D(0)),
    "pr_threshold": ParamSpec("decimal", "REC-T2/MR-T2", "decrease from baseline for PR, %", minimum=D(0)),
    "pd_abs_min_mm": ParamSpec(
        "decimal",
        "MR-T4/REC-T3",
        "absolute increase over nadir also needed for PD, mm (default 0 mRECIST, 5 RECIST 1.1)",
        minimum=D(0),
    ),
    "nadir_includes_baseline": ParamSpec("bool", "REC-T3/MR-T6", "the nadir includes the baseline sum"),
    "nadir_zero_policy": ParamSpec(
        "choice", "MR-T7", "mRECIST: reappearance after a nadir of 0", ("literal_pd", "recist_like")
    ),
    "pr_persistence": ParamSpec(
        "choice", "REC-T5", "PR judged against baseline at every visit, or kept until PD", ("strict", "eortc_faq")
    ),
    "max_targets_total": ParamSpec("int", "REC-B1/MR-B3", "maximum number of target lesions", minimum=D(1)),
    "max_targets_per_organ": ParamSpec(
        "int", "REC-B1/MR-B3", "maximum number of target lesions per organ", minimum=D(1)
    ),
    "min_target_ld_mm": ParamSpec(
        "decimal",
        "REC-M1",
        "measurability floor, mm (or 2 x slice thickness when slices are thicker than 5 mm)",
        minimum=D(0),
    ),
    "node_target_sa_mm": ParamSpec("decimal", "REC-M2", "node short axis to be a target, mm", minimum=D(0)),
    "node_path_sa_mm": ParamSpec("decimal", "REC-M2", "node short axis to be pathological, mm", minimum=D(0)),
    "porta_hepatis_malignant_sa_mm": ParamSpec(
        "decimal", "MR-B5", "porta hepatis node short axis to be malignant, mm", minimum=D(0)
    ),
    "too_small_default_mm": ParamSpec(
        "decimal", "REC-S2/MR-V5", "value counted for 'too small to measure', mm", minimum=D(0)
    ),
    "viable_fragment_rule": ParamSpec("choice", "MR-V3", "several viable foci in one target", ("largest", "sum")),
    "viability_phase": ParamSpec(
        "choice", "APP-1/MR-O2", "phase that defines viable tumour", ("arterial", "portal_venous", "any")
    ),
    "new_lesion_rule_liver": ParamSpec(
        "choice",
        "MR-SP4/APP-2",
        "when a new intrahepatic lesion counts",
        ("hcc_typical_pattern", "recist_unequivocal", "size_and_pattern"),
    ),
    "new_lesion_min_ld_mm": ParamSpec("decimal", "MR-SP4", "size floor of a new intrahepatic lesion, mm", minimum=D(0)),
    "atypical_growth_mm": ParamSpec(
        "decimal", "MR-SP4", "interval growth that makes an atypical new lesion count, mm", minimum=D(0)
    ),
    "retro_date_equivocal_new_lesions": ParamSpec(
        "bool", "REC-N3/MR-SP5", "date PD back to the first scan that showed a later-confirmed lesion"
    ),
    "effusion_requires_cytology": ParamSpec(
        "bool",
        "MR-SP1",
        "a new or worse effusion is PD only with positive cytology (default True mRECIST, False RECIST 1.1)",
    ),
    "confirmation_required": ParamSpec("bool", "REC-C1", "CR and PR need confirmation"),
    "confirm_min_days": ParamSpec("int", "REC-C1", "days from response to its confirmation", minimum=D(0)),
    "allow_intervening_ne": ParamSpec("bool", "REC-C6", "an NE may stand between a response and its confirmation"),
    "confirm_accept_intervening_sd": ParamSpec(
        "bool", "REC-C6", "one SD may stand between a response and its confirmation (admiralonco accept_sd)"
    ),
    "sd_min_days": ParamSpec("int", "REC-C3", "minimum days from randomisation for SD to count", minimum=D(0)),
    "cr_then_pr_policy": ParamSpec("choice", "REC-C5", "CR followed by PR", ("reclassify_pr_and_flag", "treat_as_pd")),
    "ltp_max_distance_mm": ParamSpec(
        "decimal", "ABL-6", "largest gap to the ablation zone that is still LTP, mm (inclusive)", minimum=D(0)
    ),
    "technique_efficacy_window_days": ParamSpec(
        "int_range", "ABL-3/ABL-8", "window after ablation for the first follow-up, [min, max] days"
    ),
    "technical_success_imaging_days": ParamSpec(
        "int",
        "ABL-2",
        "a clean study at most this many days after an ablation is technical-success imaging, not the "
        "follow-up that shows complete ablation (0: only a study on the ablation day, §11.11); "
        "below the start of technique_efficacy_window_days",
        minimum=D(0),
    ),
    "dfs_never_disease_free": ParamSpec(
        "choice", "END-DFS-4", "patients never rendered disease-free", ("event_day0", "exclude")
    ),
    "dfs_retreatment_window_days": ParamSpec(
        "int_or_null",
        "END-DFS-4",
        "days from the ablation within which residual tumour must be re-ablated for the patient to "
        "count as disease-free (at the bound counts as within); null: the upper bound of "
        "technique_efficacy_window_days",
        minimum=D(0),
    ),
    "css_unknown_cause": ParamSpec("choice", "END-CSS-3", "deaths of unknown cause", ("cancer", "other")),
    "margin_isotropic_spacing_mm": ParamSpec(
        "decimal", "MAR-3", "isotropic spacing for margin computation, mm", minimum=D(0)
    ),
    "margin_subcapsular_correction": ParamSpec("bool", "MAR-6", "exclude capsule-adjacent zone surface from margins"),
    # Added parameters (named here because §6 and REC-C2 leave them to the protocol).
    "dfs_definition": ParamSpec(
        "choice",
        "§6.0/END-DFS",
        "registry: death from disease is a DFS event; datecan: death from any cause",
        ("registry", "datecan"),
    ),
    "bor_stop_at_new_therapy": ParamSpec(
        "bool",
        "REC-C2",
        "ignore assessments after a new (non-protocol) systemic therapy for best response "
        "(a scan on the day it starts still counts)",
    ),
    "missed_assessments_policy": ParamSpec(
        "choice", "END-GEN-4", "event after >= 2 missed assessments", ("count_event", "censor_before_gap")
    ),
    "assessment_schedule": ParamSpec(
        "schedule",
        "END-GEN-4/§11.13",
        "imaging schedule from the origin: [[interval, until], ...] in days, the last until may be "
        "null (open); on the command line 90:730,180",
    ),
    "preop_chemo_arm": ParamSpec(
        "str", "PRE-2", "arm label of the perioperative arm (chemotherapy before ablation)"
    ),
}


@dataclass(frozen=True)
class Settings:
    """Resolved rule parameters for one assessment.  Lengths in mm, percentages in %.

    Every attribute is a setting of response-rules.md §7 (:data:`PARAMS` has its kind and
    bounds); build one with :func:`resolve_settings` or :meth:`Settings.updated`.

    Attributes
    ----------
    criteria : str
        Response criteria (one of 'mRECIST', 'RECIST1.1'); §2, §3.
    pd_rel_threshold : Decimal
        Relative increase over nadir for PD, %; REC-T3/MR-T3.
    pr_threshold : Decimal
        Decrease from baseline for PR, %; REC-T2/MR-T2.
    pd_abs_min_mm : Decimal or None
        Absolute increase over nadir also needed for PD, mm (default 0 mRECIST, 5 RECIST 1.1);
        MR-T4/REC-T3.
    nadir_includes_baseline : bool
        The nadir includes the baseline sum; REC-T3/MR-T6.
    nadir_zero_policy : str
        mRECIST: reappearance after a nadir of 0 (one of 'literal_pd', 'recist_like'); MR-T7.
    pr_persistence : str
        PR judged against baseline at every visit, or kept until PD (one of 'strict', 'eortc_faq');
        REC-T5.
    max_targets_total : int
        Maximum number of target lesions; REC-B1/MR-B3.
    max_targets_per_organ : int
        Maximum number of target lesions per organ; REC-B1/MR-B3.
    min_target_ld_mm : Decimal
        Measurability floor, mm (or 2 x slice thickness when slices are thicker than 5 mm); REC-M1.
    node_target_sa_mm : Decimal
        Node short axis to be a target, mm; REC-M2.
    node_path_sa_mm : Decimal
        Node short axis to be pathological, mm; REC-M2.
    porta_hepatis_malignant_sa_mm : Decimal
        Porta hepatis node short axis to be malignant, mm; MR-B5.
    too_small_default_mm : Decimal
        Value counted for 'too small to measure', mm; REC-S2/MR-V5.
    viable_fragment_rule : str
        Several viable foci in one target (one of 'largest', 'sum'); MR-V3.
    viability_phase : str
        Phase that defines viable tumour (one of 'arterial', 'portal_venous', 'any'); APP-1/MR-O2.
    new_lesion_rule_liver : str
        When a new intrahepatic lesion counts (one of 'hcc_typical_pattern', 'recist_unequivocal',
        'size_and_pattern'); MR-SP4/APP-2.
    new_lesion_min_ld_mm : Decimal
        Size floor of a new intrahepatic lesion, mm; MR-SP4.
    atypical_growth_mm : Decimal
        Interval growth that makes an atypical new lesion count, mm; MR-SP4.
    retro_date_equivocal_new_lesions : bool
        Date PD back to the first scan that showed a later-confirmed lesion; REC-N3/MR-SP5.
    effusion_requires_cytology : bool or None
        A new or worse effusion is PD only with positive cytology (default True mRECIST, False RECIST
        1.1); MR-SP1.
    confirmation_required : bool
        CR and PR need confirmation; REC-C1.
    confirm_min_days : int
        Days from response to its confirmation; REC-C1.
    allow_intervening_ne : bool
        An NE may stand between a response and its confirmation; REC-C6.
    confirm_accept_intervening_sd : bool
        One SD may stand between a response and its confirmation (admiralonco accept_sd); REC-C6.
    sd_min_days : int
        Minimum days from randomisation for SD to count; REC-C3.
    cr_then_pr_policy : str
        CR followed by PR (one of 'reclassify_pr_and_flag', 'treat_as_pd'); REC-C5.
    ltp_max_distance_mm : Decimal
        Largest gap to the ablation zone that is still LTP, mm (inclusive); ABL-6.
    technique_efficacy_window_days : tuple of (int, int)
        Window after ablation for the first follow-up, [min, max] days; ABL-3/ABL-8.
    technical_success_imaging_days : int
        A clean study at most this many days after an ablation is technical-success imaging, not
        the follow-up that shows complete ablation (0: only a study on the ablation day, §11.11);
        ABL-2.
    dfs_never_disease_free : str
        Patients never rendered disease-free (one of 'event_day0', 'exclude'); END-DFS-4.
    dfs_retreatment_window_days : int or None
        Days from the ablation within which residual tumour must be re-ablated for the patient to
        count as disease-free (at the bound counts as within); None: the upper bound of
        technique_efficacy_window_days; END-DFS-4.
    css_unknown_cause : str
        Deaths of unknown cause (one of 'cancer', 'other'); END-CSS-3.
    margin_isotropic_spacing_mm : Decimal
        Isotropic spacing for margin computation, mm; MAR-3.
    margin_subcapsular_correction : bool
        Exclude capsule-adjacent zone surface from margins; MAR-6.
    dfs_definition : str
        Registry: death from disease is a DFS event; datecan: death from any cause (one of 'registry',
        'datecan'); §6.0/END-DFS.
    bor_stop_at_new_therapy : bool
        Ignore assessments after a new (non-protocol) systemic therapy for best response (a scan on the
        day it starts still counts); REC-C2.
    missed_assessments_policy : str
        Event after >= 2 missed assessments (one of 'count_event', 'censor_before_gap'); END-GEN-4.
    assessment_schedule : tuple of (int, int or None)
        Imaging schedule from the origin: [[interval, until], ...] in days, the last until may be null
        (open); on the command line 90:730,180; END-GEN-4/§11.13.
    preop_chemo_arm : str
        Arm label of the perioperative arm (chemotherapy before ablation); PRE-2.
    """

    criteria: str = "mRECIST"
    pd_rel_threshold: Decimal = D(20)
    pr_threshold: Decimal = D(30)
    pd_abs_min_mm: Decimal | None = None
    nadir_includes_baseline: bool = True
    nadir_zero_policy: str = "literal_pd"
    pr_persistence: str = "strict"
    max_targets_total: int = 5
    max_targets_per_organ: int = 2
    min_target_ld_mm: Decimal = D(10)
    node_target_sa_mm: Decimal = D(15)
    node_path_sa_mm: Decimal = D(10)
    porta_hepatis_malignant_sa_mm: Decimal = D(20)
    too_small_default_mm: Decimal = D(5)
    viable_fragment_rule: str = "largest"
    viability_phase: str = "arterial"
    new_lesion_rule_liver: str = "hcc_typical_pattern"
    new_lesion_min_ld_mm: Decimal = D(10)
    atypical_growth_mm: Decimal = D(10)
    retro_date_equivocal_new_lesions: bool = True
    effusion_requires_cytology: bool | None = None
    confirmation_required: bool = False
    confirm_min_days: int = 28
    allow_intervening_ne: bool = True
    confirm_accept_intervening_sd: bool = False
    sd_min_days: int = 42
    cr_then_pr_policy: str = "reclassify_pr_and_flag"
    ltp_max_distance_mm: Decimal = D(10)
    technique_efficacy_window_days: tuple[int, int] = (21, 56)
    technical_success_imaging_days: int = 0
    dfs_never_disease_free: str = "event_day0"
    dfs_retreatment_window_days: int | None = None
    css_unknown_cause: str = "cancer"
    margin_isotropic_spacing_mm: Decimal = D("0.5")
    margin_subcapsular_correction: bool = True
    dfs_definition: str = "registry"
    bor_stop_at_new_therapy: bool = True
    missed_assessments_policy: str = "count_event"
    # §11.13: every 90 days to day 730, then every 180 days (None: no end).
    assessment_schedule: tuple[tuple[int, int | None], ...] = ((90, 730), (180, None))
    preop_chemo_arm: str = "perioperative"

    # -- derived -----------------------------------------------------------------------------
    @functools.cached_property
    def is_mrecist(self) -> bool:
        return self.criteria == "mRECIST"

    @property
    def pd_abs_min(self) -> Decimal:
        """MR-T4: 0 mm under mRECIST, 5 mm under RECIST 1.1, unless set."""
        if self.pd_abs_min_mm is not None:
            return self.pd_abs_min_mm
        return D(0) if self.is_mrecist else D(5)

    @property
    def dfs_retreatment_window(self) -> int:
        """END-DFS-4: the re-treatment window in days (default the technique-efficacy window's end)."""
        if self.dfs_retreatment_window_days is not None:
            return self.dfs_retreatment_window_days
        return self.technique_efficacy_window_days[1]

    @property
    def effusion_cytology_needed(self) -> bool:
        if self.effusion_requires_cytology is not None:
            return self.effusion_requires_cytology
        return self.is_mrecist

    def resolved(self) -> Settings:
        """A copy with the criteria-dependent defaults filled in (for reports)."""
        return dataclasses.replace(
            self,
            pd_abs_min_mm=self.pd_abs_min,
            effusion_requires_cytology=self.effusion_cytology_needed,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping of the resolved settings (a fresh copy; computed once per object)."""
        return dict(self._json_mapping)

    @functools.cached_property
    def _json_mapping(self) -> dict[str, Any]:
        # A whole cohort usually shares one Settings object: resolve and convert it once.
        resolved = self.resolved()
        out: dict[str, Any] = {}
        for f in dataclasses.fields(resolved):
            value = getattr(resolved, f.name)
            if isinstance(value, Decimal):
                value = _decimal_json(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def updated(self, overrides: Mapping[str, Any], *, where: str = "settings") -> Settings:
        """Apply overrides (from JSON or from ``--set`` strings), checking names and kinds."""
        changes = {name: coerce_value(name, value, where=where) for name, value in overrides.items()}
        return dataclasses.replace(self, **changes)


def _decimal_json(value: Decimal) -> int | float | str:
    # Exact integers stay integers; other decimals become floats only for display in JSON.
    if value == value.to_integral_value():
        return int(value)
    return float(value)


# Bounds on numeric settings, far beyond any sensible value (a 1,000,000-day window is 2,700
# years) and small enough that date arithmetic and Decimal comparisons can never overflow.
MAX_INT_SETTING = 1_000_000
MAX_DECIMAL_SETTING = Decimal(1_000_000_000)
MAX_SIGNIFICANT_DIGITS = 60
MIN_ADJUSTED = -40  # smaller non-zero values (1e-41) are refused: they would print as 41 zeros
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def coerce_value(name: str, value: Any, *, where: str = "settings") -> Any:
    """Check one parameter's value and convert it to its type; raise :class:`SettingsError`.

    Strict: the value must already be of the parameter's kind, as in a JSON case file
    (case-format.md: "a value of the wrong kind is an error"): ``true``/``false`` for a yes/no
    setting, a number (not text) for a number, a list of two whole numbers for a range, one of
    the listed words for a choice.  Text from the command line goes through
    :func:`parse_setting_text` first.
    """
    spec = _spec(name, where)
    try:
        return _coerce(spec, value)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise SettingsError(f"{where}.{name}: {exc}") from None


def parse_setting_text(name: str, text: str, *, where: str = "--set") -> Any:
    """The value of ``--set NAME=TEXT``, read strictly by the parameter's kind, then checked.

    Yes/no settings take ``true`` or ``false``; numbers are written as in JSON (``5``,
    ``12.5``, ``1e1``); ranges as ``[21, 56]`` or ``21,56``; choices as the word itself.
    """
    spec = _spec(name, where)
    try:
        return _coerce(spec, _from_text(spec, text.strip()))
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise SettingsError(f"{where} {name}: {exc}") from None


def _spec(name: str, where: str) -> ParamSpec:
    spec = PARAMS.get(name)
    if spec is None:
        close = [p for p in PARAMS if p.split("_")[0] == name.split("_")[0]]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SettingsError(f"{where}: unknown setting {name!r}{hint}")
    return spec


def _from_text(spec: ParamSpec, text: str) -> Any:
    if spec.kind == "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ValueError(f"expected true or false, found {text!r}")
    if spec.kind == "int_or_null":
        return None if text == "null" else _number_text(dataclasses.replace(spec, kind="int"), text)
    if spec.kind in ("decimal", "int"):
        return _number_text(spec, text)
    if spec.kind == "int_range":
        inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
        items = [item.strip() for item in inner.split(",")]
        if len(items) != 2 or not all(items):
            raise ValueError(f"expected [min, max] days written as two whole numbers, e.g. "
                             f"21,56 or [21, 56]; found {text!r}")
        day = ParamSpec("int", "", "", minimum=D(0))
        return [_number_text(day, item) for item in items]
    if spec.kind == "schedule":
        return _schedule_text(text)
    return text


def _number_text(spec: ParamSpec, text: str) -> Decimal:
    what = "a whole number" if spec.kind == "int" else "a number"
    if len(text) > 64 or not _JSON_NUMBER.fullmatch(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ValueError(f"expected {what}, e.g. 5 or 12.5, found {shown!r}")
    return Decimal(text)  # bounded by the length check above; range checked by _coerce


def _found(value: Any) -> str:
    """What was found, for messages: the JSON kind and a short rendering of the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {json.dumps(shown)}"
    if isinstance(value, int) and value.bit_length() > 128:
        return f"a whole number of about {int(value.bit_length() * 0.30103):,} digits"
    if isinstance(value, int | float | Decimal):
        text = str(value)
        return f"the number {text if len(text) <= 40 else text[:37] + '...'}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "an object {...}"
    return f"a value of type {type(value).__name__}"


def _number(spec: ParamSpec, value: Any) -> Decimal:
    """A bounded, finite number from a JSON number (never from text or a boolean)."""
    whole = spec.kind == "int"
    low = spec.minimum if spec.minimum is not None else None
    high = D(MAX_INT_SETTING) if whole else MAX_DECIMAL_SETTING
    kind = "a whole number" if whole else "a number"
    span = f" from {low} to {high}" if low is not None else f" up to {high}"
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"expected {kind}{span} (without quotes), found {_found(value)}")
    if isinstance(value, int):
        if abs(value) > high:
            raise ValueError(f"expected {kind}{span}, found {_found(value)}")
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, found {_found(value)}")
        number = Decimal(repr(value))
    else:
        number = value
    if not number.is_finite():
        raise ValueError(f"expected a finite number, found {_found(value)}")
    if number.copy_abs() > high:
        raise ValueError(f"expected {kind}{span}, found {_found(value)}")
    if len(number.as_tuple().digits) > MAX_SIGNIFICANT_DIGITS or (
            number and number.adjusted() < MIN_ADJUSTED):
        raise ValueError(f"expected {kind}{span} written with at most {MAX_SIGNIFICANT_DIGITS} "
                         f"digits and not below 1e{MIN_ADJUSTED} unless 0, found {_found(value)}")
    if low is not None and number < low:
        raise ValueError(f"expected a number >= {low}, found {_found(value)}")
    if not number:
        return D(0)  # 0E-1000000 is 0, and must not print as a million zeros
    if whole and number != number.to_integral_value():
        raise ValueError(f"expected a whole number, found {_found(value)}")
    return number


def _coerce(spec: ParamSpec, value: Any) -> Any:
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        raise ValueError(f"expected true or false (without quotes), found {_found(value)}")
    if spec.kind == "choice":
        if isinstance(value, str) and value in spec.choices:
            return value
        raise ValueError(f"expected one of {', '.join(spec.choices)}, found {_found(value)}")
    if spec.kind == "decimal":
        return _number(spec, value)
    if spec.kind == "int":
        return int(_number(spec, value))
    if spec.kind == "int_or_null":
        return None if value is None else int(_number(dataclasses.replace(spec, kind="int"), value))
    if spec.kind == "schedule":
        return _coerce_schedule(value)
    if spec.kind == "int_range":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValueError(f"expected [min, max] days, a list of two whole numbers such as "
                             f"[21, 56]; found {_found(value)}")
        day = ParamSpec("int", "", "", minimum=D(0))
        low, high = (int(_number(day, v)) for v in value)
        if low > high:
            raise ValueError(f"expected min <= max, found [{low}, {high}]")
        return (low, high)
    if isinstance(value, str):
        return value
    raise ValueError(f"expected text, found {_found(value)}")


def _coerce_schedule(value: Any) -> tuple[tuple[int, int | None], ...]:
    """END-GEN-4 / §11.13: ``[[interval, until], ...]`` in days, the last ``until`` may be null.

    Each segment schedules a visit every ``interval`` days (from the end of the previous segment,
    the first from the origin) up to day ``until``; only the last segment may be open-ended.
    """
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"expected a list of [interval, until] day pairs such as [[90, 730], [180, null]], "
                         f"found {_found(value)}")
    day = ParamSpec("int", "", "", minimum=D(1))
    out: list[tuple[int, int | None]] = []
    previous = 0
    for i, item in enumerate(value):
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ValueError(f"expected [interval, until] at position {i}, found {_found(item)}")
        interval = int(_number(day, item[0]))
        until = None if item[1] is None else int(_number(day, item[1]))
        if until is None and i != len(value) - 1:
            raise ValueError("only the last segment of the schedule may be open-ended (until null)")
        if until is not None and until <= previous:
            raise ValueError(f"expected each segment to end after the previous one, found until {until} "
                             f"after {previous}")
        out.append((interval, until))
        previous = until or previous
    return tuple(out)


def _schedule_text(text: str) -> list[list[Any]]:
    """``90:730,180`` (every 90 days to day 730, then every 180) or the JSON form."""
    if text.startswith("["):
        try:
            parsed = json.loads(text, parse_float=Decimal)
        except ValueError:
            raise ValueError(f"expected a schedule such as 90:730,180 or [[90, 730], [180, null]], "
                             f"found {text!r}") from None
        if not isinstance(parsed, list):
            raise ValueError(f"expected a list of [interval, until] day pairs, found {text!r}")
        return parsed
    day = ParamSpec("int", "", "", minimum=D(1))
    items: list[list[Any]] = []
    for part in text.split(","):
        every, _, end = (x.strip() for x in part.partition(":"))
        if not every:
            raise ValueError(f"expected a schedule such as 90:730,180, found {text!r}")
        items.append([_number_text(day, every), _number_text(day, end) if end else None])
    return items


# -- profiles -------------------------------------------------------------------------------

#: Named settings profiles (``--profile``, a case file's ``"profile"``): their values over the defaults.
PROFILES: dict[str, dict[str, Any]] = {
    # mRECIST as published (Lencioni & Llovet 2010) with the §7 defaults: HCC, arterial phase.
    "mrecist-published": {"criteria": "mRECIST"},
    # RECIST 1.1 as published (Eisenhauer 2009).
    "recist1.1": {"criteria": "RECIST1.1"},
    # NCT04562727, CRLM after thermal ablation: hypovascular metastases, so viability may be
    # judged in the portal-venous phase (APP-1); new liver lesions by the RECIST unequivocal rule
    # (APP-2); DFS per the registry wording (§6.0); randomised, so no confirmation (REC-C1).
    "nct04562727": {
        "criteria": "mRECIST",
        "viability_phase": "any",
        "new_lesion_rule_liver": "recist_unequivocal",
        "dfs_definition": "registry",
        "confirmation_required": False,
        "sd_min_days": 42,
        "ltp_max_distance_mm": 10,
        "technique_efficacy_window_days": [21, 56],
    },
}
DEFAULT_PROFILE = "mrecist-published"


@functools.lru_cache(maxsize=64)
def profile_settings(name: str) -> Settings:
    """The settings of a named profile: its values over the defaults of :class:`Settings`.

    Parameters
    ----------
    name : str
        A profile of :data:`PROFILES`, e.g. ``"nct04562727"`` or ``"recist1.1"``.

    Returns
    -------
    Settings
        The resolved settings (cached: the same object for the same name).

    Raises
    ------
    SettingsError
        For an unknown profile, naming the known ones.
    """
    if name not in PROFILES:
        raise SettingsError(f"unknown profile {name!r}; known profiles: {', '.join(PROFILES)}")
    return Settings().updated(PROFILES[name], where=f"profile {name}")


def settings_layers(
    *,
    profile: str | None = None,
    case_criteria: str | None = None,
    case_settings: Mapping[str, Any] | None = None,
    cli_profile: str | None = None,
    cli_criteria: str | None = None,
    cli_overrides: Mapping[str, Any] | None = None,
) -> list[tuple[str, Mapping[str, Any]]]:
    """Where a case's settings come from, lowest precedence first: the one place that orders them.

    The defaults of :class:`Settings`, then the profile (the command line's ``--profile``, else
    the case's, else :data:`DEFAULT_PROFILE`), the case file's ``criteria``, its ``settings``,
    the command line's ``--criteria``, and last its ``--set`` overrides.  Each layer is
    ``(where, values)``; the profile's ``where`` is ``"profile NAME"`` and its values are empty
    for an unknown profile (:func:`resolve_settings` refuses it).
    """
    name = cli_profile or profile or DEFAULT_PROFILE
    return [
        (f"profile {name}", PROFILES.get(name, {})),
        ("criteria", {"criteria": case_criteria} if case_criteria else {}),
        ("settings", case_settings or {}),
        ("--criteria", {"criteria": cli_criteria} if cli_criteria else {}),
        ("--set", cli_overrides or {}),
    ]


def layered_criteria(**sources: Any) -> str:
    """The criteria the layers of :func:`settings_layers` give, skipping values that are not
    criteria (the readers report those): for checking a case file that may hold mistakes."""
    for _, values in reversed(settings_layers(**sources)):
        if isinstance(values, Mapping) and values.get("criteria") in PARAMS["criteria"].choices:
            return str(values["criteria"])
    return Settings().criteria


def resolve_settings(
    *,
    profile: str | None = None,
    case_criteria: str | None = None,
    case_settings: Mapping[str, Any] | None = None,
    cli_profile: str | None = None,
    cli_criteria: str | None = None,
    cli_overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Combine defaults, profile, case-file values and command-line overrides.

    The layers are applied in the order of :func:`settings_layers` (the one place that orders
    them), each checked strictly: a value of the wrong kind is an error, never coerced.

    Parameters
    ----------
    profile : str, optional
        The case file's ``"profile"``.
    case_criteria : str, optional
        The case file's ``"criteria"``.
    case_settings : mapping, optional
        The case file's ``"settings"``.
    cli_profile : str, optional
        The command line's ``--profile`` (wins over the case's).
    cli_criteria : str, optional
        The command line's ``--criteria``.
    cli_overrides : mapping, optional
        The command line's ``--set`` values, typed.

    Returns
    -------
    Settings
        The effective settings.

    Raises
    ------
    SettingsError
        For an unknown name or profile, or a value of the wrong kind or out of bounds, naming
        the layer it came from.
    """
    # Whole cohorts share a handful of distinct settings: resolve each combination once.  The
    # key keeps every value's type (a JSON round trip would turn Decimal into text, which the
    # strict checks rightly refuse).
    key = _freeze((profile, case_criteria, case_settings, cli_profile, cli_criteria, cli_overrides))
    try:
        hash(key)
    except TypeError:  # e.g. a signalling-NaN Decimal from Python code: checked, never cached
        return _resolve(key)
    return _resolve_cached(key)


def _freeze(value: Any) -> Any:
    """A hashable, type-preserving form of a settings value (see :func:`_thaw`)."""
    if isinstance(value, Mapping):
        return ("{}", tuple((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("[]", tuple(_freeze(v) for v in value))
    return (type(value).__name__, value)


def _thaw(frozen: Any) -> Any:
    tag, body = frozen
    if tag == "{}":
        return {k: _thaw(v) for k, v in body}
    if tag == "[]":
        return [_thaw(v) for v in body]
    return body


def _resolve(key: Any) -> Settings:
    profile, case_criteria, case_settings, cli_profile, cli_criteria, cli_overrides = _thaw(key)
    layers = settings_layers(profile=profile, case_criteria=case_criteria, case_settings=case_settings,
                             cli_profile=cli_profile, cli_criteria=cli_criteria, cli_overrides=cli_overrides)
    settings = profile_settings(cli_profile or profile or DEFAULT_PROFILE)
    for where, values in layers[1:]:
        if values:
            settings = settings.updated(values, where=where)
    _check_together(settings, layers)
    return settings


def _check_together(settings: Settings, layers: Sequence[tuple[str, Mapping[str, Any] | None]]) -> None:
    """Settings that are each valid but contradict one another: :class:`SettingsConflictError`
    naming the layer that set the last of them (nothing for the case file's own settings, which
    the caller locates as ``$.settings``)."""
    low = settings.technique_efficacy_window_days[0]
    days = settings.technical_success_imaging_days
    if days > 0 and days >= low:
        # A clean study inside the technique-efficacy window is the follow-up that shows complete
        # ablation (ABL-3); counting it as technical-success imaging would skip it silently.
        # (0, the default, is §11.11's reading: only the ablation-day study, whatever the window.)
        names = ("technical_success_imaging_days", "technique_efficacy_window_days")
        where = next((w for w, values in reversed(layers) if values and any(n in values for n in names)),
                     "settings")
        prefix = "" if where == "settings" else f"{where}: "
        raise SettingsConflictError(
            f"{prefix}technical_success_imaging_days = {days} reaches into the technique-efficacy "
            f"window (technique_efficacy_window_days starts at day {low}): a clean study inside the "
            f"window is the follow-up that shows complete ablation (ABL-2, ABL-3, §11.11); expected "
            f"at most {low - 1}")


_resolve_cached = functools.lru_cache(maxsize=256)(_resolve)
