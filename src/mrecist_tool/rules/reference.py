"""The project's rules reference: every rule ID, in plain words, and where a setting decides it.

``docs/rules.md`` is generated from this module (``make rules-doc``), so the rule texts, the
settings and their defaults (from :data:`~.criteria.PARAMS`, :class:`~.criteria.Settings` and
:data:`~.criteria.PROFILES`) and the anchors cannot drift apart; a test compares the file with
:func:`rules_markdown` and checks that every rule ID used in the source is here.  The report and
``mrecist explain`` link rule IDs to the same anchors with :func:`rule_link` /
:func:`rule_anchor`.

Sourcing flags (response-rules.md §0.1): V verified from the primary text or the EORTC FAQ,
A from an abstract, S from a secondary source, R reconstructed (to check against the paper),
D a toolkit design decision awaiting sign-off.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .criteria import DEFAULT_PROFILE, PARAMS, PROFILES, Settings

#: A rule ID as the code and the tables write it (``MR-T2``, ``END-GEN-4``, ``REC-Table1``).
RULE_ID_RE = re.compile(r"\b(?:GEN|REC|MR|APP|ABL|MAR|END|STAT|PRE|PJ)-[A-Za-z0-9]+(?:-[0-9]+)?\b(?!\*)")

FLAGS = {
    "V": "verified (primary text or EORTC FAQ)",
    "A": "abstract only",
    "S": "secondary source",
    "R": "reconstructed, to be checked against the paper",
    "D": "toolkit design decision (needs SAP or clinical sign-off)",
}


@dataclass(frozen=True)
class RuleEntry:
    """One rule of the reference."""

    id: str
    flag: str  # one or more of FLAGS joined by "/", e.g. "R/S"
    title: str
    text: str
    section: str


# Each section: "# Heading", then entries "ID [flag] Title. Text" separated by blank lines.  The
# texts are written for this project from the rules as implemented (not quoted from papers).
_CATALOGUE = """
# General conventions (GEN)

GEN-1 [D] Exact lengths. Lengths are millimetres held as exact decimals, never binary floats, from the case file to every threshold.

GEN-2 [D] Exact thresholds. Percentage thresholds are compared by cross-multiplication without division: PR when (B − S)·100 ≥ PR%·B, PD when (S − N)·100 ≥ PD%·N, so 14.0 → 9.8 mm is exactly −30 % and 35 → 42 mm exactly +20 %.

GEN-3 [D] Nadir of zero. Relative progression also needs S − N > 0: a sum that stays at 0 mm after a nadir of 0 mm is not progression.

GEN-4 [V] Inclusive thresholds. "At least 30 %", "at least 20 %" and "at least 5 mm" are met exactly at the threshold.

GEN-5 [D] No rounding before comparing. Decisions use the stored measurements; percentages are rounded to one decimal only for display in tables and text.

GEN-6 [D] Time. A study day is the date minus the origin in days; months are days / 30.4375. An event is dated by the imaging study that first shows it.

GEN-7 [D] Evaluation order. At a timepoint progression is checked first, then not evaluable, then CR, PR and SD, so missing data never hides progression.

GEN-8 [D] Audit trail. Every category carries the rule IDs that decided it and any review flags; `mrecist explain` prints them.

# RECIST 1.1 (REC)

REC-M1 [V] Measurable lesion. A non-nodal lesion is measurable at baseline when its longest diameter is at least 10 mm, or twice the slice thickness when slices are thicker than 5 mm. A target below the floor is a baseline warning, not a refusal.

REC-M2 [V] Lymph nodes. Nodes are measured on the short axis: 15 mm or more can be a target, 10 to under 15 mm is pathological but non-target, under 10 mm is normal.

REC-M3 [V] Non-measurable disease. Effusions, lymphangitic spread, small lesions and the like cannot be targets; a target of that kind is a baseline warning.

REC-M4 [V] Locally treated lesions. A lesion in a previously treated area (an earlier ablation, for example) is not usually measurable; choosing it as a target raises a warning.

REC-M5 [V] Cystic metastases. They may be measurable, but non-cystic lesions are preferred as targets. Recorded for completeness; the engine does not distinguish cystic lesions.

REC-B1 [V] Number of targets. At most 5 targets in total and 2 per organ. Extra targets are all assessed and the excess is a warning in `validate`, the flags and the viewer (§11.2).

REC-B2 [V] Organs. All lymph nodes together count as one organ, and so do paired organs.

REC-B3 [V] Baseline sum. The sum of the longest diameters of non-nodal targets plus the short axes of nodal targets.

REC-B4 [V] Non-targets. Every other lesion is a non-target, followed as present, absent or unequivocally progressed.

REC-T1 [V] Target CR. Every non-nodal target has gone and every nodal target has a short axis under 10 mm (the nodes keep their short axis in the sum).

REC-T2 [V] Target PR. The sum is at least the PR threshold (30 %) below the baseline sum.

