"""Publication plots of a cohort (matplotlib, Agg backend), each saved as PNG and SVG.

* :func:`waterfall` — best % change of the target sum per subject, coloured by best response;
* :func:`spider` — % change of the target sum over time, one line per subject;
* :func:`swimmer` — each subject's course: follow-up, ablations, first response, LTP, other
  recurrence, death (a deterministic sample when the cohort is large);
* :func:`km_plot` — Kaplan–Meier curves per arm with 95 % bands, censoring ticks and numbers at
  risk (STAT-1);
* :func:`cif_plot` — Aalen–Johansen cumulative incidence per arm with numbers at risk (STAT-4).

Every function returns a matplotlib ``Figure``; :func:`save` writes ``NAME.png`` and ``NAME.svg``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: plots are files (and must not need an X server)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..atomic import atomic_write_with
from ..pipeline.endpoints import DAYS_PER_MONTH, ENDPOINT_LABELS, parse_date
from . import survival
from .dataset import AnalysisData, best_change, change_over_time
from .survival import EXTRA_LABELS

plt.rcParams.update({
    "svg.fonttype": "none",  # text stays text in SVG: smaller files, editable labels
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
})

ARM_COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d68910")
BOR_COLOURS = {
    "CR": "#1a9850",
    "PR": "#91cf60",
    "SD": "#f1c40f",
    "NON-CR/NON-PD": "#fdae61",
    "PD": "#d73027",
    "NE": "#9e9e9e",
}
RISK_TIMES = (0, 12, 24, 36, 48, 60)
PNG_DPI = 300  # publication grade; the SVG beside each PNG is vector
SPIDER_SAMPLE_PER_ARM = 40
KM_Y_LABELS = {
    "OS": "Overall survival probability",
    "DFS": "Disease-free survival probability",
    "CSS": "Cancer-specific survival probability (cause-specific)",
    "LTP": "Probability free of LTP (cause-specific)",
    "LTPFS": "LTP-free survival probability",
    "LTP_TUMOUR": "Probability free of LTP (cause-specific)",
    "LTPFS_TUMOUR": "LTP-free survival probability (per tumour)",
    "DOR": "Probability of remaining in response",
}
CIF_Y_LABELS = {
    "DFS": "Cumulative incidence of recurrence or disease death",
    "CSS": "Cumulative incidence of cancer death",
    "LTP": "Cumulative incidence of LTP (per patient)",
    "LTP_TUMOUR": "Cumulative incidence of LTP (per tumour)",
    "LTP_TUMOUR_ASSISTED": "Cumulative incidence of LTP (per tumour)",
    "LOCAL_CONTROL_TUMOUR": "Cumulative incidence of LTP (per tumour)",
    "DISTANT": "Cumulative incidence of distant progression",
}
X_LABELS = {"DOR": "Months from first response",
            # END-LTP-5: the origin is the last ablation of the site, not the first
            "LOCAL_CONTROL_TUMOUR": "Months from the last ablation of the site"}
CIF_TITLES = {
    "CSS": "Cancer death (CSS), other-cause death competing",
    "LTP": "First LTP per patient, death competing",
    "LTP_TUMOUR": "LTP per tumour from ablation, death competing, resection censored",
    "DFS": "Recurrence or disease death (DFS), other-cause death competing",
    # short enough for the figure's width; the report's caption names the rules
    "DISTANT": "Distant progression per patient, death competing",
    "LOCAL_CONTROL_TUMOUR": "Local control: LTP after the last ablation, death competing",
}


def arm_colour(arms: Sequence[str], arm: str) -> str:
    return ARM_COLOURS[list(arms).index(arm) % len(ARM_COLOURS)] if arm in arms else "#555555"


def save(fig: Figure, out_dir: str | Path, name: str) -> dict[str, Path]:
    """Write ``NAME.png`` (300 dpi) and ``NAME.svg``; close the figure; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"png": out / f"{name}.png", "svg": out / f"{name}.svg"}
    for kind, path in paths.items():
        # No bbox_inches="tight": it renders every figure twice; layouts set their margins.
        atomic_write_with(path, partial(fig.savefig, format=kind, dpi=PNG_DPI))
    plt.close(fig)
    return paths


