"""Every reader action in one table: its button label, its keys, its help and what it does.

Buttons, the dock's keys and the canvas's keys all look actions up here (no
``getattr(self, f"_act_{name}")``), so the help text and the README's key table cannot drift
from what a key does.  ``run`` receives the :class:`~._qt.widget.AssessmentWidget`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .widget import AssessmentWidget


@dataclass(frozen=True)
class Action:
    name: str
    label: str  # button text ("" = no button)
    keys: tuple[str, ...]  # Qt key sequences, e.g. "Alt+L"
    help: str
    group: str  # "measure", "status", "navigate", "edit", "file"
    run: Callable[[AssessmentWidget], object]


def _mark(status: str) -> Callable[[AssessmentWidget], object]:
    return lambda w: w.editing.mark(status)


ACTIONS: tuple[Action, ...] = (
    Action("draw_line", "Draw line", ("Alt+L",), "draw the longest diameter as a line", "measure",
           lambda w: w.editing.start_line()),
    Action("paint_viable", "Paint viable", ("Alt+P",), "paint the viable (enhancing) tissue", "measure",
           lambda w: w.editing.start_paint("viable")),
    Action("paint_zone", "Paint zone", ("Alt+Z",), "paint the ablation zone", "measure",
           lambda w: w.editing.start_paint("zone")),
    Action("grow_viable", "Grow viable", ("Alt+V",), "click inside a focus: grow its 3D mask", "measure",
           lambda w: w.editing.start_grow("viable")),
    Action("grow_zone", "Grow zone", ("Alt+O",), "click inside an ablation zone: grow its 3D mask",
           "measure", lambda w: w.editing.start_grow("zone")),
    Action("measure_mask", "Diameter from mask", ("Alt+M",), "take the diameter from the viable mask",
           "measure", lambda w: w.editing.measure_from_mask()),
    Action("gap_from_masks", "Gap from masks", ("Alt+G",), "gap from the focus to the ablation zone",
           "measure", lambda w: w.editing.gap_from_masks()),
    Action("mark_absent", "Absent", ("Alt+A",), "mark absent (0 mm)", "status", _mark("absent")),
    Action("mark_too_small", "Too small", ("Alt+T",), "mark too small to measure", "status", _mark("too-small")),
    Action("mark_present", "Present", ("Alt+R",), "mark present", "status", _mark("present")),
    Action("mark_not_evaluable", "Not evaluable", ("Alt+E",), "mark not evaluable", "status",
           _mark("not-evaluable")),
    Action("mark_progressed", "Progressed", ("Alt+X",), "mark unequivocal progression", "status",
           _mark("progressed")),
    Action("next_timepoint", "", ("Alt+Down",), "next timepoint", "navigate", lambda w: w.step_timepoint(1)),
    Action("previous_timepoint", "", ("Alt+Up",), "previous timepoint", "navigate",
           lambda w: w.step_timepoint(-1)),
    Action("next_lesion", "", ("Alt+Right",), "next lesion", "navigate", lambda w: w.step_lesion(1)),
    Action("previous_lesion", "", ("Alt+Left",), "previous lesion", "navigate", lambda w: w.step_lesion(-1)),
    Action("undo", "Undo", ("Ctrl+Z",), "undo the last edit", "edit", lambda w: w.undo()),
    Action("redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "redo", "edit", lambda w: w.redo()),
    Action("save", "Save", ("Alt+S",), "save the case file", "file", lambda w: w.save()),
    Action("stop_tool", "", ("Esc",), "stop drawing / painting / growing", "edit", lambda w: w.stop_tool()),
)
BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}


def normalized(sequence: str) -> str:
    """A key sequence in Qt's portable text form (``"Alt+L"``), for comparing keys."""
    from qtpy.QtGui import QKeySequence

    return QKeySequence(sequence).toString(QKeySequence.SequenceFormat.PortableText)


def key_table() -> dict[str, Action]:
    """Key sequence (portable text) → action."""
    return {normalized(k): a for a in ACTIONS for k in a.keys}


def help_text(action: Action) -> str:
    keys = " / ".join(action.keys)
    return f"{action.help} ({keys})" if keys else action.help
