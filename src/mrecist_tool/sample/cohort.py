"""A simulated two-arm trial cohort as case files (SIMULATED DATA, not patients).

The cohort mimics the design of NCT04562727 — thermal ablation of colorectal liver metastases
with perioperative versus postoperative chemotherapy — closely enough to exercise every endpoint
of response-rules.md §6 and the whole ``mrecist assess`` → ``mrecist analyze`` pipeline:

* 1:1 block randomisation (blocks of 4) to ``perioperative`` and ``postoperative``, accrual over
  18 months; a data cut 48 months after the last randomisation, follow-up up to 60 months;
* baseline CT 3–10 days before randomisation with 1–4 liver metastases of 10–40 mm (the trial's
  eligibility), the first one or two as mRECIST targets and the rest as non-targets (measured at
  baseline too);
* PRE-5: in the perioperative arm, protocol chemotherapy from day 7–14, a CT after about three
  months (missing in 4 %) and the ablation 1–3 weeks later; about 40 % of patients respond, small
  metastases of responders may disappear (a DLM in about 5–25 % of these patients), and a DLM site
  is either ablated or left under observation, where about half come back in situ.  The
  postoperative arm is ablated 14–28 days after randomisation; both arms get chemotherapy after
  the ablation;
* one ablation session of every metastasis (except observed DLMs); first follow-up 28–42 days
  after it, then visits due every 3 months from randomisation to month 24 and every 6 months to
  month 60 (±10 days);
* residual unablated tumour at the first follow-up in about 6 % of tumours (most re-ablated,
  giving assisted technique efficacy; the rest never disease-free), LTP from the ablation in about
  17 % of the other tumours (earlier more likely; about 10–15 % observed by 2–3 years once imaging
  stops after distant recurrence), intrahepatic distant and extrahepatic progression with an arm
  effect (fewer and later distant recurrences in the perioperative arm: cure fraction 30 % versus
  22 %, hazard ratio 0.72 among the others), cancer, other-cause and unknown-cause deaths, loss to
  follow-up, missed visits and an occasional visit without imaging; survival follow-up continues
  after imaging stops;
* a recorded minimal ablative margin for every ablated tumour (``procedures[].margin``, MAR-7),
  drawn given the tumour's outcome so that the odds of LTP fall by 0.45 per mm of margin (the
  published hazard ratio; the report's Cox model estimates about 0.6), with almost no LTP at 5 mm
  and more (response-rules.md §5.1); residual tumour has a negative margin.  The report's "LTP by ablative margin" section shows that relation.

:func:`summarise_cohort` assesses a cohort with the engine and compares it with the PRE-5 orders
of magnitude; ``mrecist sample-data --cohort N`` prints it.

Every file is marked ``"simulated": true`` (top level) and its subject ids are ``SIM-nnnn``; the
analysis report shows a "simulated data" banner for such cohorts.  The output is a deterministic
function of ``(n, seed, visits)``: each subject is drawn from its own seeded generator, so the
first subjects of a larger cohort are the same as those of a smaller one (arms apart).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text

ARMS = ("perioperative", "postoperative")
SIMULATOR = "mrecist-cohort-simulator"
ACCRUAL_START = date(2021, 1, 4)
ACCRUAL_DAYS = 548  # about 18 months
FOLLOW_UP_AFTER_LAST_DAYS = 1461  # data cut 48 months after the last randomisation
# The registry's time frame is 60 months; the month-60 visit may fall a few days after it.
MAX_FOLLOW_UP_DAYS = 1826 + 10
MONTH = 30.4375


def _months(m: float) -> int:
    return round(m * MONTH)


class _Timeline:
    """Imaging visits of one subject and the observations recorded at each."""

    def __init__(self) -> None:
        self.timepoints: list[dict[str, Any]] = []
        self.observations: list[dict[str, Any]] = []

    def add(self, tp_id: str, when: date, *, baseline: bool = False, imaging: bool = True) -> None:
        entry: dict[str, Any] = {"id": tp_id, "date": when.isoformat()}
        if baseline:
            entry["baseline"] = True
        if not imaging:
            entry["imaging"] = "not-done"
        self.timepoints.append(entry)

    def observe(self, lesion: str, tp_id: str, status: str, mm: float | None = None,
                **more: Any) -> None:
        obs: dict[str, Any] = {"lesion": lesion, "timepoint": tp_id, "status": status}
        if mm is not None:
            obs["viable_diameter_mm"] = round(mm, 1)
        obs.update(more)
        self.observations.append(obs)


def _schedule(first_fu: date, origin: date, stop: date, visits: int | None,
              rng: random.Random) -> list[date]:
    """Follow-up dates: the first follow-up after ablation, then visits due every 3 months from
    randomisation to month 24 and every 6 months to month 60, each within ±10 days of its due
    date; a due visit within 6 weeks of the first follow-up is not held."""
    months = [*range(3, 25, 3), *range(30, 61, 6)]
    if visits is not None:  # benchmarks: as many visits as asked, 6-monthly beyond month 60
        months += list(range(66, 66 + 6 * visits, 6))
    dates = [first_fu]
    for m in months:
        when = origin + timedelta(days=_months(m) + rng.randint(-10, 10))
        if (when - first_fu).days < 42:
            continue
        if visits is None and when > stop:
            break
        if visits is not None and len(dates) >= visits:
            break
        dates.append(when)
    return dates


def _subject(index: int, arm: str, seed: int, visits: int | None) -> dict[str, Any]:
    rng = random.Random(seed * 1_000_003 + index)
    sid = f"SIM-{index + 1:04d}"
    randomised = ACCRUAL_START + timedelta(days=rng.randrange(ACCRUAL_DAYS))
    data_cut = ACCRUAL_START + timedelta(days=ACCRUAL_DAYS + FOLLOW_UP_AFTER_LAST_DAYS)
    baseline = randomised - timedelta(days=rng.randint(3, 10))
    perioperative = arm == ARMS[0]
    # PRE-5: the perioperative arm has about three months of chemotherapy (FOLFOX-like) before
    # the ablation, with a CT after it; the postoperative arm is ablated first.
    chemo_start = randomised + timedelta(days=rng.randint(7, 14))
    pre_scan: date | None = None
    if perioperative:
        pre_scan = chemo_start + timedelta(days=rng.randint(77, 91))
        ablation = pre_scan + timedelta(days=rng.randint(7, 21))
        if rng.random() < 0.04:
            pre_scan = None  # no CT between chemotherapy and ablation: a non-responder (PRE-2)
    else:
        ablation = randomised + timedelta(days=rng.randint(14, 28))
    first_fu = ablation + timedelta(days=rng.randint(28, 42))
    adjuvant = ablation + timedelta(days=rng.randint(28, 42))
    n_mets = rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10))[0]
    n_targets = min(2, n_mets)
    # Response to preoperative chemotherapy: about 40 % of patients respond (PRE-5).
    responder = perioperative and rng.random() < 0.42

    # --- latent event times (days from randomisation) --------------------------------------
    # Distant recurrence: 22 % (postoperative) / 30 % (perioperative) never recur; the rest
    # exponential with median 16 months, hazard ratio 0.72 for perioperative chemotherapy.
    distant_t: float | None = None
    if rng.random() > (0.30 if perioperative else 0.22):
        median = 16.0 / (0.72 if perioperative else 1.0)
        distant_t = rng.expovariate(math.log(2) / median) * MONTH
    distant_kind = rng.choices(("IDP", "EHP", "both"), weights=(55, 35, 10))[0]
    other_death_t = rng.expovariate(0.012 / 365.25 * 1.0) if rng.random() < 0.9 else math.inf
    dropout_t = rng.uniform(90, MAX_FOLLOW_UP_DAYS) if rng.random() < 0.05 else math.inf

    lesions: list[dict[str, Any]] = []
    sizes: dict[str, float] = {}
    pre_sizes: dict[str, float] = {}  # size on the pre-ablation CT (0: disappeared, PRE-3)
    ltp_t: dict[str, float] = {}
    residual: dict[str, str] = {}  # lesion -> "retreated" | "persistent"
    observed_dlm: dict[str, float] = {}  # DLM left unablated -> in-situ recurrence day (inf: none)
    segments = ["II", "III", "IVa", "IVb", "V", "VI", "VII", "VIII"]
    rng.shuffle(segments)
    ablation_day = float((ablation - randomised).days)
    growing = perioperative and not responder and rng.random() < 0.08
    for k in range(n_mets):
        lid = f"L{k + 1}"
        role = "target" if k < n_targets else "non-target"
        lesions.append({"id": lid, "role": role, "organ": "liver",
                        "site": f"segment {segments[k]}"})
        sizes[lid] = rng.uniform(10.0, 40.0) if role == "target" else rng.uniform(8.0, 30.0)
        if perioperative:
            if responder:
                factor = rng.uniform(0.3, 0.65)
                # Small metastases of responders may disappear on CT (DLM, PRE-3).
                if rng.random() < (0.4 if sizes[lid] <= 20 else 0.06):
                    factor = 0.0
            else:
                factor = rng.uniform(1.22, 1.4) if growing else rng.uniform(0.78, 1.12)
            pre_sizes[lid] = sizes[lid] * factor
            if factor == 0.0 and rng.random() < 0.4:
                # Left under observation; about half come back in situ (PRE-4).
                back = rng.random() < 0.5
                observed_dlm[lid] = (ablation_day + (3.0 + rng.expovariate(1 / 9.0)) * MONTH
                                     if back else math.inf)
        if rng.random() < 0.06 + 0.002 * max(0.0, sizes[lid] - 30):
            residual[lid] = "retreated" if rng.random() < 0.7 else "persistent"
        elif rng.random() < 0.17 + (0.003 * (sizes[lid] - 25)):
            # LTP from the ablation; early LTP more likely: 2 months plus an exponential with
            # mean 9 months (per-tumour LTP about 10-15 % by 2-3 years, PRE-5).
            ltp_t[lid] = ablation_day + (2.0 + rng.expovariate(1 / 9.0)) * MONTH

    # Cancer death follows a distant recurrence or never-cleared residual tumour (median 26
    # months after it); LTP alone is usually re-treated and leads to it in 40 % (median 36).
    systemic = min([distant_t or math.inf]
                   + ([float((first_fu - randomised).days)]
                      if "persistent" in residual.values() else []))
    cancer_death_t = math.inf
    if systemic < math.inf:
        cancer_death_t = systemic + rng.expovariate(math.log(2) / 26.0) * MONTH
    if len(observed_dlm) == n_mets:
        # Every metastasis gone: the first site is ablated anyway (there is always an ablation).
        observed_dlm.pop("L1")
    for lid in observed_dlm:  # an observed site is not ablated: no residual tumour, no LTP
        residual.pop(lid, None)
        ltp_t.pop(lid, None)
    local_back = [t for t in [*ltp_t.values(), *observed_dlm.values()] if t < math.inf]
    if local_back and rng.random() < 0.4:
        local = min(local_back) + rng.expovariate(math.log(2) / 36.0) * MONTH
        cancer_death_t = min(cancer_death_t, local)
    # Deaths before the first ablation would make the case inconsistent; move them after it.
    earliest = (ablation - randomised).days + 30.0
    cancer_death_t = max(cancer_death_t, earliest)
    other_death_t = max(other_death_t, earliest)
    death_t = min(cancer_death_t, other_death_t)

    procedures: list[dict[str, Any]] = []
    if perioperative:
        procedures.append({"id": "CT1", "type": "systemic-therapy", "date": chemo_start.isoformat(),
                           "technique": "FOLFOX, preoperative", "protocol": True})
    ablated = [les["id"] for les in lesions if les["id"] not in observed_dlm]
    procedures.append({
        "id": "ABL1", "type": "ablation", "date": ablation.isoformat(),
        "lesions": ablated,
        "technique": rng.choices(("MWA", "RFA"), weights=(70, 30))[0],
        # the MAM of each ablated tumour, as a core lab would record it (MAR-7, §5.1)
        "margin": {"lesions": {lid: {"mam_mm": mam} for lid, mam in
                               _margins(seed, index, ablated, ltp_t, residual).items()}},
    })
    if (adjuvant - randomised).days < min(death_t, dropout_t):
        procedures.append({"id": "CT2", "type": "systemic-therapy", "date": adjuvant.isoformat(),
                           "technique": "FOLFOX, " + ("postoperative part" if perioperative
                                                       else "postoperative"),
                           "protocol": True})
    retreat_date = first_fu + timedelta(days=rng.randint(10, 21))
    retreat_day = (retreat_date - randomised).days
    if (any(v == "retreated" for v in residual.values())
            and retreat_day < min(death_t, dropout_t)):
        procedures.append({
            "id": "ABL2", "type": "ablation", "date": retreat_date.isoformat(),
            "lesions": [lid for lid, v in residual.items() if v == "retreated"],
            "technique": "MWA",
        })

    stop_imaging = min(data_cut, randomised + timedelta(days=MAX_FOLLOW_UP_DAYS))
    fixed_visits = visits - 1 if visits is not None and pre_scan is not None and visits > 1 else visits
    planned = _schedule(first_fu, randomised, stop_imaging, fixed_visits, rng)

    tl = _Timeline()
    tl.add("BL", baseline, baseline=True)
    for les in lesions:
        # Non-targets are measured at baseline too, so that one can disappear (PRE-3).
        tl.observe(les["id"], "BL", "measured", sizes[les["id"]])
    if pre_scan is not None and (visits is not None or (pre_scan - randomised).days < min(death_t, dropout_t)):
        tl.add("PRE", pre_scan)
        for les in lesions:
            lid = les["id"]
            if pre_sizes[lid] == 0.0:
                tl.observe(lid, "PRE", "absent")
            elif les["role"] == "target":
                tl.observe(lid, "PRE", "measured", pre_sizes[lid])
            else:
                tl.observe(lid, "PRE", "present")

    progressed_at: float | None = None  # day of the first visit showing any progression
    visits_after_progression = rng.randint(0, 2)
    new_lesions: list[dict[str, Any]] = []
    first_new: dict[str, str] = {}
    persistent_growth = 1.0
    ltp_growth: dict[str, float] = {}
    last_visit_day = 0
    fu_no = 0
    for when in planned:
        day = (when - randomised).days
        fixed = visits is not None
        if not fixed and (day >= death_t or day >= dropout_t):
            break
        if not fixed and progressed_at is not None:
            if visits_after_progression <= 0:
                break
            visits_after_progression -= 1
        fu_no += 1
        tp = f"FU{fu_no}"
        # Missed visits (5 %; never the first follow-up) are simply absent; 2 % happen without
        # imaging, which the engine reads as NE.
        if not fixed and fu_no > 1 and rng.random() < 0.05:
            fu_no -= 1
            continue
        if not fixed and fu_no > 1 and rng.random() < 0.02:
            tl.add(tp, when, imaging=False)
            continue
        tl.add(tp, when)
        last_visit_day = day
        event_here = False
        for les in lesions:
            lid = les["id"]
            if lid in observed_dlm:
                if day >= observed_dlm[lid]:
                    # PRE-4: tumour back at the unablated site of a disappeared metastasis.
                    growth = ltp_growth.get(lid)
                    growth = rng.uniform(6.0, 14.0) if growth is None else growth * 1.3
                    ltp_growth[lid] = growth
                    tl.observe(lid, tp, "measured", growth)
                    event_here = True
                else:
                    tl.observe(lid, tp, "absent")
                continue
            state = residual.get(lid)
            if state is not None and fu_no == 1:
                # ABL-4: viable tissue at the zone's edge on the first follow-up.
                tl.observe(lid, tp, "measured", max(6.0, sizes[lid] * rng.uniform(0.3, 0.5)),
                           gap_to_ablation_zone_mm=0)
                continue
            if state == "persistent":
                persistent_growth *= 1.35
                tl.observe(lid, tp, "measured",
                           max(6.0, sizes[lid] * 0.45) * persistent_growth,
                           gap_to_ablation_zone_mm=0)
                event_here = True
                continue
            t_ltp = ltp_t.get(lid)
            if t_ltp is not None and day >= t_ltp and when > first_fu:
                growth = ltp_growth.get(lid)
                growth = rng.uniform(8.0, 18.0) if growth is None else growth * 1.3
                ltp_growth[lid] = growth
                tl.observe(lid, tp, "measured", growth, gap_to_ablation_zone_mm=0)
                event_here = True
                continue
            tl.observe(lid, tp, "absent")
        if distant_t is not None and day >= distant_t and when > first_fu:
            kinds = ("IDP", "EHP") if distant_kind == "both" else (distant_kind,)
            for kind in kinds:
                nid = first_new.get(kind)
                if nid is None:
                    nid = f"N{len(new_lesions) + 1}"
                    first_new[kind] = nid
                    if kind == "IDP":
                        new_lesions.append({"id": nid, "role": "new", "organ": "liver",
                                            "location": "intrahepatic",
                                            "site": f"segment {segments[-1]}"})
                    else:
                        new_lesions.append({"id": nid, "role": "new",
                                            "organ": rng.choice(("lung", "peritoneum")),
                                            "location": "extrahepatic"})
                if kind == "IDP":
                    tl.observe(nid, tp, "measured", rng.uniform(11.0, 25.0),
                               enhancement="typical")
                else:
                    tl.observe(nid, tp, "present")
            event_here = True
        if event_here and progressed_at is None:
            progressed_at = day

    horizon = min((data_cut - randomised).days, MAX_FOLLOW_UP_DAYS)
    subject: dict[str, Any] = {
        "id": sid,
        "arm": arm,
        "randomization_date": randomised.isoformat(),
        "strata": {"metastases": "1" if n_mets == 1 else "2-4"},
    }
    fixed = visits is not None
    if fixed:
        death_t = max(death_t, last_visit_day + 1.0)
    if death_t <= horizon and death_t < dropout_t and death_t > last_visit_day:
        cause = "cancer" if cancer_death_t <= other_death_t else "other"
        if rng.random() < 0.1:
            cause = "unknown"
        subject["death"] = {"date": (randomised + timedelta(days=int(death_t))).isoformat(),
                            "cause": cause}
        subject["last_known_alive"] = subject["death"]["date"]
        subject["end_of_study"] = {"date": subject["death"]["date"], "reason": "death"}
    else:
        alive_until = min(horizon, dropout_t)
        alive_until = max(alive_until, last_visit_day)
        subject["last_known_alive"] = (randomised + timedelta(days=int(alive_until))).isoformat()
        # How participation ended (subject.end_of_study), from a generator of its own so that
        # the rest of the cohort stays as it was: a drop-out withdrew or was lost to follow-up;
        # a subject followed for the full 60 months completed; the others are still followed.
        if dropout_t < horizon:
            reason = random.Random(f"end-of-study:{seed}:{index}").choice(
                ("withdrawn", "lost-to-follow-up", "lost-to-follow-up"))
            subject["end_of_study"] = {"date": subject["last_known_alive"], "reason": reason}
        elif horizon >= MAX_FOLLOW_UP_DAYS:
            subject["end_of_study"] = {"date": subject["last_known_alive"], "reason": "completed"}

    return {
        "format": "mrecist-case",
        "version": 1,
        "simulated": True,
        "reader": SIMULATOR,
        "profile": "nct04562727",
        "criteria": "mRECIST",
        "subject": subject,
        "timepoints": tl.timepoints,
        "procedures": procedures,
        "lesions": lesions + new_lesions,
        "observations": tl.observations,
    }


#: odds ratio of LTP per mm of minimal ablative margin that generates the margins: the published
#: hazard ratio, 0.45 per mm (response-rules.md §5.1)
MAM_ODDS_RATIO_PER_MM = 0.45
#: MAM of ablated tumours without LTP: normal, mean and SD (mm); clipped to the range
MAM_MEAN_MM, MAM_SD_MM, MAM_RANGE_MM = 4.5, 2.5, (-5.0, 15.0)


def _margins(seed: int, index: int, ablated: list[str], ltp_t: dict[str, float],
             residual: dict[str, str]) -> dict[str, float]:
    """A recorded MAM (mm, one decimal) for each ablated tumour, given its simulated outcome.

    The outcome (LTP or not) is drawn first, as before margins existed; the margin is then drawn
    given the outcome: normal with SD :data:`MAM_SD_MM` around :data:`MAM_MEAN_MM` without LTP,
    and around ``MAM_MEAN_MM + MAM_SD_MM² · ln(OR)`` (-0.5 mm) with LTP, as in the published
    cohorts (LTP tumours about 0 mm, the others 4-5 mm).  The ratio of the two densities is then
    exactly ``OR ** MAM`` (up to a constant): the odds of LTP fall by
    :data:`MAM_ODDS_RATIO_PER_MM` per mm, almost no LTP at 5 mm and more.  The Cox model of the
    report estimates a weaker hazard ratio (0.62 per mm, 95 % CI 0.59-0.65, for seed 0 and 668
    subjects): LTP times are drawn apart from the margin, as a cure-type model whose high-risk
    tumours leave the risk set early, so hazards are not proportional over time.
    Residual unablated tumour was not covered: its margin is negative.  A generator of its own
    keeps every other draw of the cohort as it was.
    """
    rng = random.Random(f"mam-{seed}-{index}")
    lo, hi = MAM_RANGE_MM
    shift = MAM_SD_MM**2 * math.log(MAM_ODDS_RATIO_PER_MM)
    out: dict[str, float] = {}
    for lid in ablated:
        if lid in residual:
            mam = rng.uniform(-4.0, -0.5)
        else:
            mam = rng.gauss(MAM_MEAN_MM + (shift if lid in ltp_t else 0.0), MAM_SD_MM)
        out[lid] = round(min(max(mam, lo), hi), 1)
    return out


def _arms(n: int, seed: int) -> list[str]:
    """1:1 permuted-block randomisation, blocks of four."""
    rng = random.Random(seed)
    arms: list[str] = []
    while len(arms) < n:
        block = [ARMS[0], ARMS[0], ARMS[1], ARMS[1]]
        rng.shuffle(block)
        arms.extend(block)
    return arms[:n]


def generate_cohort(n: int, seed: int = 0, visits: int | None = None) -> list[dict[str, Any]]:
    """Case-file dicts (case-format.md v1) for ``n`` simulated subjects in two arms.

    Parameters
    ----------
    n
        Number of subjects (the trial enrols 668).
    seed
        Seed of the generator; the output is a deterministic function of ``(n, seed, visits)``.
    visits
        ``None`` for the realistic schedule (follow-up stops at death, loss to follow-up, the data
        cut, or a few visits after progression).  An integer gives every subject exactly that
        many follow-up timepoints (plus the baseline), with no missed visits — for benchmarks.
    """
    if n < 0:
        raise ValueError(f"expected a number of subjects >= 0, found {n}")
    if visits is not None and visits < 1:
        raise ValueError(f"expected visits >= 1, found {visits}")
    return [_subject(i, arm, seed, visits) for i, arm in enumerate(_arms(n, seed))]


_README = """# Simulated trial cohort (SIMULATED DATA — not patients)