def _empty(message: str, title: str) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    return fig


# -- response plots -----------------------------------------------------------------------------


def waterfall(data: AnalysisData) -> Figure:
    """Best % change from baseline of the target sum, one panel per arm, bars sorted."""
    title = "Best change in target lesion sum (mRECIST viable diameters)"
    frame = best_change(data).dropna(subset=["best_change_pct"])
    if frame.empty:
        return _empty("no subject with a post-baseline target measurement", title)
    # Equal changes (many -100 %) are grouped by best response so the colours read as blocks.
    order = {b: i for i, b in enumerate(["PD", "NE", "SD", "NON-CR/NON-PD", "PR", "CR"])}
    frame["rank"] = frame["best_overall_response"].astype(str).str.upper().map(order).fillna(-1)
    arms = [a for a in data.arms if (frame["arm"] == a).any()] or ["all"]
    fig, axes = plt.subplots(1, len(arms), figsize=(4.6 * len(arms) + 0.8, 4.4), sharey=True,
                             squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.99, top=0.86, bottom=0.24, wspace=0.06)
    low = min(-100.0, float(frame["best_change_pct"].min()))
    high = max(40.0, float(frame["best_change_pct"].max()))
    for ax, arm in zip(axes[0], arms, strict=True):
        part = frame if arm == "all" else frame[frame["arm"] == arm]
        part = part.sort_values(["best_change_pct", "rank"], ascending=[False, True])
        colours = [BOR_COLOURS.get(str(b).upper(), "#607d8b")
                   for b in part["best_overall_response"]]
        ax.bar(np.arange(len(part)), part["best_change_pct"], width=1.0, color=colours,
               linewidth=0)
        ax.axhline(20, color="#d73027", lw=0.8, ls="--", zorder=3)
        ax.axhline(-30, color="#333333", lw=0.8, ls="--", zorder=3)
        ax.axhline(0, color="black", lw=0.6, zorder=3)
        ax.set_xlim(-1, max(len(part), 1))
        ax.set_ylim(low - 5, high + 5)
        ax.set_xticks([])
        ax.set_title(f"{arm} (n = {len(part)})", color=arm_colour(data.arms, arm))
        ax.set_xlabel("Subjects, ordered by best change")
    axes[0][0].set_ylabel("Best change from baseline (%)")
    fig.suptitle(title)
    present = [b for b in BOR_COLOURS if b in set(frame["best_overall_response"].str.upper())]
    handles: list[Artist] = [Patch(color=BOR_COLOURS[b], label=b) for b in present]
    handles += [Line2D([], [], color="#d73027", ls="--", lw=0.8, label="+20%"),
                Line2D([], [], color="#333333", ls="--", lw=0.8, label="−30% (PR)")]
    # The legend sits below the panels, clear of the bars and the threshold lines.
    fig.legend(handles=handles, title="Best overall response", loc="lower center",
               ncol=len(handles), frameon=False, fontsize=8, title_fontsize=8)
    return fig


def _spider_sample(frame: pd.DataFrame, per_arm: int) -> tuple[pd.DataFrame, bool]:
    rng = random.Random(20240101)
    keep: list[str] = []
    sampled = False
    for _, part in frame.groupby("arm"):
        ids = sorted(part["subject"].unique())
        if len(ids) > per_arm:
            sampled = True
            ids = rng.sample(ids, per_arm)
        keep.extend(ids)
    return frame[frame["subject"].isin(keep)], sampled


def _pd_rel_threshold(data: AnalysisData) -> float:
    """The PD threshold (%) the cases used, when they share one (else the default 20)."""
    used = data.settings_used
    values = {g.settings.get("pd_rel_threshold") for g in used.groups} if used else set()
    value = values.pop() if len(values) == 1 else None
    return float(value) if value is not None else 20.0


