"""Measuring the selected lesion at the current timepoint: lines, painting, one-click growth,
statuses, a typed diameter, and the details of a new lesion."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..._segment import DEFAULT_TOLERANCE
from ..actions import ACTIONS, help_text
from ..flow import FlowLayout
from .base import Panel

if TYPE_CHECKING:
    from ..widget import AssessmentWidget

# Key steps of the tolerance slider come 30 ms apart when a key is held (auto-repeat); one
# growth takes 0.1-1 s.  The growth waits for a pause this long after the last step.
KEY_REGROW_DELAY_MS = 250


class MeasurePanel(Panel):
    heading = "Measure the selected lesion"

    def __init__(self, owner: AssessmentWidget):
        super().__init__(owner)
        self.setToolTip("Measurements and statuses of the lesion selected in the table, at the timepoint shown")
        lay = QVBoxLayout(self)
        grid = FlowLayout()
        self.buttons: dict[str, QPushButton] = {}
        shown = [a for a in ACTIONS if a.label and a.group in ("measure", "status")]
        for action in shown:
            b = QPushButton(action.label)
            b.setToolTip(help_text(action))
            b.clicked.connect(lambda _=False, n=action.name: owner.run_action(n))
            self.buttons[action.name] = b
            grid.addWidget(b)
        lay.addLayout(grid)

        row = QHBoxLayout()
        self.tolerance = QSlider(Qt.Orientation.Horizontal)
        self.tolerance.setRange(10, 90)
        self.tolerance.setValue(int(DEFAULT_TOLERANCE * 100))
        self.tolerance.setToolTip("How far from the clicked tissue's value the growth may go, in % of its\n"
                                  "contrast to the surroundings (50 % = the half-way edge). Changing it\n"
                                  "grows the last clicked structure again; growing another structure\n"
                                  "(another lesion, timepoint, or focus instead of zone) starts again\n"
                                  f"from {int(DEFAULT_TOLERANCE * 100)} %.")
        # A drag grows again once, on release.  Keys (arrows, PgUp/PgDn, Home/End), a click on
        # the groove and the wheel step the slider with no release: each step is a final value,
        # so the growth follows once the steps pause (a held key is one growth, not twenty).
        self.regrow_timer = owner.timer(KEY_REGROW_DELAY_MS, owner.regrow)
        self.tolerance.sliderReleased.connect(self._regrow_now)
        self.tolerance.actionTriggered.connect(self._on_slider_step)
        self.tolerance_label = QLabel(f"{self.tolerance.value()} %")
        self.tolerance.valueChanged.connect(lambda v: self.tolerance_label.setText(f"{v} %"))
        row.addWidget(QLabel("Growth tolerance"))
        row.addWidget(self.tolerance, 1)
        row.addWidget(self.tolerance_label)
        lay.addLayout(row)

        row = QHBoxLayout()
        self.diameter_spin = QDoubleSpinBox()
        self.diameter_spin.setRange(0, 999.9)
        self.diameter_spin.setDecimals(1)
        self.diameter_spin.setSuffix(" mm")
        self.set_diameter_btn = QPushButton("Set diameter")
        # A click with no lesion selected (or a value the case refuses) is a warning, not an error.
        self.set_diameter_btn.clicked.connect(lambda: owner.run_guarded(owner.set_diameter, self.diameter_spin.value()))
        row.addWidget(self.diameter_spin)
        row.addWidget(self.set_diameter_btn)
        row.addStretch(1)
        lay.addLayout(row)
        self.measure_label = QLabel("")
        self.measure_label.setWordWrap(True)
        lay.addWidget(self.measure_label)

        new_row = FlowLayout()
        self.enhancement_combo = QComboBox()
        self.enhancement_combo.addItems(["", "typical", "atypical"])
        self.enhancement_combo.setToolTip("New lesion: typical = arterial hyperenhancement with washout")
        self.equivocal_check = QCheckBox("equivocal")
        self.near_combo = QComboBox()
        self.near_combo.setToolTip("A new focus next to an ablated lesion (LTP when within the distance);\n"
                                   "also the zone 'Gap from masks' measures to")
        self.apply_new_btn = QPushButton("Apply")
        self.apply_new_btn.clicked.connect(self._on_apply)
        new_row.addWidget(QLabel("New lesion:"))
        new_row.addWidget(self.enhancement_combo)
        new_row.addWidget(self.equivocal_check)
        new_row.addWidget(QLabel("near"))
        new_row.addWidget(self.near_combo)
        new_row.addWidget(self.apply_new_btn)
        lay.addLayout(new_row)

    def needs_case(self) -> list[QWidget]:
        return [*self.buttons.values(), self.set_diameter_btn, self.apply_new_btn]

    def _regrow_now(self) -> None:
        self.regrow_timer.stop()  # a key step still pending is included: the value is read now
        self.owner.regrow()

    def _on_slider_step(self, _action: int) -> None:
        """A step of the slider that no release will follow (a drag's moves are left to it)."""
        if not self.tolerance.isSliderDown():
            self.regrow_timer.start()

    @property
    def tolerance_value(self) -> float:
        return self.tolerance.value() / 100.0

    def reset_tolerance(self) -> bool:
        """Put the slider back to the default (no growth is run: ``setValue`` neither releases
        nor steps the slider, and a key step still waiting is dropped -- it was for the structure
        grown before).  True when it was elsewhere."""
        self.regrow_timer.stop()
        default = int(DEFAULT_TOLERANCE * 100)
        moved = self.tolerance.value() != default
        self.tolerance.setValue(default)
        return moved

    def on_case(self) -> None:
        self.refresh()

    def on_timepoint(self) -> None:
        self.refresh()

    def on_selection(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        o = self.owner
        s, tp, lid = o.session, o.current_tp, o.selected_lesion()
        obs = s.observation(lid, tp) if (s and tp and lid) else None
        if obs is not None:
            value = next((v for v in (obs.viable_diameter_mm, obs.longest_diameter_mm, obs.short_axis_mm)
                          if v is not None), None)
            text = f"{obs.lesion} at {obs.timepoint}: {obs.status}"
            if value is not None:
                text += f", {value} mm"
            if obs.gap_to_ablation_zone_mm is not None:
                text += f", gap {obs.gap_to_ablation_zone_mm} mm"
            self.measure_label.setText(text + (f"  (by {obs.reader})" if obs.reader else ""))
        else:
            self.measure_label.setText("")
        self.near_combo.blockSignals(True)
        self.near_combo.clear()
        self.near_combo.addItem("")
        if s is not None:
            self.near_combo.addItems([x for x in s.ablated_lesions() if x != lid])
        self.enhancement_combo.setCurrentText((obs.enhancement if obs else None) or "")
        self.equivocal_check.setChecked(bool(obs and obs.equivocal))
        self.near_combo.setCurrentText((obs.near_lesion if obs else None) or "")
        self.near_combo.blockSignals(False)

    def _on_apply(self) -> None:
        self.owner.set_new_lesion_details(self.enhancement_combo.currentText() or None,
                                          self.equivocal_check.isChecked(),
                                          self.near_combo.currentText() or None)