REC-T3 [V] Target PD. The sum is at least 20 % above the nadir (the smallest sum on study, baseline included) and, under RECIST 1.1, at least 5 mm above it.

REC-T4 [V] Target SD. Neither shrinkage enough for PR nor growth enough for PD.

REC-T5 [V] Persistence of PR. The EORTC FAQ keeps a PR at later visits until PD; the default instead judges PR against the baseline at every visit.

REC-S1 [V] Nodal targets in the sum. A nodal target's actual short axis is recorded and summed even below 10 mm.

REC-S2 [V] Too small to measure. A lesion present but too small to measure counts as the default size (5 mm); one believed gone counts as 0 mm.

REC-NT [V] Non-target response. CR when every non-target has gone (and nodes are normal), PD on unequivocal progression, otherwise Non-CR/Non-PD.

REC-NT1 [V] Unequivocal non-target progression. A reader's judgement of substantial worsening, taken from the case file (`unequivocal_progression`), never derived from sizes.

REC-N1 [V] New lesions. A new lesion counts only when unequivocal; an equivocal one is followed.

REC-N3 [V] Equivocal, then confirmed. When a later study confirms an equivocal finding, progression is dated to the study that first showed it, and the earlier timepoint is revised.

REC-N4 [V] FDG-PET. PET rules are not modelled; a PET-only finding must be entered by the reader as a new lesion (or not).

REC-N5 [V] Reappearance and new nodes. A lesion that disappears and comes back is progression only when other PD criteria are met or an overall CR was confirmed at the previous assessment; a new node counts from a short axis of 10 mm.

REC-NE1 [V] No imaging. A timepoint without imaging is not evaluable (NE).

REC-NE2 [V] Partly assessed. When some targets are missing the timepoint is NE, unless the measured part already meets PD (the partial sum is a lower bound of the full sum) or a non-target or new lesion gives PD.

REC-NE3 [V] Missing non-targets. A target CR with a non-target not evaluated is an overall PR; missing data never turns PR or SD into NE.

REC-NE4 [D] New lesions not excluded. When the new-lesion search was incomplete, an overall CR becomes NE.

REC-Table1 [V] Overall response with targets. RECIST 1.1 Table 1 combines target, non-target and new-lesion results into the timepoint response.

REC-Table2 [V] Overall response without targets. RECIST 1.1 Table 2 for non-target-only disease: CR, Non-CR/Non-PD, NE or PD (never SD or PR).

REC-C1 [V] Confirmation. CR and PR need a confirming assessment at least `confirm_min_days` later only when `confirmation_required` is on (off for randomised trials).

REC-C2 [V] Best overall response. The best timepoint response from randomisation until progression; assessments after PD are ignored, and by default so are assessments after a new non-protocol therapy (a scan on the day it starts still counts).

REC-C3 [V] Minimum duration of SD. SD (or Non-CR/Non-PD) counts as best response only when met at or after `sd_min_days` from randomisation; otherwise the best response is PD or NE.

REC-C4 [V] Confirmed best response. RECIST 1.1 Table 3 gives the best response when confirmation is required.

REC-C5 [V] CR followed by PR. The engine cannot tell whether the CR was real: by default the CR is reclassified as PR and flagged for review.

REC-C6 [D] Between a response and its confirmation. An NE may stand between them (`allow_intervening_ne`); an SD breaks the confirmation unless `confirm_accept_intervening_sd` is on.

REC-D1 [V] Duration of response. From the first date CR or PR criteria are met to the first documented progression (nadir as reference).

# mRECIST (MR)

MR-V1 [R/S] Viable diameter. A target's measurement is the longest diameter of its viable (enhancing) part.

MR-V3 [D] Several viable foci in one target. The largest focus by default, or their sum (`viable_fragment_rule`).

MR-V4 [S/D] No enhancement. A target without viable tissue has a viable diameter of 0 mm, whatever scar or ablation zone remains.

MR-V5 [D] Viable but too small to measure. Counts as the too-small default (5 mm) and is flagged.

MR-B1 [R/S] Target eligibility. A target must be measurable (REC-M1) and show intratumoral enhancement; otherwise a baseline warning.

MR-B3 [S/D] Number of targets. As RECIST 1.1: at most 5 in total and 2 per organ, so at most 2 in the liver.

MR-B4 [R] Portal vein thrombus. Non-measurable; always a non-target.

MR-B5 [R] Porta hepatis nodes. Malignant only from a short axis of 20 mm.

MR-T1 [R/S] Target CR. No viable tissue in any target (every viable diameter 0); a nodal target counts as gone below 10 mm short axis (§11.1).

MR-T2 [R/S] Target PR. The sum of viable diameters at least 30 % below the baseline sum.

MR-T3 [R/S] Target PD. The sum of viable diameters at least 20 % above the nadir.

MR-T4 [S] No absolute minimum for PD. mRECIST needs no 5 mm increase (`pd_abs_min_mm` 0); RECIST 1.1 needs 5 mm.