def _nadir_time(times: np.ndarray, changes: np.ndarray) -> float:
    """When the running nadir before the last point was reached (the latest of equal minima)."""
    before = changes[:-1]
    lowest = np.nanmin(before)
    return float(times[:-1][np.where(before == lowest)[0][-1]])


def spider(data: AnalysisData, per_arm: int = SPIDER_SAMPLE_PER_ARM) -> Figure:
    """Change of the target sum from baseline over time, one panel per arm (a seeded sample of
    subjects when large), with each subject's PD threshold drawn from its running nadir.

    PR is judged from baseline (the −30 % line); PD from the nadir (REC-T3/MR-T3: +20 % and, under
    RECIST 1.1, +5 mm; after a nadir of 0 under mRECIST any viable tissue).  So a subject whose
    target sum reached PD carries its own dotted threshold, from its nadir to the PD mark (×); a
    +20 % line from baseline would be wrong for every subject whose sum fell.  Subjects without
    target PD get no threshold line: dozens of short dotted stubs would read as data.
    """
    title = "Change in target lesion sum over time"
    frame = change_over_time(data)
    if frame.empty:
        return _empty("no post-baseline target measurement", title)
    totals = frame.groupby("arm")["subject"].nunique().to_dict()
    frame, _ = _spider_sample(frame, per_arm)
    arms = [a for a in data.arms if (frame["arm"] == a).any()]
    rel = _pd_rel_threshold(data)
    height = 3.3 * len(arms) + 1.2
    fig, axes = plt.subplots(len(arms), 1, figsize=(9.5, height), sharex=True, squeeze=False)
    fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.7 / height, bottom=0.9 / height,
                        hspace=0.3)
    bor = data.subjects.set_index("subject")["best_overall_response"]
    for row, arm in enumerate(arms):
        ax = axes[row][0]
        part = frame[frame["arm"] == arm].sort_values(["subject", "months"])
        lines, thresholds, colours, colours_t = [], [], [], []
        pd_x: list[float] = []
        pd_y: list[float] = []
        for subject, g in part.groupby("subject", sort=False):
            colour = BOR_COLOURS.get(str(bor.get(subject, "")).upper(), "#607d8b")
            xs = np.concatenate([[0.0], g["months"].to_numpy(float)])
            ys = np.concatenate([[0.0], g["change_pct"].to_numpy(float)])
            lines.append(np.column_stack([xs, ys]))
            colours.append(colour)
            base = g["baseline_mm"].to_numpy(float)
            nadir = g["nadir_mm"].to_numpy(float)
            absolute = np.where(g["criteria"].astype(str) == "RECIST1.1", 5.0, 0.0)
            level = np.maximum(nadir * (1 + rel / 100), nadir + absolute)
            with np.errstate(divide="ignore", invalid="ignore"):
                pct = np.where(base > 0, (level / base - 1) * 100, np.nan)
            ok = ~np.isnan(pct)
            tx = np.concatenate([[0.0], g["months"].to_numpy(float)])
            hit = g["target_response"].astype(str) == "PD"
            # The threshold the first target PD crossed, flat from the nadir's assessment to the
            # PD mark; no vertical connectors, so it does not read as data.
            # (pct[i] is the level assessment i is judged against; it sits at tx[i + 1].)
            first = int(np.argmax(hit.to_numpy())) if hit.any() else -1
            if first >= 0 and ok[first]:
                start = _nadir_time(tx[:first + 2], ys[:first + 2])
                thresholds.append(np.array([[start, pct[first]], [tx[first + 1], pct[first]]]))
                colours_t.append(colour)
            pd_x.extend(g.loc[hit, "months"].astype(float))
            pd_y.extend(g.loc[hit, "change_pct"].astype(float))
        ax.add_collection(LineCollection(lines, colors=colours, alpha=0.75, linewidths=0.9))
        ax.add_collection(LineCollection(thresholds, colors=colours_t, alpha=0.6,
                                         linewidths=0.8, linestyles=":"))
        if pd_x:
            ax.scatter(pd_x, pd_y, marker="x", color="#d73027", s=22, zorder=4, linewidths=1)
        ax.autoscale()
        ax.axhline(-30, color="#1a9850", lw=0.9, ls="--")
        ax.axhline(0, color="black", lw=0.5)
        ax.set_ylabel("Change from baseline (%)")
        shown = part["subject"].nunique()
        ax.set_title(f"{arm}: {shown} of {totals.get(arm, shown)} subjects"
                     + (" (seeded random sample)" if shown < totals.get(arm, shown) else ""),
                     fontsize=9, color=arm_colour(data.arms, arm))
    axes[-1][0].set_xlabel("Months from randomisation")
    fig.suptitle(title)
    present = [b for b in BOR_COLOURS if b in set(bor.astype(str).str.upper())]
    handles: list[Artist] = [Line2D([], [], color=BOR_COLOURS[b], label=b) for b in present]
    handles += [Line2D([], [], color="#1a9850", ls="--", label="\u221230% from baseline (PR)"),
                Line2D([], [], color="#555555", ls=":",
                       label=f"PD threshold from the nadir (+{rel:g}%; \u2212100% after a nadir of 0)"),
                Line2D([], [], color="#d73027", marker="x", ls="", label="target PD")]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 5), frameon=False,
               fontsize=8)
    return fig


