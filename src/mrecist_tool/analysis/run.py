"""Run the whole analysis of a cohort and write its files (what ``mrecist analyze`` does).

Files written to the output folder (all atomically):

* ``endpoints.csv`` — long format, one row per subject (or tumour) and endpoint
  (:data:`mrecist_tool.pipeline.endpoints.LONG_COLUMNS`; event 0 censored, 1 event, 2 competing);
* ``orr.csv`` and ``dcr.csv`` — rates per arm, overall and the difference between two arms
  (``endpoint, arm, n, responders, orr, ci_low, ci_high, method, excluded_no_target``);
* ``orr_preop.csv`` — PRE-2: ORR to preoperative chemotherapy (pre-ablation window) in the
  perioperative arm beside that arm's whole-course ORR, each labelled;
* ``dlm.csv`` — PRE-3/PRE-4: disappearing liver metastases and in-situ recurrences per arm;
* ``bor.csv`` — best overall response counts per arm;
* ``technique_efficacy.csv`` — primary and assisted technique efficacy per tumour (END-TE) with
  patient-clustered intervals;
* ``survival.csv`` — estimates and tests per endpoint and arm
  (:data:`mrecist_tool.analysis.survival.SURVIVAL_COLUMNS`);
* ``at_risk.csv`` — numbers at risk, cumulative events and censorings every 6 months per endpoint
  and arm (the table under each curve);
* ``disposition.csv`` — CONSORT-style disposition per arm at the data cut-off;
* ``review_flags.csv`` — every review flag of the assessment with subject and timepoint;
* ``subgroups.csv`` — the arm effect (Cox HR) on DFS within subgroups (forest plot);
* ``adam/adsl``, ``adam/adrs``, ``adam/adtte`` — ADaM datasets as ``.csv`` and SAS transport
  ``.xpt`` (:mod:`mrecist_tool.exchange.adam`);
* ``plots/NAME.png`` (300 dpi) and ``plots/NAME.svg`` for every plot;
* ``report.html`` — the self-contained report; with ``blinded=True`` also
  ``report-blinded.html`` (arms pooled) and its plots in ``plots-blinded/``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..atomic import atomic_write_text
from . import disposition, proportions, report, response_duration, subgroups, survival
from .dataset import AnalysisData
from .margin_ltp import margin_ltp_table
from .worker import PlotWorker, WorkerResult

Progress = Callable[[str], None]


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table as UTF-8 CSV (no index), atomically."""
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
    return path