MR-T5 [R/S] Target SD. Neither PR (MR-T2) nor PD (MR-T3): the viable burden is stable.

MR-T6 [D] Nadir includes the baseline. The smallest sum since treatment started counts the baseline sum.

MR-T7 [D] Reappearance after a nadir of 0. Literally an infinite increase, so PD (`literal_pd`); `recist_like` also asks for RECIST's 5 mm and REC-N5 (§11.7).

MR-NT [R/S] Non-target response. CR when no non-target enhances; IR/SD while one does; PD on unequivocal progression.

MR-SP1 [R] Effusions and ascites. A new or worse effusion is progression only with positive cytology (`effusion_requires_cytology`, on under mRECIST).

MR-SP2 [R] New porta hepatis node. A new lesion only from a short axis of 20 mm.

MR-SP3 [R] Portal vein thrombus. Unequivocal growth of a malignant thrombus is non-target PD.

MR-SP4 [R] New intrahepatic lesion. Under the HCC rule, a new liver lesion counts when at least 10 mm with the typical pattern, or atypical and grown by 10 mm; otherwise it is equivocal and followed.

MR-SP5 [R] Retrospective dating. A lesion that meets the criteria only later is dated to the study that first showed it.

MR-O [R/S] Overall response. The mRECIST table combines target, non-target and new-lesion results as RECIST 1.1 Table 1 does.

MR-O1 [D] Inherited from RECIST 1.1. NE handling, best response, confirmation, SD duration and the response rates follow RECIST 1.1.

MR-O2 [D] Viability phase not imaged. Without a diagnostic study in the viability phase (`viability_phase`) a lesion's viability cannot be judged: NE for that lesion.

# mRECIST applied to colorectal liver metastases and ablation zones (APP)

APP-1 [D] Viability is an annotation. Readers mark viable tissue; the setting records which phase defines it (`viability_phase`).

APP-2 [D] New liver lesions in CRLM. The HCC pattern does not apply: `recist_unequivocal` (REC-N1, no size floor) or `size_and_pattern` (10 mm floor, §11.4).

APP-3 [D] Ablated targets. A completely ablated target has a viable diameter of 0; residual tumour or LTP at its zone is that target's viable tissue and enters the sum.

APP-4 [D] LTP at a non-target's zone. The non-target becomes IR/SD at least; PD only when the reader flags unequivocal progression or after a confirmed overall CR.

APP-5 [D] Distant progression as new lesions. Intrahepatic distant and extrahepatic progression are judged as candidate new lesions.

# Ablation and local tumour progression (ABL)

ABL-2 [R] Technical success. The tumour was treated as planned and is covered by the ablation zone; a study on the ablation day is technical-success imaging, not the first follow-up (§11.11). `technical_success_imaging_days` (default 0) extends that to clean studies up to that many days after an ablation; any later study is a follow-up, flagged when it falls outside the window (ABL-8).

ABL-3 [R] Technique efficacy. Complete ablation on follow-up imaging within the protocol window (`technique_efficacy_window_days`); primary after the first procedure, assisted after a repeat ablation.

ABL-4 [R] Residual unablated tumour. Viable tissue at or in the zone at the first follow-up: a failure of technique efficacy, not LTP.

ABL-5 [R] Local tumour progression. Tumour at the zone's edge after at least one follow-up showed complete ablation.

ABL-6 [D/R] LTP or intrahepatic distant progression. A focus whose gap to the zone's edge is at most `ltp_max_distance_mm` (10 mm, inclusive) is LTP; farther away it is intrahepatic distant progression.

ABL-7 [R] Extrahepatic progression. New disease outside the liver.

ABL-8 [D] First follow-up rule. Viable tissue is residual, not LTP, however late the first follow-up is; outside the window it is also flagged "timing indeterminate".

ABL-9 [R/D] Event date. The first imaging study showing the focus, also when confirmed later.

ABL-10 [D] Repeat ablation. Residual tumour or LTP re-ablated successfully counts towards assisted technique efficacy; the primary LTP analysis still ends at the first LTP.

ABL-11 [D] Per-tumour states. ablated → complete or residual → complete (assisted) → LTP; resection, death and loss to imaging end the tumour's follow-up.

# Time-to-event conventions after ablation (PJ)

PJ-1 [R] Unit of analysis. Patient for OS, DFS and distant progression (`DISTANT`); tumour for technique efficacy and LTP, with clustering by patient.

PJ-2 [R] Start time. Randomisation for patient endpoints; the tumour's ablation date for per-tumour LTP.

PJ-4 [R] Time to X versus X-free survival. In "time to X" death without X is competing or censored; in "X-free survival" death from any cause is an event.

PJ-5 [R] Censoring. At the last adequate assessment of the endpoint: the last adequate imaging of the region, or the last date known alive for survival.

# Ablative margin (MAR)

MAR-1 [D] Inputs. Tumour mask before ablation, ablation-zone mask after it, liver masks, and voxel spacing from the header.