def swimmer_sample(data: AnalysisData, max_subjects: int = 60) -> list[str]:
    """Subjects shown in the swimmer plot: all, or a seeded random sample balanced by arm."""
    subjects = data.subjects
    if len(subjects) <= max_subjects:
        return list(subjects["subject"])
    rng = random.Random(20240101)
    chosen: list[str] = []
    per_arm = max(1, max_subjects // max(1, len(data.arms)))
    for arm in data.arms:
        ids = sorted(subjects.loc[subjects["arm"] == arm, "subject"])
        chosen.extend(rng.sample(ids, min(per_arm, len(ids))))
    return chosen


def swimmer(data: AnalysisData, max_subjects: int = 60) -> Figure:
    """Each subject's course from randomisation: a bar to the end of follow-up with events."""
    title = "Course of each subject"
    chosen = set(swimmer_sample(data, max_subjects))
    if not chosen:
        return _empty("no subjects", title)
    os_rows = data.endpoints[(data.endpoints["endpoint"] == "OS")].set_index("subject")
    subj = data.subjects[data.subjects["subject"].isin(chosen)].copy()
    subj["fu"] = subj["subject"].map(os_rows["time_months"]).astype(float)
    subj = subj.dropna(subset=["fu"]).sort_values(["arm", "fu"]).reset_index(drop=True)
    arms = data.arms
    abl = data.ablations
    fig_h = max(4.0, 0.14 * len(subj) + 1.5)
    fig, ax = plt.subplots(figsize=(10, fig_h))

    def months(row: pd.Series, column: str) -> float | None:
        origin = parse_date(row.get("randomization_date")) or parse_date(row.get("origin_date"))
        when = parse_date(row.get(column, ""))
        if origin is None or when is None:
            return None
        return (when - origin).days / DAYS_PER_MONTH

    marks: dict[str, tuple[list[float], list[int]]] = {
        k: ([], []) for k in ("ablation", "response", "ltp", "recurrence", "death", "alive")
    }
    ax.barh(subj.index, subj["fu"], color=[arm_colour(arms, a) for a in subj["arm"]],
            alpha=0.35, height=0.7)
    ablation_dates = (abl.groupby("subject")["ablation_dates"].apply(list).to_dict()
                      if not abl.empty else {})
    for y, row in subj.iterrows():
        origin = parse_date(row.get("randomization_date")) or parse_date(row.get("origin_date"))
        if origin is not None:
            for dates in ablation_dates.get(row["subject"], []):
                for text in str(dates).split(";"):
                    when = parse_date(text.strip()) if text.strip() else None
                    if when is not None:
                        marks["ablation"][0].append((when - origin).days / DAYS_PER_MONTH)
                        marks["ablation"][1].append(int(y))
        for key, column in (("response", "first_response_date"), ("ltp", "first_ltp_date"),
                            ("recurrence", "first_recurrence_date"), ("death", "death_date")):
            t = months(row, column)
            if t is None:
                continue
            if key == "recurrence" and months(row, "first_ltp_date") == t:
                continue  # an LTP that is the first recurrence is drawn once, as LTP
            marks[key][0].append(t)
            marks[key][1].append(int(y))
        if months(row, "death_date") is None:
            marks["alive"][0].append(float(row["fu"]))
            marks["alive"][1].append(int(y))
    styles = {
        "ablation": dict(marker="|", color="black", s=40, label="Ablation"),
        "response": dict(marker="o", color=BOR_COLOURS["CR"], s=18, label="First CR/PR"),
        "ltp": dict(marker="D", color="#e67e22", s=18, label="LTP"),
        "recurrence": dict(marker="^", color="#c0392b", s=20, label="Distant recurrence"),
        "death": dict(marker="X", color="black", s=26, label="Death"),
        "alive": dict(marker=">", color="#7f8c8d", s=14, label="Alive at last contact"),
    }
    for key, (xs, ys) in marks.items():
        if xs:
            ax.scatter(xs, ys, zorder=3, **styles[key])  # type: ignore[arg-type]
    ax.set_yticks(range(len(subj)))
    ax.set_yticklabels(subj["subject"], fontsize=5)
    ax.invert_yaxis()
    ax.set_xlabel("Months from randomisation")
    shown = f"{len(subj)} of {len(data.subjects)} subjects"
    if len(subj) < len(data.subjects):
        shown += " (random sample balanced by arm)"
    ax.set_title(f"{title} — {shown}")
    handles: list[Artist] = [Patch(color=arm_colour(arms, a), alpha=0.35, label=a) for a in arms]
    handles += [Line2D([], [], ls="", marker=str(s["marker"]), color=str(s["color"]),
                       label=str(s["label"])) for s in styles.values()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
              frameon=False)
    fig.subplots_adjust(left=0.08, right=0.78, top=1 - 0.5 / fig_h, bottom=0.6 / fig_h)
    return fig


# -- time-to-event plots ------------------------------------------------------------------------


def _at_risk_axis(fig: Figure, ax: plt.Axes, spec_ax: plt.Axes, groups: dict[str, pd.DataFrame],
                  arms: Sequence[str], x_max: float) -> None:
    """Numbers at risk at RISK_TIMES under the curve (subjects with time >= t)."""
    spec_ax.set_xlim(ax.get_xlim())
    spec_ax.set_ylim(-0.5, len(groups) - 0.5)
    spec_ax.axis("off")
    times = [t for t in RISK_TIMES if t <= x_max + 1e-9]
    for row, (arm, part) in enumerate(groups.items()):
        y = len(groups) - 1 - row
        spec_ax.text(-0.04, y, arm, transform=spec_ax.get_yaxis_transform(), ha="right",
                     va="center", color=arm_colour(arms, arm), fontsize=8)
        for t in times:
            count = int((part["time_months"] >= t).sum())
            spec_ax.text(t, y, str(count), ha="center", va="center", fontsize=8)
    spec_ax.set_title("Numbers at risk", fontsize=8, loc="left")


def _curve_figure() -> tuple[Figure, plt.Axes, plt.Axes]:
    fig = plt.figure(figsize=(8, 5.4))
    grid = fig.add_gridspec(2, 1, height_ratios=(4, 1), hspace=0.38, left=0.2, right=0.97,
                            top=0.93, bottom=0.04)
    ax = fig.add_subplot(grid[0])
    risk = fig.add_subplot(grid[1])
    return fig, ax, risk


def _curve_steps(time: np.ndarray, value: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 start: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A step curve from time 0 (value ``start`` unless an event happened at 0); a missing
    interval (where R gives NA: the curve at 0 or 1) is drawn as the curve itself."""
    if len(time) and time[0] == 0:
        xs, ys, lo, hi = time, value, lower, upper
    else:
        xs = np.concatenate([[0.0], time])
        ys = np.concatenate([[start], value])
        lo = np.concatenate([[np.nan], lower])
        hi = np.concatenate([[np.nan], upper])
    lo = np.where(np.isnan(lo), ys, lo)
    hi = np.where(np.isnan(hi), ys, hi)
    return xs, ys, lo, hi


def _groups(endpoints: pd.DataFrame, endpoint: str, arms: Sequence[str]) -> dict[str, pd.DataFrame]:
    data = survival.analysable(endpoints, endpoint)
    return {arm: data[data["arm"] == arm] for arm in arms if (data["arm"] == arm).any()}


def _median_lines(ax: plt.Axes, kmf: Any, colour: str) -> None:
    """Dashed guides to the median (where the curve reaches one half) and its value."""
    median = kmf.median()[0]
    if median != median:
        return
    ax.plot([0, median], [0.5, 0.5], ls=":", lw=0.8, color="#555555")
    ax.plot([median, median], [0, 0.5], ls=":", lw=0.8, color=colour)
    ax.annotate(f"{median:.1f}", (median, 0.0), xytext=(2, 2), textcoords="offset points",
                fontsize=7, color=colour)


def _x_label(endpoint: str) -> str:
    if endpoint in X_LABELS:
        return X_LABELS[endpoint]
    return "Months from " + ("ablation" if "TUMOUR" in endpoint else "randomisation")


def km_plot(endpoints: pd.DataFrame, endpoint: str, arms: Sequence[str],
            strata: pd.Series | None = None) -> Figure:
    """Kaplan–Meier curves per arm with log(−log) 95 % bands, censoring ticks, median guides,
    the arm effect (HR, 95 % CI, p; stratified for patient endpoints with strata) and numbers at
    risk (STAT-1, STAT-3)."""
    label = ENDPOINT_LABELS.get(endpoint, EXTRA_LABELS.get(endpoint, endpoint))
    groups = _groups(endpoints, endpoint, arms)
    if not groups:
        return _empty(f"no analysable {endpoint} data", label)
    fig, ax, risk = _curve_figure()
    competing = any((g["event"] == 2).any() for g in groups.values())
    x_max = min(60.0, max(float(g["time_months"].max()) for g in groups.values()))
    for arm, part in groups.items():
        kmf = survival.fit_km(part["time_months"], part["event"] == 1)
        colour = arm_colour(arms, arm)
        xs, ys, lows, highs = _curve_steps(kmf.time, kmf.surv, kmf.lower, kmf.upper, start=1.0)
        median = kmf.median()[0]
        med = "median NR" if median != median else f"median {median:.1f} mo"
        ax.step(xs, ys, where="post", color=colour, lw=1.4,
                label=f"{arm}: n={len(part)}, events={int((part['event'] == 1).sum())}, {med}")
        ax.fill_between(xs, lows, highs, step="post", color=colour, alpha=0.15, linewidth=0)
        censored = part.loc[part["event"] != 1, "time_months"].to_numpy(float)
        if len(censored):
            idx = np.searchsorted(kmf.time, censored, side="right") - 1
            ax.plot(censored, kmf.surv[idx], "|", color=colour, markersize=5, alpha=0.7)
        _median_lines(ax, kmf, colour)
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, 1.02)
    ax.set_xticks([t for t in RISK_TIMES if t <= x_max])
    ax.set_xlabel(_x_label(endpoint))
    ax.set_ylabel(KM_Y_LABELS.get(endpoint, "Probability"))
    title = label + (" — cause-specific KM (competing events censored)" if competing else "")
    ax.set_title(title, pad=16)
    # Where the curves and the median guides leave room (low left for falling curves that stay
    # high, up right for those that fall far): never over the median values on the axis.
    ax.legend(frameon=False, loc="best", fontsize=8)
    effect = survival.arm_effect_text(survival.analysable(endpoints, endpoint), arms, strata)
    if effect:  # under the title, clear of the curves
        ax.text(0.5, 1.01, effect, transform=ax.transAxes, ha="center", va="bottom",
                fontsize=7.5, color="#333333")
    _at_risk_axis(fig, ax, risk, groups, arms, x_max)
    return fig


def cif_plot(endpoints: pd.DataFrame, endpoint: str, arms: Sequence[str],
             strata: pd.Series | None = None) -> Figure:
    """Aalen–Johansen cumulative incidence per arm (competing events as competing risk), with
    the Fine–Gray SHR (95 % CI, p) and Gray's test p, and numbers at risk (STAT-4)."""
    label = ENDPOINT_LABELS.get(endpoint, endpoint)
    groups = _groups(endpoints, endpoint, arms)
    if not groups:
        return _empty(f"no analysable {endpoint} data", label)
    fig, ax, risk = _curve_figure()
    x_max = min(60.0, max(float(g["time_months"].max()) for g in groups.values()))
    top = 0.05
    for arm, part in groups.items():
        ajf = survival.fit_aj(part["time_months"], part["event"].astype(int))
        colour = arm_colour(arms, arm)
        xs, ys, lows, highs = _curve_steps(ajf.time, ajf.cif, ajf.lower, ajf.upper, start=0.0)
        ax.step(xs, ys, where="post", color=colour, lw=1.4,
                label=f"{arm}: n={len(part)}, events={int((part['event'] == 1).sum())}, "
                      f"competing={int((part['event'] == 2).sum())}")
        ax.fill_between(xs, lows, highs, step="post", color=colour, alpha=0.15, linewidth=0)
        shown = xs <= x_max
        top = max(top, float(np.nanmax(np.concatenate([highs[shown], ys[shown]]))))
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, min(1.0, top * 1.25))
    ax.set_xticks([t for t in RISK_TIMES if t <= x_max])
    ax.set_xlabel(_x_label(endpoint))
    ax.set_ylabel(CIF_Y_LABELS.get(endpoint, "Cumulative incidence"))
    title = CIF_TITLES.get(endpoint, f"{label} — cumulative incidence")
    ax.set_title(f"{title} (Aalen–Johansen)", pad=16)
    ax.legend(frameon=False, loc="upper left", fontsize=8)
    effect = survival.arm_effect_text(survival.analysable(endpoints, endpoint), arms, strata,
                                      incidence=True)
    if effect:
        ax.text(0.5, 1.01, effect, transform=ax.transAxes, ha="center", va="bottom",
                fontsize=7.5, color="#333333")
    _at_risk_axis(fig, ax, risk, groups, arms, x_max)
    return fig


def forest(table: pd.DataFrame, arms: Sequence[str]) -> Figure:
    """Hazard ratio of the first arm within subgroups (``subgroups.csv``), log scale."""
    title = f"Disease-free survival by subgroup: {arms[0]} vs {arms[1]}" if len(arms) == 2 else ""
    if table.empty:
        return _empty("no subgroup could be analysed", title or "Subgroups")
    rows = table.reset_index(drop=True)
    height = 0.32 * len(rows) + 1.9
    fig, ax = plt.subplots(figsize=(10, height))
    # Room above the axes for the title and, below it, the column headings of the text table.
    fig.subplots_adjust(left=0.3, right=0.6, top=1 - 0.7 / height, bottom=0.75 / height)
    y = np.arange(len(rows))[::-1]
    ok = rows["hazard_ratio"].astype(float).notna()
    ax.errorbar(rows.loc[ok, "hazard_ratio"].astype(float), y[ok.to_numpy()],
                xerr=[rows.loc[ok, "hazard_ratio"].astype(float) - rows.loc[ok, "ci_low"].astype(float),
                      rows.loc[ok, "ci_high"].astype(float) - rows.loc[ok, "hazard_ratio"].astype(float)],
                fmt="s", color="#1f5fa8", ecolor="#1f5fa8", markersize=4, capsize=2, lw=1)
    ax.axvline(1.0, color="black", lw=0.7)
    ax.set_xscale("log")
    finite = rows.loc[ok, ["ci_low", "ci_high"]].astype(float).to_numpy()
    lo_x = min(0.5, float(finite.min()) * 0.9) if finite.size else 0.5
    hi_x = max(2.0, float(finite.max()) * 1.1) if finite.size else 2.0
    ax.set_xlim(lo_x, hi_x)
    ticks = [t for t in (0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0)
             if lo_x <= t <= hi_x]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks(y)
    labels = [("All subjects" if r["subgroup"] == "all" else f"{r['subgroup']}: {r['level']}")
              for r in rows.to_dict("records")]
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylim(-0.8, len(rows) - 0.2)
    ax.set_xlabel(f"Hazard ratio (95% CI); < 1 favours {arms[0]}" if len(arms) == 2
                  else "Hazard ratio")
    for yy, r in zip(y, rows.to_dict("records"), strict=True):
        hr = float(r["hazard_ratio"])
        text = ("not estimable" if hr != hr else
                f"{hr:.2f} ({float(r['ci_low']):.2f}\u2013{float(r['ci_high']):.2f})")
        inter = float(r["interaction_p"]) if r["interaction_p"] != "" else float("nan")
        first_level = r["level"] == rows.loc[rows["subgroup"] == r["subgroup"], "level"].iloc[0]
        ax.text(1.03, yy, f"{r['events']}/{r['n']}", transform=ax.get_yaxis_transform(),
                va="center", fontsize=7.5)
        ax.text(1.25, yy, text, transform=ax.get_yaxis_transform(), va="center", fontsize=7.5)
        if inter == inter and first_level:
            ax.text(1.64, yy, f"{inter:.3f}", transform=ax.get_yaxis_transform(), va="center",
                    fontsize=7.5)
    for x, head in ((1.03, "events/n"), (1.25, "HR (95% CI)"), (1.64, "interaction p")):
        ax.text(x, len(rows) - 0.3, head, transform=ax.get_yaxis_transform(), va="bottom",
                fontsize=7.5, weight="bold")
    fig.suptitle(title + " (Cox, cause-specific)", fontsize=9, x=0.5, y=1 - 0.08 / height,
                 va="top")
    return fig


KM_PLOTS = ("DFS", "OS", "LTPFS", "DOR")
# Every competing-risk endpoint of endpoints.csv has its curve (survival.csv has its estimates):
# DISTANT (PJ-1) and LOCAL_CONTROL_TUMOUR (END-LTP-5) with the others.
CIF_PLOTS = ("DFS", "LTP_TUMOUR", "LOCAL_CONTROL_TUMOUR", "LTP", "DISTANT", "CSS")


def all_plots(
    data: AnalysisData, out_dir: str | Path, progress: Callable[[str], None] | None = None
) -> dict[str, dict[str, Path]]:
    """Draw and save every plot; returns name -> {"png": path, "svg": path}, in report order."""
    from .response_duration import dor_rows

    arms = data.arms
    strata = survival._strata_labels(data.subjects)
    endpoints = pd.concat([data.endpoints, dor_rows(data)], ignore_index=True)
    makers: list[tuple[str, Callable[[], Figure]]] = []
    for endpoint in KM_PLOTS:
        makers.append((f"km_{endpoint.lower()}",
                       partial(km_plot, endpoints, endpoint, arms, strata)))
    for endpoint in CIF_PLOTS:
        if endpoint == "DFS" and not (endpoints.loc[endpoints["endpoint"] == "DFS", "event"]
                                      == 2).any():
            continue  # DATECAN DFS has no competing event: the KM curve says it all
        makers.append((f"cif_{endpoint.lower()}",
                       partial(cif_plot, endpoints, endpoint, arms, strata)))
    if len(arms) == 2:
        from .subgroups import subgroup_table

        makers.append(("forest", lambda: forest(subgroup_table(data, arms), arms)))
    makers += [("waterfall", lambda: waterfall(data)), ("spider", lambda: spider(data)),
               ("swimmer", lambda: swimmer(data))]
    out: dict[str, dict[str, Path]] = {}
    for name, make in makers:
        if progress:
            progress(name)
        out[name] = save(make(), out_dir, name)
    return out
