"""The response engine: pure functions, no heavy imports (no pydicom, pandas, Qt or napari).

``assess_case(case)`` returns a :class:`~.results.CaseAssessment` with per-timepoint mRECIST or
RECIST 1.1 categories, per-ablated-tumour states, the best overall response and the dates the
endpoints need; every category carries the rule IDs of response-rules.md that decided it.
"""

from .criteria import PARAMS, PROFILES, Settings, profile_settings, resolve_settings
from .engine import assess_case, excess_targets, settings_for_case
from .measure import measure_field
from .results import (
    AblatedLesionResult,
    BestResponse,
    CaseAssessment,
    Decision,
    Finding,
    LesionTimepoint,
    SubjectEvents,
    TimepointResult,
)

__all__ = [
    "PARAMS",
    "PROFILES",
    "AblatedLesionResult",
    "BestResponse",
    "CaseAssessment",
    "Decision",
    "Finding",
    "LesionTimepoint",
    "Settings",
    "SubjectEvents",
    "TimepointResult",
    "assess_case",
    "excess_targets",
    "measure_field",
    "profile_settings",
    "resolve_settings",
    "settings_for_case",
]