MAR-2 [D] Registration. Pre-ablation image registered to post-ablation (rigid, then deformable); flagged unreliable when the liver Dice or landmark error is poor.

MAR-3 [D] Resampling. Distances on an isotropic grid (`margin_isotropic_spacing_mm`) or on reconstructed surfaces.

MAR-4 [D] Minimal ablative margin. The smallest signed distance from the tumour surface to the zone surface: negative when tumour lies outside the zone.

MAR-6 [D] Subcapsular correction. Zone surface at the liver capsule is excluded from the margin (`margin_subcapsular_correction`); raw and corrected values are both reported.

MAR-7 [D] Margin report. Minimal margin (raw and corrected), its location, tumour coverage, the share of the surface with 5 and 10 mm, quantiles and registration quality.

MAR-8 [D] Test tolerance. Voxel methods within one voxel; mesh methods within 0.5 mm on fine grids.

# Endpoints (END)

END-GEN-1 [D] Origin. Randomisation for every patient endpoint; the ablation date for per-tumour LTP.

END-GEN-2 [D] Event dates. The first imaging study showing the event; the death date for death.

END-GEN-3 [D] Imaging censoring. At the last adequate disease assessment without an event; day 0 when there is none.

END-GEN-4 [R] Missed assessments. Primary analysis: the event counts. Sensitivity analysis (`missed_assessments_policy` censor_before_gap): an event or death after two or more missed scheduled assessments is censored at the last adequate assessment before the gap; the schedule is `assessment_schedule` (§11.13, §11.14).

END-OS [D] Overall survival. Death from any cause; censored at the last date known alive (the latest of last-known-alive and every study, §11.15).

END-DFS [D] Disease-free survival. First recurrence (LTP, intrahepatic distant, extrahepatic) or death; the registry definition counts only death due to disease, other deaths competing (`dfs_definition`).

END-DFS-4 [D] Never disease-free. Residual tumour not successfully re-treated within the window (`dfs_retreatment_window_days` from the ablation), or a target never ablated and still viable, is a DFS event at day 0 or excluded (`dfs_never_disease_free`), flagged.

END-LTP [D] Local tumour progression. Per tumour from its ablation (cumulative incidence, death competing) and per patient from randomisation.

