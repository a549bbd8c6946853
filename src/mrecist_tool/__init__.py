"""mrecist-tool: mRECIST / RECIST 1.1 response and local tumour progression after ablation.

The main entry points, for a notebook or a script (see docs/api.md)::

    import mrecist_tool as mt
    case = mt.read_case("CRLM-0007.json")        # read and check a case file
    result = mt.assess(case)                     # categories, ablated tumours, best response
    batch = mt.assess_files(["cases/"])          # a cohort, as `mrecist assess` does it
    volume = mt.read_series("dicom/FU1/")        # a CT/MR series in LPS millimetres
    data = mt.analyze("results/", "report/")     # endpoints, rates, survival, report

Cheap to import: the heavy parts (DICOM, images, analysis, plotting) are imported by the
functions that need them.  Every error raised on purpose is a :class:`MrecistError` (and also a
builtin: ``ValueError`` or ``OSError``); exit codes of the command line are in
:mod:`mrecist_tool.exitcodes`.
"""

#: The version of the toolkit (written into ``assessment.json`` and the report).
__version__ = "0.1.0"
#: The rules (response-rules.md edition) and the case-file format version this version implements.
RULES_VERSION = "response-rules.md (2026-11), case format v1"

from .api import analyze, assess, assess_files, read_case, read_series, scan, validate_file, write_case  # noqa: E402
from .errors import (  # noqa: E402
    CaseFileError,
    DicomError,
    MissingDependencyError,
    MrecistError,
    Problem,
    SaveError,
    SettingsConflictError,
    SettingsError,
    UnsupportedVersionError,
)

__all__ = [
    "RULES_VERSION",
    "CaseFileError",
    "DicomError",
    "MissingDependencyError",
    "MrecistError",
    "Problem",
    "SaveError",
    "SettingsConflictError",
    "SettingsError",
    "UnsupportedVersionError",
    "__version__",
    "analyze",
    "assess",
    "assess_files",
    "read_case",
    "read_series",
    "scan",
    "validate_file",
    "write_case",
]