These {n} case files were generated by `mrecist sample-data --cohort {n}` (seed {seed}) with
`mrecist_tool.sample.cohort`. They imitate the design of NCT04562727 (thermal ablation of
colorectal liver metastases, perioperative versus postoperative chemotherapy) so that the whole
pipeline — `mrecist assess` then `mrecist analyze` — can be run end to end. Every number in them
is random: they say nothing about the trial's results. Each file carries `"simulated": true`.
"""


def _is_simulated_file(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("simulated") is True and data.get("reader") == SIMULATOR


def write_cohort(
    out_dir: str | Path, n: int, seed: int = 0, visits: int | None = None
) -> list[Path]:
    """Write ``n`` simulated case files (``SIM-nnnn.json``) and a README into ``out_dir``.

    Returns the paths of the case files.  Files are written atomically; an existing folder is
    reused, files of the same names are replaced, and simulated case files left there by a
    larger earlier cohort are removed (so the folder holds exactly this cohort).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for case in generate_cohort(n, seed, visits):
        path = out / f"{case['subject']['id']}.json"
        atomic_write_text(path, json.dumps(case, indent=1) + "\n")
        paths.append(path)
    keep = {p.name for p in paths}
    for stale in out.glob("SIM-*.json"):
        if stale.name not in keep and _is_simulated_file(stale):
            stale.unlink()
    atomic_write_text(out / "README.md", _README.format(n=n, seed=seed))
    return paths