END-LTP-2 [D] Residual tumours. A tumour with residual tumour is left out of the primary LTP analysis; it enters a secondary one from its assisted complete ablation. A tumour without any adequate follow-up is not left out (the project's reading, below).

END-LTP-3 [D] Cumulative incidence, not 1 − KM. LTP is estimated with Aalen–Johansen, death competing.

END-LTP-5 [D] Local control after repeat treatment. Counts LTP after re-ablation from the last ablation of the site (`LOCAL_CONTROL_TUMOUR`); a clean study after re-ablation makes the status complete again (§11.12).

END-LTPFS [D] LTP-free survival. LTP or death from any cause, per tumour and per patient.

END-CSS [D] Cancer-specific survival. Death from the cancer, other deaths competing.

END-CSS-3 [D] Unknown cause of death. Counted as cancer death by default (`css_unknown_cause`); also in the registry DFS (§11.10).

END-ORR [D] Objective response rate. Best response CR or PR among patients with measurable disease at baseline, exact confidence interval.

END-ORR-2 [D] ORR denominator. All randomised patients with measurable disease; no evaluable assessment counts as non-response; responses after PD or new therapy do not count.

END-ORR-3 [D] Non-target-only disease. No PR or CR rate for patients without targets; their best response is CR, Non-CR/Non-PD, PD or NE.

END-DCR [D] Disease control rate. Best response CR, PR, or SD meeting the minimum duration.

END-TE [D] Technique efficacy rate. Primary and assisted technique efficacy per tumour, with patient clusters.

# Statistics (STAT)

STAT-1 [V] Kaplan–Meier. Greenwood variance, log(−log) intervals, median with Brookmeyer–Crowley interval, landmarks at 1, 2, 3 and 5 years.

STAT-2 [V] Median follow-up. Reverse Kaplan–Meier.

STAT-3 [V] Comparison of arms. Stratified log-rank test and a stratified Cox hazard ratio with a proportional-hazards check.

STAT-4 [V] Competing risks. Aalen–Johansen cumulative incidence, Gray's test and the Fine–Gray model.

STAT-5 [V] Proportions. Clopper–Pearson exact intervals.

STAT-6 [D] Clustered tumours. Several tumours per patient: cluster-robust variance and both counts (patients and tumours) reported.

STAT-7 [D] Interval censoring. A sensitivity analysis with interval-censored methods; not computed by the toolkit.

# Response to preoperative chemotherapy (PRE)

PRE-1 [D] Pre-ablation window. Timepoints after baseline and before the first ablation of a target: the response to preoperative chemotherapy, with the case's criteria and without confirmation.

PRE-2 [D] ORR to preoperative chemotherapy. Best response CR or PR in the window among patients of the perioperative arm (`preop_chemo_arm`) with measurable disease; no pre-ablation scan counts as non-response. Reported beside the whole-course ORR, each labelled.

PRE-3 [D] Disappearing liver metastasis. A liver lesion measurable at baseline with no (viable) tumour at the last pre-ablation scan; listed as ablated or observed.

PRE-4 [D] In-situ recurrence. Tumour later seen at a disappeared metastasis, dated to the first study showing it: LTP if the site was ablated, intrahepatic progression if not; a DFS event either way.

PRE-5 [D] Simulated cohorts. The simulated trial follows published orders of magnitude (about 40 % response to preoperative chemotherapy, 5–25 % disappearing metastases, per-tumour LTP 10–15 % by 2–3 years) and says SIMULATED on every output.
"""

#: The decisions of response-rules.md §11 that the code names as ``§11.N``.
DECISIONS: dict[int, str] = {
    1: "A nodal target counts as gone for MR-T1 below 10 mm short axis and stays in the sum.",
    2: "Targets beyond REC-B1/MR-B3 are all assessed; the excess is a warning.",
    3: "A CR is definitive (APP-4, REC-N5) after two CR assessments at least `confirm_min_days` "
       "apart, whatever `confirmation_required` says.",
    4: "APP-2's 10 mm floor applies to `size_and_pattern` only.",
    5: "An equivocal new finding at a target-CR timepoint leaves it CR with a flag, revised "
       "later if confirmed.",
    6: "A later confirmation revises every table together: target and overall response, first "
       "progression, best response and endpoints.",
    7: "MR-T7 `recist_like` uses RECIST's 5 mm floor whatever `pd_abs_min_mm` says.",
    8: "An intervening SD breaks confirmation; a new therapy stops the best response.",
    9: "Deaths from other causes compete (code 2); the missed-assessment sensitivity analysis "
       "censors the imaging endpoints only. Event codes: 0 censored, 1 event, 2 competing.",
    10: "Unknown cause of death in the registry DFS follows `css_unknown_cause`.",
    11: "A study on the ablation day is technical-success imaging, never the first follow-up.",
    12: "LTP, re-ablation, then a clean study: complete again; the first LTP date stays the event.",
    13: "Missed assessments are counted against `assessment_schedule` (every 90 days to day "
        "730, then every 180 days); each segment's visits are due at multiples of its interval "
        "from the end of the previous segment (day 730, so 910, 1090, …); "
        "`[[90, 720], [180, null]]` gives 900, 1080, … instead.",
    14: "A scheduled assessment is missed when no adequate assessment took place by its due date "
        "plus half the interval, before the event; applied to every path into an event or "
        "death in the sensitivity analysis.",
    15: "OS is censored at the latest of last-known-alive and every study date.",
    16: "A patient whose ablated tumours are all excluded by END-LTP-2 has no patient-level LTP "
        "row values (left out, not censored).",
    17: "Per-tumour LTP is censored at the last adequate imaging of that zone; patient-level LTP "
        "and LTPFS at the last study imaging every zone still at risk.",
    18: "Resection of an ablation zone censors that tumour's LTP and LTPFS at the resection.",
    19: "A target never ablated and still viable makes the patient never disease-free.",
    20: "`dfs_definition`: registry (death due to disease) by default, datecan as the alternative.",
    21: "The `nct04562727` profile: `recist_unequivocal`, `viability_phase` any, registry DFS.",
}

#: The project's readings of rule wording that the rules leave open, decided by the project lead
#: after the independent cases found them (tests/independent/disagreements.md).  Each: a title,
#: the rule IDs it reads, and the reading.
READINGS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Missed assessments censor the per-tumour rows too", ("END-GEN-4", "END-LTP", "PJ-1"),
     "§11.9 names LTP among the imaging endpoints and END-LTP's primary unit is the tumour, so the "
     "END-GEN-4 sensitivity analysis (`missed_assessments_policy` censor_before_gap) also censors "
     "`LTP_TUMOUR`, `LTPFS_TUMOUR`, `LTP_TUMOUR_ASSISTED` and `LOCAL_CONTROL_TUMOUR`: an LTP or a "
     "death after two or more missed scheduled assessments is censored at the last adequate "
     "imaging of that zone before the gap. The visits are the patient's (`assessment_schedule` "
     "from randomisation); §11.14's list does not limit §11.9."),
    ("A tumour without follow-up is in the LTP risk set", ("END-LTP-2", "PJ-2", "ABL-11", "§11.16"),
     "END-LTP-2 leaves out only tumours with residual unablated tumour. A tumour whose technique "
     "efficacy is not evaluable because no adequate follow-up took place enters the primary "
     "per-tumour LTP risk set (and the assisted one) from its ablation (PJ-2): it ends as a "
     "competing death (code 2) if the patient died, or is censored at the ablation date "
     "(contributing no time) if not. The patient-level LTP and LTPFS count such tumours in the "
     "same way; a zone never adequately followed cannot show LTP (ABL-5), so it does not hold "
     "back the patient's censoring date (§11.17)."),
    ("\"Within the protocol window\" for re-treating residual tumour", ("END-DFS-4", "ABL-3"),
     "The window is `dfs_retreatment_window_days` days from the tumour's first ablation (default "
     "null: the upper bound of `technique_efficacy_window_days`). Residual tumour cleared by a "
     "re-ablation done later than that, or never cleared, makes the patient never disease-free "
     "(handled by `dfs_never_disease_free`, flagged); a re-ablation exactly at the bound is "
     "within. Residual tumour no longer seen without any re-treatment was not re-treated either: "
     "the patient is never disease-free too, and the ablation course flags it for review."),
    ("Local tumour control after repeat treatment", ("END-LTP-5", "§11.12", "ABL-4"),
     "`LOCAL_CONTROL_TUMOUR`, per tumour: the origin is the last ablation of the site (before any "
     "resection); the event is the first LTP after that ablation's clean follow-up; death without "
     "it competes (code 2); resection censors; otherwise censored at the last adequate imaging of "
     "the zone. A tumour never re-ablated therefore has the origin and event of `LTP_TUMOUR`. A "
     "tumour with viable tissue at the first follow-up after its last ablation is residual after "
     "that treatment, not LTP (ABL-4), and is left out as END-LTP-2 leaves out residual tumour; a "
     "last ablation without adequate follow-up enters as above."),
    ("Time to distant progression", ("PJ-1", "PJ-4", "ABL-6", "ABL-7", "END-GEN-4"),
     "`DISTANT`, per patient from randomisation, is a \"time to X\" endpoint (PJ-4): the event is "
     "the first intrahepatic distant (ABL-6) or extrahepatic (ABL-7) progression; death without "
     "it, of any cause, is a competing event (code 2), its cause named in `event_type`; "
     "otherwise censored at the last adequate disease assessment (END-GEN-3); the END-GEN-4 "
     "sensitivity analysis applies as for DFS. LTP does not end its follow-up."),
)

#: Event codes of every long-format endpoint table (§11.9).
EVENT_CODES = {0: "censored", 1: "event", 2: "competing event"}

_ENTRY_RE = re.compile(r"^(?P<id>\S+) \[(?P<flag>[A-Z/]+)\] (?P<title>.+?)\. (?P<text>.+)$", re.S)


def _parse(catalogue: str) -> tuple[RuleEntry, ...]:
    entries: list[RuleEntry] = []
    section = ""
    for block in catalogue.strip().split("\n\n"):
        block = block.strip()
        if block.startswith("# "):
            section = block[2:]
            continue
        m = _ENTRY_RE.match(block)
        if m is None:  # a malformed entry is a programming error, found by the tests at once
            raise ValueError(f"rules catalogue: cannot read entry {block[:40]!r}")
        entries.append(RuleEntry(m["id"], m["flag"], m["title"], " ".join(m["text"].split()), section))
    return tuple(entries)


RULES: tuple[RuleEntry, ...] = _parse(_CATALOGUE)
RULES_BY_ID: dict[str, RuleEntry] = {r.id: r for r in RULES}


def rule_anchor(rule_id: str) -> str:
    """The anchor of a rule in docs/rules.md and in the report's glossary: ``rule-MR-T2``;
    ``§11.13`` becomes ``rule-s11-13``."""
    if rule_id.startswith("§"):
        return "rule-s" + rule_id[1:].replace(".", "-")
    return f"rule-{rule_id}"


def rule_link(rule_id: str, base: str = "") -> str:
    """A rule ID as an HTML link to its entry (``base`` is the document, empty for the page
    itself, e.g. ``docs/rules.md``)."""
    text = html.escape(rule_id)
    return f'<a href="{html.escape(base)}#{html.escape(rule_anchor(rule_id))}">{text}</a>'


def rule_ids_in(text: str) -> set[str]:
    """Every rule ID written in ``text``."""
    return set(RULE_ID_RE.findall(text))


def settings_of(rule_id: str) -> list[str]:
    """The settings whose definition names ``rule_id`` (from :data:`~.criteria.PARAMS`)."""
    return [name for name, spec in PARAMS.items() if rule_id in re.split(r"[/, ]+", spec.rule)]


def _show(value: Any) -> str:
    if value is None:
        return "by criteria"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")
    if isinstance(value, tuple | list):
        if value and isinstance(value[0], tuple | list):  # assessment_schedule
            return ", ".join(f"every {a} to day {b}" if b is not None else f"every {a}"
                             for a, b in value)
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def default_text(name: str) -> str:
    """A setting's default as text; criteria-dependent defaults name both."""
    defaults = Settings()
    value = getattr(defaults, name)
    if value is not None:
        return _show(value)
    if name == "dfs_retreatment_window_days":
        return (f"null: the upper bound of `technique_efficacy_window_days` "
                f"({defaults.dfs_retreatment_window})")
    by = {c: getattr(dataclasses.replace(defaults, criteria=c).resolved(), name)
          for c in ("mRECIST", "RECIST1.1")}
    return f"{_show(by['mRECIST'])} (mRECIST), {_show(by['RECIST1.1'])} (RECIST 1.1)"


def settings_table() -> str:
    """The Markdown table of every setting, generated from the settings definitions."""
    profiles = [p for p in PROFILES if p != DEFAULT_PROFILE]
    head = ["Setting", "Default", *[f"Profile `{p}`" for p in profiles], "Choices", "Rules", "Meaning"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, spec in PARAMS.items():
        cells = [f'<a id="setting-{name}"></a>`{name}`', default_text(name)]
        for p in profiles:
            cells.append(_show(PROFILES[p][name]) if name in PROFILES[p] else "")
        rules = ", ".join(_rule_ref(r) for r in re.split(r"/", spec.rule))
        cells += [", ".join(spec.choices) if spec.choices else spec.kind.replace("_", " "),
                  rules, spec.help.replace("|", "\\|")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _rule_ref(ref: str) -> str:
    ref = ref.strip()
    if ref in RULES_BY_ID:
        return f"[{ref}](#{rule_anchor(ref)})"
    m = re.fullmatch(r"§11\.(\d+)", ref)
    if m:
        return f"[{ref}](#{rule_anchor(ref)})"
    return ref


def _linked(text: str) -> str:
    """Rule IDs and §11 decisions in ``text`` as Markdown links."""
    text = RULE_ID_RE.sub(lambda m: _rule_ref(m.group(0)), text)
    return re.sub(r"§11\.\d+", lambda m: _rule_ref(m.group(0)), text)


def rules_markdown(tests: Mapping[str, Iterable[str]] | None = None) -> str:
    """docs/rules.md: the whole reference.  ``tests`` maps a rule ID to the test files that name
    it (see :func:`tests_naming`); a rule without an entry lists none."""
    tests = tests or {}
    out = [
        "# Rules reference",
        "",
        "<!-- Generated by `make rules-doc` from src/mrecist_tool/rules/reference.py and the "
        "settings definitions in src/mrecist_tool/rules/criteria.py. Edit those, not this file; "
        "tests/test_rules_reference.py fails when the two differ. -->",
        "",
        "Every rule ID that mrecist-tool writes in its tables, `mrecist explain` and the report, "
        "in plain words, with how it was sourced, the setting that decides it where the rules "
        "leave a choice, and the test files that check it. The rules follow the project's "
        "rules specification (response-rules.md); this page is the project's own summary of "
        "them as implemented.",
        "",
        "Sourcing flags: " + "; ".join(f"**{k}** {v}" for k, v in FLAGS.items()) + ".",
        "",
        "Settings are changed per case file (`\"settings\"`), by a named profile (`--profile`, "
        "the case's `\"profile\"`), or on the command line (`--set NAME=VALUE`); the full list "
        "is in [Settings](#settings).",
        "",
        # ADTTE's CNSR runs the other way (CDISC: 0 event), so it is spelt out rather than
        # lumped in with the 0/1/2 codes, which a reader could then apply to CNSR.
        "Event codes, in every long-format endpoint table (the `event` column of `endpoints.csv`, "
        "patient and tumour rows alike) and in the `*_event` columns of `subjects.csv`: "
        + ", ".join(f"**{k}** {v}" for k, v in EVENT_CODES.items())
        + " ([§11.9](#rule-s11-9)); empty where a row is left out of the analysis, with the "
        "reason in `event_type`. ADaM ADTTE keeps CDISC's own convention: `CNSR` **0** event, "
        "**1** censored, and a competing event is `CNSR` 1 with `CMPEVFL` = Y.",
        "",
    ]
    section = None
    for entry in RULES:
        if entry.section != section:
            section = entry.section
            out += [f"## {section}", ""]
        out.append(f'<a id="{rule_anchor(entry.id)}"></a>')
        out.append(f"**{entry.id}** [{entry.flag}] — **{entry.title}.** {_linked(entry.text)}")
        settings = settings_of(entry.id)
        if settings:
            out.append("")
            out.append("Setting: " + "; ".join(f"[`{s}`](#setting-{s}), default {default_text(s)}"
                                               for s in settings) + ".")
        named = sorted(tests.get(entry.id, ()))
        if named:
            out.append("")
            out.append("Tests: " + ", ".join(f"`{t}`" for t in named) + ".")
        out.append("")
    out += ["## Decisions on open points (response-rules.md §11)", ""]
    for n, text in DECISIONS.items():
        out.append(f'<a id="{rule_anchor(f"§11.{n}")}"></a>')
        out.append(f"**§11.{n}** {_linked(text)}")
        out.append("")
    out += ["## The project's readings of open wording", "",
            "Where the rules' wording leaves a choice that changes a number, the project reads "
            "it as follows (decided by the project lead after independent cases written from the "
            "rules found the gap). These are the project's readings, not the rules' text.", ""]
    for n, (title, ids, text) in enumerate(READINGS, start=1):
        out.append(f'<a id="reading-{n}"></a>')
        out.append(f"**Reading {n}: {title}** ({', '.join(_rule_ref(i) for i in ids)}). {_linked(text)}")
        out.append("")
    out += ['<a id="settings"></a>', "## Settings", "",
            "Generated from the settings definitions. \"by criteria\" defaults depend on "
            "`criteria`; a profile column lists only what the profile sets.", "",
            settings_table(), ""]
    return "\n".join(out)


# Test names cannot hold hyphens: ``test_MR_T6_…``, ``test_11_14_END_GEN_4_…``, ``GEN3``.
_TEST_NAME_ID_RE = re.compile(
    r"(?<![A-Za-z])(GEN|REC|MR|APP|ABL|MAR|END|STAT|PRE|PJ)[_-]?([A-Za-z]*[0-9]*)(?:[_-]([0-9]+)(?![0-9]))?")


def rule_ids_named_in_test(text: str) -> set[str]:
    """The documented rule IDs a test file names, written ``MR-T6`` or, in test names,
    ``MR_T6`` / ``END_GEN_4`` / ``GEN3``."""
    found = rule_ids_in(text) & RULES_BY_ID.keys()
    for m in _TEST_NAME_ID_RE.finditer(text):
        prefix, middle, number = m.groups()
        for candidate in (f"{prefix}-{middle}-{number}" if number else None, f"{prefix}-{middle}"):
            if candidate in RULES_BY_ID:
                found.add(candidate)
                break
    return found


def tests_naming(test_texts: Mapping[str, str]) -> dict[str, list[str]]:
    """Rule ID → the test files (by name) that name it (:func:`rule_ids_named_in_test`)."""
    out: dict[str, list[str]] = {}
    for name, text in sorted(test_texts.items()):
        for rule_id in rule_ids_named_in_test(text):
            out.setdefault(rule_id, []).append(name)
    return out


def glossary_html(rule_ids: Iterable[str]) -> str:
    """A definition list of the given rules, with :func:`rule_anchor` ids (for the report)."""
    items = []
    for rule_id in sorted(set(rule_ids), key=_sort_key):
        entry = RULES_BY_ID.get(rule_id)
        if entry is None:
            continue
        items.append(f'<dt id="{html.escape(rule_anchor(rule_id))}">{html.escape(rule_id)} '
                     f"[{html.escape(entry.flag)}] {html.escape(entry.title)}</dt>"
                     f"<dd>{html.escape(entry.text)}</dd>")
    return '<dl class="rules">' + "".join(items) + "</dl>" if items else ""


def _sort_key(rule_id: str) -> tuple[int, str, int]:
    order = [r.id for r in RULES]
    return (order.index(rule_id), "", 0) if rule_id in order else (len(order), rule_id, 0)


def rule_summary(rule_id: str) -> str | None:
    """``"MR-T2 [R/S] Target PR"`` for an ID in the reference, else None."""
    entry = RULES_BY_ID.get(rule_id)
    return f"{entry.id} [{entry.flag}] {entry.title}" if entry else None


_TAG_RE = re.compile(r"(<[^>]*>)")
_NO_LINK_INSIDE = ("a", "style", "script", "title", "code", "dt", "h1")


def link_rules_in_html(page: str, *, glossary_title: str = "Rules cited") -> str:
    """Link every rule ID in the text of an HTML page to its glossary entry and add the glossary
    (the entries of the rules cited) before ``</body>``; text inside links, code, headings of
    the page title, styles and scripts is left as it is."""
    open_tags: list[str] = []
    cited: set[str] = set()
    out: list[str] = []
    for chunk in _TAG_RE.split(page):
        if chunk.startswith("<") and chunk.endswith(">"):
            m = re.match(r"<(/?)([a-zA-Z0-9]+)", chunk)
            if m and m.group(2).lower() in _NO_LINK_INSIDE:
                name = m.group(2).lower()
                if m.group(1):
                    if name in open_tags:
                        del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name)]
                elif not chunk.endswith("/>"):
                    open_tags.append(name)
            for href in re.findall(r'href="#rule-([^"]+)"', chunk):
                cited.add(href)
            out.append(chunk)
            continue
        if open_tags:
            out.append(chunk)
            continue

        def _link(m: re.Match[str]) -> str:
            if m.group(0) not in RULES_BY_ID:
                return m.group(0)
            cited.add(m.group(0))
            return rule_link(m.group(0))

        out.append(RULE_ID_RE.sub(_link, chunk))
    text = "".join(out)
    glossary = glossary_html(cited)
    if not glossary:
        return text
    section = (f'<h2 id="sec-rules">{html.escape(glossary_title)}</h2>\n<p class="note">Each rule '
               "in the project's words, with its sourcing flag (V verified, A abstract, S secondary, "
               "R reconstructed, D design decision); the full reference with settings and tests is "
               "docs/rules.md in the mrecist-tool repository.</p>\n" + glossary + "\n")
    at = text.rfind("</body>")
    return text[:at] + section + text[at:] if at >= 0 else text + section
