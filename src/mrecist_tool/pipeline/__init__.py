"""The one path from case files to per-case results, below the command line and the analysis.

Modules:

* :mod:`.tables` — the result tables of ``mrecist assess`` (case-format.md, "Results") as rows;
* :mod:`.endpoints` — time-to-event endpoints per subject and per tumour (pure Python);
* :mod:`.assessment_json` — ``assessment.json``, every decision with its rule IDs;
* :mod:`.parquet` — typed Parquet copies of the tables.
"""