def blinded_view(data: AnalysisData) -> AnalysisData:
    """The same data with every arm label replaced by one pooled group (for the open session)."""
    def pooled(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty or "arm" not in frame:
            return frame
        return frame.assign(arm=POOLED)

    return dataclasses.replace(
        data, subjects=pooled(data.subjects), endpoints=pooled(data.endpoints),
        ablations=pooled(data.ablations), timepoints=data.timepoints, dlm=pooled(data.dlm))


POOLED = "pooled"


def compute_tables(data: AnalysisData, say: Progress) -> dict[str, pd.DataFrame]:
    """Every table of the analysis (the CSV files and what the report shows).

    Parameters
    ----------
    data : AnalysisData
        The dataset to analyse.
    say : callable
        ``say(message)``, called with a short progress message before each step.

    Returns
    -------
    dict of str to pandas.DataFrame
        The tables by name (``"orr"``, ``"survival"``, ``"margin_ltp"``, …); ``"subgroups"`` only
        with two arms.
    """
    arms = data.arms
    say("response rates and technique efficacy")
    out = {
        "orr": proportions.orr_table(data.subjects, arms),
        "dcr": proportions.dcr_table(data.subjects, arms),
        "bor": proportions.bor_distribution(data.subjects, arms),
        "technique_efficacy": proportions.technique_efficacy_table(data.ablations, arms),
        # PRE-2 to PRE-4 (added by the engine): ORR to preoperative chemotherapy, DLMs.
        "orr_preop": proportions.preop_orr_table(data.subjects),
        "dlm": proportions.dlm_summary(data.subjects, data.dlm),
    }
    say("disposition and review flags")
    out["disposition"] = disposition.disposition_table(data, arms)
    out["review_flags"] = disposition.review_flags(data)
    say("survival statistics")
    endpoints = pd.concat([data.endpoints, response_duration.dor_rows(data)], ignore_index=True)
    out["survival"] = survival.survival_table(endpoints, data.subjects, arms)
    out["at_risk"] = survival.at_risk_table(endpoints, arms)
    say("LTP by ablative margin")
    # MAR §5.1 (margin helper): per-tumour LTP by MAM band and the clustered Cox model per mm
    out["margin_ltp"] = margin_ltp_table(data.endpoints, data.ablations)
    if len(arms) == 2:
        say("subgroups")
        out["subgroups"] = subgroups.subgroup_table(data, arms)
    return out


def run_analysis(
    data: AnalysisData,
    out_dir: str | Path,
    progress: Progress | None = None,
    plot_worker: PlotWorker | None = None,
    blinded: bool = False,
    studyid: str = "NCT04562727",
) -> dict[str, Path]:
    """Compute every table and plot of ``data`` and write them to ``out_dir``.

    With a :class:`PlotWorker` the plots are drawn in that process in parallel with the
    statistics (which take about as long); the files are the same either way.  ``blinded`` also
    writes ``report-blinded.html`` (arms pooled, plots in ``plots-blinded/``).

    Parameters
    ----------
    data : AnalysisData
        The dataset to analyse.
    out_dir : str or pathlib.Path
        The folder to write to (created when missing).
    progress : callable or None, optional
        ``progress(message)``, called before each step.
    plot_worker : PlotWorker or None, optional
        A process that draws the plots in parallel with the statistics.
    blinded : bool, optional
        Also write the blinded report (arms pooled).
    studyid : str, optional
        The ``STUDYID`` of the ADaM datasets.

    Returns
    -------
    dict of str to pathlib.Path
        Every file written, by name.
    """
    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    pending = plot_worker.submit(data, out / "plots") if plot_worker is not None else None
    if pending is not None:
        say("plots: drawing in a parallel process")
    say(f"endpoints: {len(data.endpoints)} rows")
    files["endpoints"] = write_csv(data.endpoints, out / "endpoints.csv")
    tables = compute_tables(data, say)
    for name, frame in tables.items():
        files[name] = write_csv(frame, out / f"{name}.csv")
    say("ADaM datasets (ADSL, ADRS, ADTTE; CSV and XPT)")
    from ..exchange.adam import write_adam

    endpoints = pd.concat([data.endpoints, response_duration.dor_rows(data)], ignore_index=True)
    for path in write_adam(data.subjects, data.timepoints, data.ablations, endpoints,
                           out / "adam", studyid):
        files[f"adam_{path.name}"] = path
    plots: WorkerResult | None = None
    if pending is not None:
        say("plots: waiting for the parallel process")
        try:
            plots = pending.result()
        except Exception as exc:  # a broken worker must not lose the analysis
            say(f"plots: parallel process failed ({type(exc).__name__}); drawing here")
    if plots is None:
        from . import plots as plotting  # only here: with a worker, matplotlib is not needed

        plots = plotting.all_plots(data, out / "plots", progress=lambda n: say(f"plot {n}"))
    for name, paths in plots.items():
        files[f"plot_{name}"] = paths["png"]
    say("report.html")
    files["report"] = out / "report.html"
    atomic_write_text(files["report"], report.render(data, tables, plots))
    if blinded:
        from . import plots as plotting

        say("report-blinded.html (arms pooled)")
        pooled = blinded_view(data)
        pooled_tables = compute_tables(pooled, say)
        pooled_plots = plotting.all_plots(pooled, out / "plots-blinded")
        files["report_blinded"] = out / "report-blinded.html"
        atomic_write_text(files["report_blinded"],
                          report.render(pooled, pooled_tables, pooled_plots, blinded=True))
    return files
