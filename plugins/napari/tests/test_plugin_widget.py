"""Driving the assessment widget like a reader, in a real napari viewer under Xvfb."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from qtpy.QtCore import Qt

from mrecist_tool.casefile import read_case
from mrecist_tool.rules import assess_case
from napari_mrecist._reader import assessment_widget
from napari_mrecist._results import timepoint_rows

pytestmark = pytest.mark.gui


@pytest.fixture
def widget(make_napari_viewer, case_dir: Path):
    viewer = make_napari_viewer()
    w = assessment_widget(viewer)
    assert w.open_dicom(case_dir / "dicom")
    return w


def _cam(viewer):
    return viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera


def _categories_from_engine(case) -> dict[str, list[str]]:
    return {r[0].text.split()[0]: [c.text for c in r] for r in timepoint_rows(assess_case(case))}


def _categories_on_screen(w) -> dict[str, list[str]]:
    out = {}
    for r in range(w.results_table.rowCount()):
        row = [w.results_table.item(r, c).text() for c in range(w.results_table.columnCount())]
        out[row[0].split()[0]] = row
    return out


def test_reading_session_gives_the_engines_categories(widget, qtbot, case_dir: Path) -> None:
    """Add a target, draw its line, mark it absent at FU1, add its ablation, paint viable tissue
    at FU2: the panel shows what the engine gives for the saved case file (ABL-9 LTP → PD)."""
    w = widget
    assert w.timepoint_ids() == ["BL", "FU1", "FU2"] and w.current_tp == "BL"
    w.role_combo.setCurrentText("target")
    w.site_edit.setText("segment VII")
    qtbot.mouseClick(w.add_lesion_btn, Qt.LeftButton)
    assert w.selected_lesion() == "T1"
    w.add_lesion("non-target")
    w.select_lesion("T1")
    lines = w.layers_for("BL")["lines"]
    qtbot.mouseClick(w.buttons["draw_line"], Qt.LeftButton)
    assert lines.mode == "add_line"
    lines.add_lines(np.array([[4, 20, 20], [4, 20, 60]]))  # 40 px × 0.7 mm
    obs = w.session.observation("T1", "BL")
    assert obs.status == "measured" and str(obs.viable_diameter_mm) == "28.0"
    qtbot.waitUntil(lambda: "T1 28.0 mm" in list(lines.features["label"]), timeout=2000)
    w.viewer.dims.set_current_step(0, 0)
    w.select_lesion("NT1")
    w.select_lesion("T1")  # selecting a lesion jumps to its line's slice
    assert w.viewer.dims.current_step[0] == 4
    w.select_lesion("NT1")
    w.run_action("mark_present")

    w.run_action("next_timepoint")
    assert w.current_tp == "FU1"
    w.select_lesion("T1")
    qtbot.mouseClick(w.buttons["mark_absent"], Qt.LeftButton)
    w.select_lesion("NT1")
    w.run_action("mark_present")
    w.select_lesion("T1")
    w.proc_date.setDate(w.proc_date.date().fromString("2021-03-30", "yyyy-MM-dd"))
    w.proc_technique.setCurrentText("MWA")
    qtbot.mouseClick(w.add_proc_btn, Qt.LeftButton)
    assert [p.lesions for p in w.session.procedures.values()] == [("T1",)]

    w.show_timepoint("FU2")
    w.select_lesion("T1")
    qtbot.mouseClick(w.buttons["paint_viable"], Qt.LeftButton)
    viable = w.layers_for("FU2")["viable"]
    assert viable.mode == "paint" and viable.selected_label == 1
    viable.brush_size = 12
    viable.paint((4, 64, 64), viable.selected_label)
    w.sync_masks_now()
    obs = w.session.observation("T1", "FU2")
    assert obs.status == "measured" and obs.viable_diameter_mm > 0
    w.select_lesion("NT1")
    w.run_action("mark_present")

    screen = _categories_on_screen(w)
    assert screen["FU1"][6] == "CR" and screen["FU1"][9] == "PR"
    assert screen["FU2"][9] == "PD"
    assert all(o.reader and o.recorded_at for o in w.session.observations.values())

    case_path = case_dir / "CRLM-T03.json"
    assert w.save(case_path)
    saved = read_case(case_path)
    assert _categories_from_engine(saved) == screen
    assert json.loads(case_path.read_text())["observations"][0]["geometry"]["line"]


def test_save_and_reopen_restores_lines_and_masks(make_napari_viewer, widget, case_dir: Path) -> None:
    w = widget
    w.add_lesion("target")
    w.layers_for("BL")["lines"].add_lines(np.array([[3, 30, 30], [3, 50, 30]]))
    w.show_timepoint("FU1")
    w.select_lesion("T1")
    w.run_action("paint_zone")
    zone = w.layers_for("FU1")["zone"]
    zone.brush_size = 8
    zone.paint((5, 40, 40), 1)
    w.sync_masks_now()
    w.run_action("mark_absent")
    w.add_lesion("new")
    w.run_action("paint_viable")
    viable = w.layers_for("FU1")["viable"]
    viable.brush_size = 4
    viable.paint((5, 40, 60), viable.selected_label)  # a focus beside the zone
    w.sync_masks_now()
    w.near_combo.setCurrentText("")
    w.session.update_observation("N1", "FU1", near_lesion="T1")
    w.run_action("gap_from_masks")
    gap = w.session.observation("N1", "FU1").gap_to_ablation_zone_mm
    assert gap is not None and 0 < gap < 20
    w.select_lesion("T1")
    before = w.session.to_case()
    path = case_dir / "reopen.json"
    assert w.save(path)

    w2 = assessment_widget(make_napari_viewer())
    assert w2.open_case(path)
    assert w2.session.to_case() == read_case(path)
    assert read_case(path).observations == before.observations[:0] + read_case(path).observations
    lines = w2.layers_for("BL")["lines"]
    assert len(lines.data) == 1
    np.testing.assert_allclose(lines.data[0][:, 1:], [[30, 30], [50, 30]], atol=0.02)
    zone2 = w2.layers_for("FU1")["zone"]
    np.testing.assert_array_equal(zone2.data > 0, zone.data > 0)
    assert w2.session.observation("T1", "FU1").geometry.ablation_zone_mask == "masks/T1_FU1_zone.nii.gz"


def test_autosave_after_an_edit_and_restore_on_open(make_napari_viewer, widget, qtbot, case_dir: Path,
                                                    notifications) -> None:
    w = widget
    path = case_dir / "auto.json"
    w.add_lesion("target")
    w.set_diameter(31.5)
    assert w.save(path)
    w.show_timepoint("FU1")
    w.select_lesion("T1")
    w.run_action("mark_too_small")
    side = case_dir / "auto.autosave.json"
    qtbot.waitUntil(side.exists, timeout=4000)  # the debounce is ≤ 2 s
    w2 = assessment_widget(make_napari_viewer())
    assert w2.open_case(path)
    assert w2.session.observation("T1", "FU1").status == "too-small"
    assert any("restored" in str(n.message) for n in notifications)
    assert w2.save()
    assert not side.exists()


def test_target_limit_is_warned(widget, notifications) -> None:
    """REC-B1 / MR-B3: a third liver target is refused with a warning (2 per organ)."""
    assert widget.add_lesion("target") == "T1"
    assert widget.add_lesion("target") == "T2"
    assert widget.add_lesion("target") is None
    assert any("per organ" in str(n.message) for n in notifications)
    assert widget.add_lesion("target", organ="lung") == "T3"


def test_new_lesion_details_and_shortcuts(widget) -> None:
    w = widget
    w.add_lesion("target")
    w.set_diameter(20)
    w.add_procedure("ablation", date(2021, 3, 30), ["T1"], "RFA")
    w.run_action("next_timepoint")
    w.run_action("next_timepoint")
    assert w.current_tp == "FU2"
    w.add_lesion("new")
    w.set_new_lesion_details("typical", equivocal=True)
    obs = w.session.observation("N1", "FU2")
    assert (obs.enhancement, obs.equivocal) == ("typical", True)
    assert _categories_on_screen(w)["FU2"][8] == "equivocal"
    w.set_new_lesion_details("typical", equivocal=False, near_lesion="T1")
    assert w.session.observation("N1", "FU2").near_lesion == "T1"
    # The keys are bound on napari's canvas: Alt+A marks the selected lesion absent.
    bindings = {str(k): f for k, f in w.viewer.keymap.items()}
    w.select_lesion("T1")
    bindings["Alt+A"](w.viewer)
    assert w.session.observation("T1", "FU2").status == "absent"
    bindings["Alt+Up"](w.viewer)
    assert w.current_tp == "FU1"


def test_side_by_side_links_slice_and_zoom(widget) -> None:
    w = widget
    w.show_timepoint("FU2")
    w.set_compare(True)
    view = w.compare_view
    assert view is not None and next(layer.name for layer in view.model.layers).startswith("BL")
    w.viewer.dims.set_current_step(0, 6)
    assert view.model.dims.point[0] == pytest.approx(w.viewer.dims.point[0])
    _cam(w.viewer).zoom = 3.0
    assert _cam(view.model).zoom == pytest.approx(3.0)
    _cam(view.model).zoom = 2.0
    assert _cam(w.viewer).zoom == pytest.approx(2.0)
    w.set_compare(False)
    assert w.compare_view is None


def test_sample_subject_round_trip_same_assessment(make_napari_viewer, qtbot, tmp_path: Path, monkeypatch) -> None:
    """File ▸ Open Sample: the generated subject's ground-truth case file opens with its studies,
    lines and masks; saved again it is the same case (same assessment)."""
    viewer = make_napari_viewer()
    viewer.open_sample("napari-mrecist", "sample_subject")
    w = assessment_widget(viewer)
    qtbot.waitUntil(lambda: "lines BL" in [layer.name for layer in viewer.layers], timeout=5000)
    assert [layer.name for layer in viewer.layers].count("BL arterial") == 1
    original = read_case(w.session.path)
    assert w.session.to_case() == original
    layers = w.layers_for("FU2")
    assert layers["image"].scale[0] > 0 and (layers["zone"].data > 0).any()
    assert len(w.layers_for("BL")["lines"].data) >= 1
    out = tmp_path / "again" / original.source.name
    out.parent.mkdir()
    assert w.save(out)
    again = read_case(out)
    assert again.observations == original.observations
    assert assess_case(again).timepoints == assess_case(original).timepoints
    assert assess_case(again).ablations == assess_case(original).ablations


def test_mrecist_view_opens_a_case_with_the_widget(case_dir: Path, monkeypatch) -> None:
    import napari

    from mrecist_tool.cli.main import main
    from napari_mrecist import _io
    from napari_mrecist._session import Session
    from napari_mrecist._studies import StudySet

    s = Session.new("CRLM-T09", StudySet.open(case_dir / "dicom").timepoints(), reader="r")
    _io.save_session(s, case_dir / "v.json")
    monkeypatch.setattr(napari, "run", lambda *a, **k: None)  # do not enter the event loop
    assert main(["view", str(case_dir / "nope.json")]) == 2
    try:
        assert main(["view", str(case_dir / "v.json"), "--reader", "dr-x"]) == 0
        viewer = napari.current_viewer()
        w = assessment_widget(viewer)
        assert w.session.subject.id == "CRLM-T09" and w.session.reader == "dr-x"
    finally:
        napari.current_viewer().close()


def test_case_without_images_still_assesses(make_napari_viewer) -> None:
    """A hand-written case file with no DICOM beside it: no image layers, full results panel."""
    root = Path(__file__).resolve().parents[3] / "sample_data" / "cases"
    files = sorted(root.glob("*.json"))
    if not files:
        pytest.skip("no sample case files")
    w = assessment_widget(make_napari_viewer())
    assert w.open_case(files[0], use_autosave=False)
    assert len(w.viewer.layers) == 0
    assert _categories_on_screen(w) == _categories_from_engine(read_case(files[0]))


def test_dicom_case_autosave_restored_when_reopened(make_napari_viewer, case_dir: Path, notifications) -> None:
    """A case begun from DICOM and never saved is autosaved in the cache and restored."""
    w = assessment_widget(make_napari_viewer())
    assert w.open_dicom(case_dir / "dicom")
    w.add_lesion("target")
    w.set_diameter(18.5)
    assert w.autosave_now() is not None
    w2 = assessment_widget(make_napari_viewer())
    assert w2.open_dicom(case_dir / "dicom")
    assert str(w2.session.observation("T1", "BL").viable_diameter_mm) == "18.5"
    assert w2.session.path is None
    assert w2.save(case_dir / "new.json")
    assert _io_newer(w2) is None


def _io_newer(w):
    from napari_mrecist import _io

    return _io.newer_autosave(_io.default_scratch_path(w.session.subject.id))


def test_visit_without_imaging_is_ne_and_criteria_switch(widget, qtbot) -> None:
    """A visit marked 'no imaging' is not evaluable (the engine's NE); RECIST 1.1 then measures
    the longest diameter of the whole lesion."""
    w = widget
    w.add_lesion("target")
    w.set_diameter(25)
    w.show_timepoint("FU1")
    w.select_lesion("T1")
    w.set_diameter(24)
    assert _categories_on_screen(w)["FU1"][9] == "SD"
    w.no_imaging_check.click()  # what a mouse click on the box does
    assert w.session.timepoints["FU1"].imaging == "not-done"
    assert _categories_on_screen(w)["FU1"][9] == "NE"
    assert _categories_on_screen(w) == _categories_from_engine(w.session.to_case())
    w.criteria_combo.setCurrentIndex(1)
    w.criteria_combo.activated.emit(1)
    assert w.session.criteria == "RECIST1.1"
    assert w.session.measure_field("T1") == "longest_diameter_mm"