# -- the PRE-5 summary -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortSummary:
    """What a simulated cohort looks like once assessed by the engine (PRE-5 orders of magnitude).

    Computed from the engine's own results on the generated case files — not from the
    simulator's latent parameters — so it shows what an analysis of the cohort would find.
    """

    subjects: int
    preop_subjects: int  # randomised to the perioperative arm with measurable disease
    preop_responders: int  # CR or PR before the first ablation (PRE-2)
    preop_patients: int  # perioperative patients (given preoperative chemotherapy)
    dlm_patients: int  # of those, with at least one disappearing liver metastasis (PRE-3)
    tumours: int  # ablated tumours in the primary per-tumour LTP analysis
    ltp_24: float  # per-tumour cumulative incidence of LTP at 24 months (death competing)
    ltp_36: float

    @property
    def preop_orr(self) -> float:
        return self.preop_responders / self.preop_subjects if self.preop_subjects else float("nan")

    @property
    def dlm_rate(self) -> float:
        return self.dlm_patients / self.preop_patients if self.preop_patients else float("nan")

    def text(self) -> str:
        return (
            f"SIMULATED cohort of {self.subjects} subjects, as assessed (PRE-5 targets in brackets):\n"
            f"  ORR to preoperative chemotherapy, perioperative arm: {100 * self.preop_orr:.1f} % "
            f"({self.preop_responders}/{self.preop_subjects}) [about 40 %]\n"
            f"  patients with a disappearing liver metastasis: {100 * self.dlm_rate:.1f} % "
            f"({self.dlm_patients}/{self.preop_patients} given preoperative chemotherapy) [5-25 %]\n"
            f"  per-tumour LTP ({self.tumours} tumours): {100 * self.ltp_24:.1f} % at 24 months, "
            f"{100 * self.ltp_36:.1f} % at 36 months [10-15 % by 2-3 years]"
        )


