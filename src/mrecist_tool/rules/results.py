"""What the engine returns: categories with the rule IDs behind them (GEN-8).

Nothing here is computed; these are plain frozen records produced by
:func:`mrecist_tool.rules.assess_case` and read by the CLI, the analysis and the plugin.
"not evaluable" is a result with reasons, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ..model import Case
from .criteria import Settings

# Overall / target categories
CR, PR, SD, PD, NE = "CR", "PR", "SD", "PD", "NE"
NON_CR_NON_PD = "NON-CR/NON-PD"
IR_SD = "IR/SD"  # mRECIST name of the non-target "Non-CR/Non-PD"

# Per-ablated-lesion local status (lesions.csv `local_status`)
LOCAL_COMPLETE = "complete"
LOCAL_RESIDUAL = "residual"
LOCAL_LTP = "ltp"
LOCAL_NE = "not-evaluable"


@dataclass(frozen=True, slots=True)
class Decision:
    """A category and why: rule IDs, review flags, and one-line human explanations.

    Attributes
    ----------
    category : str
        The category, e.g. ``"PR"``, ``"NON-CR/NON-PD"``, or ``"yes"`` / ``"no"`` / ``"equivocal"``
        for new lesions.
    rules : tuple of str
        The rule IDs that decided it (response-rules.md).
    flags : tuple of str
        Review flags: points a reader should look at.
    notes : tuple of str
        One-line explanations, as ``mrecist explain`` shows them.
    """

    category: str
    rules: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """A warning about the case (e.g. a baseline target that is not measurable, REC-M1).

    Attributes
    ----------
    rule : str
        The rule ID.
    message : str
        What is wrong and what the engine did about it.
    lesion : str or None
        The lesion concerned, if any.
    timepoint : str or None
        The timepoint concerned, if any.
    """

    rule: str
    message: str
    lesion: str | None = None
    timepoint: str | None = None


@dataclass(frozen=True, slots=True)
class LesionTimepoint:
    """One row of lesions.csv: what was counted for one lesion at one timepoint.

    Attributes
    ----------
    lesion : str
        The lesion id.
    role : str
        ``"target"``, ``"non-target"`` or ``"new"``.
    timepoint : str
        The timepoint id.
    status : str
        The recorded status, or ``"not-evaluated"`` when there is no observation.
    measure_mm : Decimal or None
        The value that entered the sums (viable, longest diameter or short axis).
    local_status : str
        For an ablated lesion: ``"complete"``, ``"residual"``, ``"ltp"`` or ``"not-evaluable"``;
        else ``""``.
    rules : tuple of str
        The rule IDs behind the row.
    notes : tuple of str
        Explanations.
    """

    lesion: str
    role: str
    timepoint: str
    status: str  # recorded status, or "not-evaluated" when there is no observation
    measure_mm: Decimal | None  # the value that entered the sums (viable / longest / short axis)
    local_status: str = ""  # "" | complete | residual | ltp | not-evaluable
    rules: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TimepointResult:
    """The categories of one timepoint: target, non-target, new lesions and overall.

    One row of timepoints.csv.

    Attributes
    ----------
    timepoint : str
        The timepoint id.
    date : date
        Its date.
    baseline : bool
        Whether it is the baseline.
    criteria : str
        ``"mRECIST"`` or ``"RECIST1.1"``.
    target_sum_mm : Decimal or None
        Sum of the target diameters the criteria use.
    baseline_sum_mm : Decimal or None
        The baseline sum.
    nadir_mm : Decimal or None
        The reference nadir: the smallest sum before this timepoint (baseline included).
    change_from_baseline_pct : Decimal or None
        Change of the sum from baseline, %.
    change_from_nadir_pct : Decimal or None
        Change of the sum from the nadir, %.
    target : Decision or None
        Target response; None at baseline or without target lesions.
    nontarget : Decision or None
        Non-target response; None at baseline or without non-target lesions.
    new_lesions : Decision
        ``"yes"``, ``"no"``, ``"equivocal"`` (or ``"unknown"`` when the search was incomplete).
    overall : Decision or None
        Overall response; None at baseline.
    progression : tuple of str
        Kinds of progression first seen here: ``"target"``, ``"non-target"``, ``"new"``,
        ``"LTP"``, ``"IDP"``, ``"EHP"``.
    flags : tuple of str
        Review flags.
    """
    timepoint: str
    date: date
    baseline: bool
    criteria: str
    target_sum_mm: Decimal | None
    baseline_sum_mm: Decimal | None
    nadir_mm: Decimal | None  # the reference nadir: smallest sum before this timepoint (incl. BL)
    change_from_baseline_pct: Decimal | None
    change_from_nadir_pct: Decimal | None
    target: Decision | None  # None at baseline or when the subject has no target lesion
    nontarget: Decision | None  # None at baseline or when the subject has no non-target lesion
    new_lesions: Decision  # category "yes" | "no" | "equivocal" (| "unknown" when search incomplete)
    overall: Decision | None  # None at baseline
    # Kinds of progression first seen here: "target", "non-target", "new", "LTP", "IDP", "EHP"
    progression: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every rule ID behind this row, in first-seen order."""
        seen: dict[str, None] = {}
        for d in (self.target, self.nontarget, self.new_lesions, self.overall):
            if d is not None:
                for r in d.rules:
                    seen.setdefault(r, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class LocalState:
    """State of one ablated lesion at one follow-up (ABL-11)."""

    timepoint: str
    date: date
    status: str  # complete | residual | ltp | not-evaluable
    rules: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AblatedLesionResult:
    """Per-tumour course after ablation: technique efficacy, residual tumour, LTP (ABL-2..11).

    Attributes
    ----------
    lesion : str
        The lesion id.
    role : str
        The lesion's role: ``"target"``, ``"non-target"`` or ``"new"``.
    ablation_dates : tuple of date
        Every ablation of this lesion, in order.
    states : tuple of LocalState
        Its local state at each follow-up (ABL-11).
    technique_efficacy : str
        ABL-3: ``"primary-success"``, ``"primary-failure"``, ``"assisted-success"`` or
        ``"not-evaluable"``.
    first_complete_date : date or None
        First follow-up showing complete ablation.
    residual_date : date or None
        First follow-up showing residual unablated tumour.
    ltp_date : date or None
        First local tumour progression (dated per ABL-9).
    ltp_timepoint : str or None
        The timepoint of that LTP.
    last_adequate_imaging_date : date or None
        Last contrast imaging of this zone (censoring).
    resected_date : date or None
        When the lesion was resected, if it was.
    ltp_origin_date : date or None
        Origin of the per-tumour LTP risk set: the first ablation, or the re-ablation that
        achieved assisted complete ablation (END-LTP-2); None when the tumour never entered it.
    flags : tuple of str
        Review flags.
    rules : tuple of str
        The rule IDs behind the course.
    local_control_origin_date : date or None
        END-LTP-5: the last ablation of the site, when it starts an episode of local control
        (its first follow-up showed complete ablation, or no adequate follow-up took place);
        None when tumour was seen at the first follow-up after it (not controlled).
    local_control_failure_date : date or None
        END-LTP-5: the first LTP after that ablation's clean follow-up (dated per ABL-9).
    """

    lesion: str
    role: str
    ablation_dates: tuple[date, ...]  # every ablation of this lesion, in order
    states: tuple[LocalState, ...]
    # ABL-3: "primary-success", "primary-failure", "assisted-success", "not-evaluable"
    technique_efficacy: str
    first_complete_date: date | None  # first follow-up showing complete ablation
    residual_date: date | None  # first follow-up showing residual unablated tumour
    ltp_date: date | None  # first LTP (dated per ABL-9)
    ltp_timepoint: str | None
    last_adequate_imaging_date: date | None  # last contrast imaging of this zone (censoring)
    resected_date: date | None = None
    # Origin of the per-tumour LTP risk set: first ablation, or the re-ablation that achieved
    # assisted complete ablation (END-LTP-2); None when the tumour never entered it.
    ltp_origin_date: date | None = None
    flags: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    # END-LTP-5: local tumour control after repeat treatment, from the last ablation of the site.
    local_control_origin_date: date | None = None
    local_control_failure_date: date | None = None


@dataclass(frozen=True, slots=True)
class BestResponse:
    """Best overall response of a subject, with its confirmation and duration (REC-C*, REC-D1).

    Attributes
    ----------
    category : str
        ``"CR"``, ``"PR"``, ``"SD"``, ``"PD"``, ``"NE"`` or ``"NON-CR/NON-PD"``.
    confirmed : bool or None
        Whether CR/PR was confirmed; None when confirmation is not required.
    timepoint : str or None
        The timepoint that gave the best response.
    first_response_date : date or None
        First date the CR/PR criteria were met (REC-D1).
    progression_date : date or None
        First PD (after retro-dating).
    duration_of_response_days : int or None
        From the first response to progression or censoring.
    sd_min_met : bool
        Whether SD lasted the minimum time (``sd_min_days``).
    rules : tuple of str
        The rule IDs behind it.
    flags : tuple of str
        Review flags.
    notes : tuple of str
        Explanations.
    """
    category: str  # CR PR SD PD NE NON-CR/NON-PD
    confirmed: bool | None  # None when confirmation is not required
    timepoint: str | None  # the timepoint that gave the best response
    first_response_date: date | None  # first date CR/PR criteria were met (REC-D1)
    progression_date: date | None  # first PD (after retro-dating)
    duration_of_response_days: int | None
    sd_min_met: bool
    rules: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubjectEvents:
    """Patient-level dates the endpoints need (§6), all from imaging unless noted.

    Attributes
    ----------
    first_progression_date : date or None
        First overall PD (after retro-dating).
    first_progression_kinds : tuple of str
        Its kinds, e.g. ``("LTP",)`` or ``("IDP", "EHP")``.
    first_recurrence_date : date or None
        First LTP, IDP or EHP (a DFS recurrence, §6.0).
    first_recurrence_kinds : tuple of str
        Its kinds.
    first_ltp_date : date or None
        First local tumour progression.
    first_idp_date : date or None
        First intrahepatic distant progression (ABL-6).
    first_ehp_date : date or None
        First extrahepatic progression (ABL-7).
    last_adequate_assessment_date : date or None
        Last imaging with a full assessment and no event.
    last_imaging_date : date or None
        Last imaging of any kind.
    never_disease_free : bool
        Residual tumour never successfully re-treated (END-DFS-4).
    has_post_baseline_assessment : bool
        Whether any follow-up was assessed.
    new_therapy_date : date or None
        First systemic therapy after the baseline.
    assessment_dates : tuple of date
        The baseline and each evaluable follow-up: the missed-assessment analysis measures gaps
        from them (END-GEN-4, §11.14).
    ltp_risk_set : bool
        Whether any tumour is in the per-tumour primary LTP risk set (END-LTP-2; §11.16, §11.17).
    first_ltp_primary_date : date or None
        Its first LTP.
    ltp_assessment_dates : tuple of date
        The studies at which every zone still at risk was adequately imaged.
    ltp_censor_date : date or None
        The last such study, or the resection that left no zone.
    ltp_risk_end_date : date or None
        When every zone was resected without LTP (§11.18).
    """

    first_progression_date: date | None  # first overall PD (after retro-dating)
    first_progression_kinds: tuple[str, ...]  # e.g. ("LTP",) or ("IDP", "EHP")
    first_recurrence_date: date | None  # first LTP / IDP / EHP (DFS recurrence, §6.0)
    first_recurrence_kinds: tuple[str, ...]
    first_ltp_date: date | None
    first_idp_date: date | None  # intrahepatic distant progression (ABL-6)
    first_ehp_date: date | None  # extrahepatic progression (ABL-7)
    last_adequate_assessment_date: date | None  # last imaging with a full assessment, no event
    last_imaging_date: date | None
    never_disease_free: bool  # residual tumour never successfully re-treated (END-DFS-4)
    has_post_baseline_assessment: bool
    new_therapy_date: date | None = None  # first systemic therapy after the baseline
    # Dates of every adequate assessment (the baseline and each evaluable follow-up): the
    # missed-assessment analysis measures gaps from them (END-GEN-4, §11.14).
    assessment_dates: tuple[date, ...] = ()
    # Patient-level LTP (§11.16, §11.17): is any tumour in the per-tumour primary risk set
    # (END-LTP-2)?  Its first LTP, the studies at which every zone still at risk was adequately
    # imaged, and the censoring date (the last such study, or the resection that left no zone).
    ltp_risk_set: bool = False
    first_ltp_primary_date: date | None = None
    ltp_assessment_dates: tuple[date, ...] = ()
    ltp_censor_date: date | None = None
    ltp_risk_end_date: date | None = None  # every zone resected without LTP (§11.18)


@dataclass(frozen=True, slots=True)
class DisappearedLesion:
    """PRE-3 / PRE-4: a liver lesion measurable at baseline, gone at the last pre-ablation study."""

    lesion: str
    role: str
    baseline_mm: Decimal | None
    last_pre_ablation_timepoint: str
    last_pre_ablation_date: date
    site: str  # "ablated" (named in an ablation), "resected", or "observed"
    site_treated_date: date | None
    recurrence_date: date | None  # in-situ recurrence, dated to the first study showing it
    recurrence_timepoint: str | None
    recurrence_kind: str  # "" | "LTP" | "residual" (ablated site) | "IDP" (site not ablated)
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PreAblation:
    """PRE-1 / PRE-2: the response to preoperative chemotherapy, before the first ablation."""

    first_ablation_date: date | None  # of a target lesion (else of any lesion); None: no ablation
    timepoints: tuple[str, ...]  # the pre-ablation window (after baseline, before the ablation)
    last_scan_date: date | None
    best: str  # best response in the window; "" when there is no pre-ablation study
    best_timepoint: str | None
    responder: bool  # CR or PR in the window (no study: non-responder)
    rules: tuple[str, ...] = ()
    dlm: tuple[DisappearedLesion, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseAssessment:
    """Everything :func:`assess_case` found for one case.

    Attributes
    ----------
    case : Case
        The case assessed.
    settings : Settings
        The settings it was assessed with.
    timepoints : tuple of TimepointResult
        In date order, baseline first.
    lesions : tuple of LesionTimepoint
        One row per lesion and timepoint (lesions.csv).
    ablations : tuple of AblatedLesionResult
        One per ablated tumour (ablations.csv).
    best : BestResponse
        The best overall response.
    events : SubjectEvents
        The dates the endpoints need.
    has_target_disease : bool
        Whether the baseline has at least one target lesion.
    warnings : tuple of Finding
        Warnings about the case.
    flags : tuple of str
        Review flags of the case.
    pre_ablation : PreAblation or None
        The response to preoperative chemotherapy before the first ablation (PRE-1 to PRE-4).
    """
    case: Case
    settings: Settings
    timepoints: tuple[TimepointResult, ...]  # in date order, baseline first
    lesions: tuple[LesionTimepoint, ...]
    ablations: tuple[AblatedLesionResult, ...]
    best: BestResponse
    events: SubjectEvents
    has_target_disease: bool
    warnings: tuple[Finding, ...] = ()
    flags: tuple[str, ...] = field(default=())
    pre_ablation: PreAblation | None = None

    @property
    def subject(self) -> str:
        return self.case.subject.id

    def timepoint(self, tp_id: str) -> TimepointResult:
        for tp in self.timepoints:
            if tp.timepoint == tp_id:
                return tp
        raise KeyError(tp_id)
