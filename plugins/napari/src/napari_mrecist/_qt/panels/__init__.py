"""The dock's sections.  Each is a :class:`~.base.Panel`: it builds its controls, calls the
widget's public methods, and redraws itself when told (a case opened, a timepoint or lesion
chosen, the session changed).  A new section (e.g. the margin panel) subclasses ``Panel`` and is
added with :meth:`AssessmentWidget.add_panel`; nothing else needs to change."""

from .base import Panel
from .lesions import LesionPanel
from .margin import MarginPanel
from .measure import MeasurePanel
from .procedures import ProcedurePanel
from .results import ResultsPanel
from .subject import SubjectPanel
from .worklist import WorklistPanel

# Top to bottom in the dock.
DEFAULT_PANELS: tuple[type[Panel], ...] = (WorklistPanel, SubjectPanel, LesionPanel, MeasurePanel,
                                           ResultsPanel, ProcedurePanel, MarginPanel)

__all__ = ["DEFAULT_PANELS", "LesionPanel", "MarginPanel", "MeasurePanel", "Panel", "ProcedurePanel", "ResultsPanel",
           "SubjectPanel", "WorklistPanel"]
