"""Trial analysis of NCT04562727 (response-rules.md §6): endpoints, statistics, plots, report.

Modules (import them directly; this package imports nothing heavy):

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