def _cumulative_incidence(rows: list[tuple[int, int]], horizon_days: int) -> float:
    """Aalen–Johansen cumulative incidence of cause 1 at ``horizon_days``; ``rows`` are
    (time in days, code) with 0 censored, 1 event, 2 competing (events before censorings at a tie)."""
    rows = sorted(rows)
    at_risk = len(rows)
    surviving, incidence = 1.0, 0.0
    i = 0
    while i < len(rows) and rows[i][0] <= horizon_days:
        t = rows[i][0]
        same = [code for time, code in rows[i:] if time == t]
        events, competing = same.count(1), same.count(2)
        if at_risk:
            incidence += surviving * events / at_risk
            surviving *= 1 - (events + competing) / at_risk
        at_risk -= len(same)
        i += len(same)
    return incidence


def summarise_cohort(cases: list[dict[str, Any]]) -> CohortSummary:
    """Assess generated case-file dicts with the engine and summarise them against PRE-5."""
    from ..casefile import case_from_dict
    from ..pipeline.endpoints import tumour_endpoints
    from ..pipeline.tables import ablation_rows, subject_row
    from ..rules import assess_case

    preop_n = preop_k = preop_patients = dlm_patients = 0
    ltp_rows: list[tuple[int, int]] = []
    for data in cases:
        a = assess_case(case_from_dict(data))
        subject = subject_row(a)
        if a.case.subject.arm == ARMS[0]:
            preop_patients += 1
            dlm_patients += bool(subject["dlm_lesions"])
            if a.has_target_disease:
                preop_n += 1
                preop_k += subject["pre_ablation_responder"] == "true"
        for ablation in ablation_rows(a):
            for row in tumour_endpoints(ablation, subject, a.settings):
                if row["endpoint"] == "LTP_TUMOUR" and row["event"] != "":
                    ltp_rows.append((int(row["time_days"]), int(row["event"])))
    return CohortSummary(
        subjects=len(cases),
        preop_subjects=preop_n,
        preop_responders=preop_k,
        preop_patients=preop_patients,
        dlm_patients=dlm_patients,
        tumours=len(ltp_rows),
        ltp_24=_cumulative_incidence(ltp_rows, round(24 * MONTH)),
        ltp_36=_cumulative_incidence(ltp_rows, round(36 * MONTH)),
    )
