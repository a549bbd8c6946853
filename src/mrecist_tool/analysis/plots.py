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
CIF_TITLES = {
    "CSS": "Cancer death (CSS), other-cause death competing",
    "LTP": "First LTP per patient, death competing",
    "LTP_TUMOUR": "LTP per tumour from ablation, death/resection competing",
    "DFS": "Recurrence or disease death (DFS), other-cause death competing",
}


def arm_colour(arms: Sequence[str], arm: str) -> str:
    return ARM_COLOURS[list(arms).index(arm) % len(ARM_COLOURS)] if arm in arms else "#555555"


def save(fig: Figure, out_dir: str | Path, name: str) -> dict[str, Path]:
    """Write ``NAME.png`` (110 dpi) and ``NAME.svg``; close the figure; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"png": out / f"{name}.png", "svg": out / f"{name}.svg"}
    for kind, path in paths.items():
        # No bbox_inches="tight": it renders every figure twice; layouts set their margins.
        atomic_write_with(path, partial(fig.savefig, format=kind, dpi=110))
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
    """Best % change from baseline of the target sum, one bar per subject, sorted."""
    title = "Best change in target lesion sum (mRECIST viable diameters)"
    frame = best_change(data).dropna(subset=["best_change_pct"])
    if frame.empty:
        return _empty("no subject with a post-baseline target measurement", title)
    # Equal changes (many -100 %) are grouped by best response so the colours read as blocks.
    order = {b: i for i, b in enumerate(["PD", "NE", "SD", "NON-CR/NON-PD", "PR", "CR"])}
    frame["rank"] = frame["best_overall_response"].astype(str).str.upper().map(order).fillna(-1)
    frame = frame.sort_values(["best_change_pct", "rank"], ascending=[False, True])
    frame = frame.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 4))
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.1)
    colours = [BOR_COLOURS.get(str(b).upper(), "#607d8b") for b in frame["best_overall_response"]]
    ax.bar(np.arange(len(frame)), frame["best_change_pct"], width=1.0, color=colours,
           linewidth=0)
    ax.axhline(20, color="#d73027", lw=0.8, ls="--", zorder=3)
    ax.axhline(-30, color="#333333", lw=0.8, ls="--", zorder=3)
    ax.axhline(0, color="black", lw=0.6, zorder=3)
    ax.set_xlim(-1, len(frame))
    ax.set_xticks([])
    ax.set_xlabel(f"Subjects (n = {len(frame)})")
    ax.set_ylabel("Best change from baseline (%)")
    ax.set_title(title)
    present = [b for b in BOR_COLOURS if b in set(frame["best_overall_response"].str.upper())]
    ax.legend(handles=[Patch(color=BOR_COLOURS[b], label=b) for b in present],
              title="Best response", loc="upper right", frameon=False, fontsize=8)
    return fig


def spider(data: AnalysisData) -> Figure:
    """% change of the target sum against months from randomisation, one line per subject."""
    title = "Change in target lesion sum over time"
    frame = change_over_time(data)
    if frame.empty:
        return _empty("no post-baseline target measurement", title)
    arms = data.arms
    fig, ax = plt.subplots(figsize=(8, 4.5))
    fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.12)
    for arm in arms:
        part = frame[frame["arm"] == arm].sort_values(["subject", "months"])
        segments = []
        for _, g in part.groupby("subject", sort=False):
            # Each line starts at baseline (0 months, 0 %).
            xs = np.concatenate([[0.0], g["months"].to_numpy(float)])
            ys = np.concatenate([[0.0], g["change_pct"].to_numpy(float)])
            segments.append(np.column_stack([xs, ys]))
        ax.add_collection(LineCollection(segments, colors=arm_colour(arms, arm), alpha=0.35,
                                         linewidths=0.7, label=arm))
    ax.autoscale()
    ax.axhline(20, color="#d73027", lw=0.8, ls="--")
    ax.axhline(-30, color="#1a9850", lw=0.8, ls="--")
    ax.set_xlabel("Months from randomisation")
    ax.set_ylabel("Change from baseline (%)")
    ax.set_title(title)
    ax.legend(handles=[Line2D([], [], color=arm_colour(arms, a), label=a) for a in arms],
              frameon=False, loc="upper left")
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
                      if not abl.empty and "ablation_dates" in abl else {})
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


def km_plot(endpoints: pd.DataFrame, endpoint: str, arms: Sequence[str]) -> Figure:
    """Kaplan–Meier curves per arm with log(−log) 95 % bands and numbers at risk (STAT-1)."""
    label = ENDPOINT_LABELS.get(endpoint, endpoint)
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
        ax.step(xs, ys, where="post", color=colour,
                label=f"{arm} (n={len(part)}, events={int((part['event'] == 1).sum())})")
        ax.fill_between(xs, lows, highs, step="post", color=colour, alpha=0.15, linewidth=0)
        censored = part.loc[part["event"] != 1, "time_months"].to_numpy(float)
        if len(censored):
            idx = np.searchsorted(kmf.time, censored, side="right") - 1
            ax.plot(censored, kmf.surv[idx], "|", color=colour, markersize=5, alpha=0.7)
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, 1.02)
    ax.set_xticks([t for t in RISK_TIMES if t <= x_max])
    ax.set_xlabel("Months from " + ("ablation" if "TUMOUR" in endpoint else "randomisation"))
    ax.set_ylabel("Probability")
    title = label + (" — cause-specific KM (competing events censored)" if competing else "")
    ax.set_title(title)
    ax.legend(frameon=False, loc="lower left")
    _at_risk_axis(fig, ax, risk, groups, arms, x_max)
    return fig


def cif_plot(endpoints: pd.DataFrame, endpoint: str, arms: Sequence[str]) -> Figure:
    """Aalen–Johansen cumulative incidence per arm (competing events as competing risk)."""
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
        ax.step(xs, ys, where="post", color=colour,
                label=f"{arm} (n={len(part)}, events={int((part['event'] == 1).sum())}, "
                      f"competing={int((part['event'] == 2).sum())})")
        ax.fill_between(xs, lows, highs, step="post", color=colour, alpha=0.15, linewidth=0)
        shown = xs <= x_max
        top = max(top, float(np.nanmax(np.concatenate([highs[shown], ys[shown]]))))
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, min(1.0, top * 1.15))
    ax.set_xticks([t for t in RISK_TIMES if t <= x_max])
    ax.set_xlabel("Months from " + ("ablation" if "TUMOUR" in endpoint else "randomisation"))
    ax.set_ylabel("Cumulative incidence")
    title = CIF_TITLES.get(endpoint, f"{label} — cumulative incidence")
    ax.set_title(f"{title} (Aalen–Johansen)")
    ax.legend(frameon=False, loc="upper left")
    _at_risk_axis(fig, ax, risk, groups, arms, x_max)
    return fig


KM_PLOTS = ("OS", "DFS", "LTPFS")
CIF_PLOTS = ("LTP_TUMOUR", "LTP", "CSS")


def all_plots(
    data: AnalysisData, out_dir: str | Path, progress: Callable[[str], None] | None = None
) -> dict[str, dict[str, Path]]:
    """Draw and save every plot; returns name -> {"png": path, "svg": path}, in report order."""
    arms = data.arms
    makers: list[tuple[str, Callable[[], Figure]]] = []
    for endpoint in KM_PLOTS:
        makers.append((f"km_{endpoint.lower()}", partial(km_plot, data.endpoints, endpoint, arms)))
    for endpoint in CIF_PLOTS:
        makers.append((f"cif_{endpoint.lower()}",
                       partial(cif_plot, data.endpoints, endpoint, arms)))
    makers += [("waterfall", lambda: waterfall(data)), ("spider", lambda: spider(data)),
               ("swimmer", lambda: swimmer(data))]
    out: dict[str, dict[str, Path]] = {}
    for name, make in makers:
        if progress:
            progress(name)
        out[name] = save(make(), out_dir, name)
    return out
