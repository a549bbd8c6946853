"""Trial analysis of NCT04562727 (response-rules.md §6): endpoints, statistics, plots, report.

The entry points are :func:`from_case_paths`, :func:`from_results_dir` and :func:`from_tables`
(the dataset, :class:`AnalysisData`), then :func:`compute_tables` and :func:`run_analysis` (every
table, plot and the report); they are imported when first used, so this package imports nothing
heavy.

Modules:

The endpoint derivation itself (per subject / per tumour time and event code of OS, DFS, CSS,
LTP, LTPFS) is pure Python and lives below this package, in :mod:`mrecist_tool.pipeline.endpoints`,
because ``mrecist assess`` writes the endpoint columns of subjects.csv with it.

* :mod:`.dataset` — the analysis dataset from assessment tables, an ``mrecist assess`` output
  folder, or case files;
* :mod:`.proportions` — ORR and DCR with Clopper–Pearson intervals and the arm difference;
* :mod:`.survival` — Kaplan–Meier, reverse KM, log-rank, Cox, Aalen–Johansen (lifelines);
* :mod:`.plots` — waterfall, spider, swimmer, KM and cumulative-incidence plots (matplotlib);
* :mod:`.report` — the self-contained ``report.html``;
* :mod:`.run` — everything above, written to a folder (``mrecist analyze``);
* :mod:`.worker` — the process that draws the plots in parallel.
"""

from typing import Any

_EXPORTS = {
    "AnalysisData": "dataset", "from_case_paths": "dataset", "from_results_dir": "dataset",
    "from_tables": "dataset",
    "compute_tables": "run", "run_analysis": "run",
}


def __getattr__(name: str) -> Any:
    # lazy: pandas, lifelines and matplotlib load with the function that needs them
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
