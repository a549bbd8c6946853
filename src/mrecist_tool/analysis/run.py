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
* ``plots/NAME.png`` and ``plots/NAME.svg`` for every plot;
* ``report.html`` — the self-contained report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..atomic import atomic_write_text
from . import proportions, report, survival
from .dataset import AnalysisData
from .worker import PlotWorker, WorkerResult

Progress = Callable[[str], None]


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table as UTF-8 CSV (no index), atomically."""
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
    return path


def run_analysis(
    data: AnalysisData,
    out_dir: str | Path,
    progress: Progress | None = None,
    plot_worker: PlotWorker | None = None,
) -> dict[str, Path]:
    """Compute every table and plot of ``data`` and write them to ``out_dir``.

    With a :class:`PlotWorker` the plots are drawn in that process in parallel with the
    statistics (which take about as long); the files are the same either way.
    """
    say = progress or (lambda _msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arms = data.arms
    files: dict[str, Path] = {}
    pending = plot_worker.submit(data, out / "plots") if plot_worker is not None else None
    if pending is not None:
        say("plots: drawing in a parallel process")
    say(f"endpoints: {len(data.endpoints)} rows")
    files["endpoints"] = write_csv(data.endpoints, out / "endpoints.csv")
    say("response rates and technique efficacy")
    orr = proportions.orr_table(data.subjects, arms)
    dcr = proportions.dcr_table(data.subjects, arms)
    bor = proportions.bor_distribution(data.subjects, arms)
    te = proportions.technique_efficacy_table(data.ablations, arms)
    files["orr"] = write_csv(orr, out / "orr.csv")
    files["dcr"] = write_csv(dcr, out / "dcr.csv")
    files["bor"] = write_csv(bor, out / "bor.csv")
    files["technique_efficacy"] = write_csv(te, out / "technique_efficacy.csv")
    preop = proportions.preop_orr_table(data.subjects)
    dlm = proportions.dlm_summary(data.subjects, data.dlm)
    files["orr_preop"] = write_csv(preop, out / "orr_preop.csv")
    files["dlm"] = write_csv(dlm, out / "dlm.csv")
    say("survival statistics")
    sv = survival.survival_table(data.endpoints, data.subjects, arms)
    files["survival"] = write_csv(sv, out / "survival.csv")
    files["at_risk"] = write_csv(survival.at_risk_table(data.endpoints, arms), out / "at_risk.csv")
    say("LTP by ablative margin")
    from .margin_ltp import margin_ltp_table

    margins = margin_ltp_table(data.endpoints, data.ablations)
    files["margin_ltp"] = write_csv(margins, out / "margin_ltp.csv")
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
    page = report.render(data, orr=orr, dcr=dcr, bor=bor, survival_rows=sv, plots=plots,
                         technique_efficacy=te, preop=preop, dlm=dlm, margin_ltp=margins)
    files["report"] = out / "report.html"
    atomic_write_text(files["report"], page)
    return files
