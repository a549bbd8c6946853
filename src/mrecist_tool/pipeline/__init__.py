"""The one path from case files to per-case results, below the command line and the analysis.

``mrecist assess``, ``mrecist export sdtm`` and ``mrecist analyze`` all assess cases through
:func:`assess_files` (many files) or :func:`assess_file` (one), so every command refuses the same
cases with the same located problems and assesses the others with the same settings.

Modules:

* :mod:`.case` — read → check → assess → per-case steps for one file (:func:`assess_file`);
* :mod:`.batch` — many files through an executor (:func:`assess_files`);
* :mod:`.executors` — in this process, local worker processes, or a Dask cluster;
* :mod:`.steps` — per-case steps: image work (:mod:`.masks`) and each command's product;
* :mod:`.tables` — the result tables of ``mrecist assess`` (case-format.md, "Results") as rows;
* :mod:`.endpoints` — time-to-event endpoints per subject and per tumour (pure Python);
* :mod:`.assessment_json` — ``assessment.json``, every decision with its rule IDs;
* :mod:`.parquet` — typed Parquet copies of the tables.

Importing this package is cheap: nothing heavy is imported until a case needs it.
"""

from .batch import Batch, assess_files, discover
from .case import CaseResult, CaseWork, assess_file
from .steps import IMAGE_STEPS, steps_for, table_rows, table_text

__all__ = [
    "IMAGE_STEPS",
    "Batch",
    "CaseResult",
    "CaseWork",
    "assess_file",
    "assess_files",
    "discover",
    "steps_for",
    "table_rows",
    "table_text",
]
