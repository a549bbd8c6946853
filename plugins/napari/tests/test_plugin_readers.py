"""Reader contributions: DICOM folders and case files; None for anything else; errors notified."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _studies_fixture import PIXEL_MM, SLICE_MM
from pydicom.data import get_testdata_file

from napari_mrecist import assessment_widget
from napari_mrecist._reader import get_case_reader, get_dicom_reader


def test_readers_decline_what_they_cannot_handle(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    other_json = tmp_path / "other.json"
    other_json.write_text(json.dumps({"format": "something-else"}))
    assert get_dicom_reader(str(text)) is None
    assert get_dicom_reader(str(tmp_path)) is None  # a folder without DICOM
    assert get_case_reader(str(other_json)) is None
    assert get_case_reader(str(text)) is None
    assert get_dicom_reader([str(text), str(text)]) is None


def test_dicom_subject_folder_opens_each_timepoint_in_mm(subject_dicom: Path) -> None:
    reader = get_dicom_reader(str(subject_dicom))
    assert reader is not None
    layers = reader(str(subject_dicom))
    assert [kw["name"] for _, kw, _ in layers] == ["BL arterial", "FU1 arterial", "FU2 arterial"]
    data, kw, kind = layers[0]
    assert kind == "image" and data.shape == (8, 128, 128)
    np.testing.assert_allclose(kw["scale"], (SLICE_MM, PIXEL_MM, PIXEL_MM))
    np.testing.assert_allclose(kw["translate"], (-100.0, -40.0, -40.0))  # (S, P, L) of voxel 0
    assert kw["contrast_limits"] == (-20.0, 140.0)  # liver window
    assert [kw.get("visible", True) for _, kw, _ in layers] == [True, False, False]


def test_dicom_single_real_series_has_its_scale() -> None:
    """pydicom's real five-slice CT (CT5N): 2.5 mm slices of 0.488 mm pixels."""
    folder = Path(get_testdata_file("dicomdirtests/98892001/CT5N/2062")).parent
    reader = get_dicom_reader(str(folder))
    assert reader is not None
    ((data, kw, kind),) = reader(str(folder))
    assert kind == "image" and data.shape[0] == 5
    np.testing.assert_allclose(kw["scale"], (2.5, 0.488281, 0.488281), rtol=1e-5)
    assert kw["metadata"]["series_uid"]


def test_dicom_series_with_missing_slices_is_notified(notifications) -> None:
    """pydicom's CT2 has a 202 mm gap: refused with a notification naming it, no exception."""
    folder = Path(get_testdata_file("dicomdirtests/77654033/CT2/17136")).parent
    reader = get_dicom_reader(str(folder))
    assert reader is not None
    assert reader(str(folder)) == [(None,)]
    assert any("missing slices" in str(n.message) for n in notifications)


@pytest.mark.gui
def test_case_reader_opens_case_in_the_widget(make_napari_viewer, case_dir: Path, notifications) -> None:
    from napari_mrecist import _io
    from napari_mrecist._session import Session
    from napari_mrecist._studies import StudySet

    studies = StudySet.open(case_dir / "dicom")
    s = Session.new("CRLM-T02", studies.timepoints(), reader="r")
    s.add_lesion("target")
    s.set_measurement("T1", "BL", 22)
    _io.save_session(s, case_dir / "case.json")
    # The studies' modality is recorded when DICOM is opened (SDTM --METHOD, issue 14).
    saved = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    assert {tp.get("modality") for tp in saved["timepoints"]} == {"CT"}
    viewer = make_napari_viewer()
    viewer.open(str(case_dir / "case.json"), plugin="napari-mrecist")
    widget = assessment_widget(viewer)  # the widget the reader docked, not a new one
    assert widget.session is not None and widget.session.subject.id == "CRLM-T02"
    image = widget.layers_for("BL")["image"]
    np.testing.assert_allclose(image.scale, (SLICE_MM, PIXEL_MM, PIXEL_MM))
    assert widget.result_categories()["BL"]["sum mm"] == "22"


@pytest.mark.gui
def test_broken_case_file_is_notified_not_raised(make_napari_viewer, tmp_path: Path, notifications) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": "mrecist-case", "version": 1, "subject": {"id": "X"}, "timepoints": [}')
    viewer = make_napari_viewer()
    viewer.open(str(bad), plugin="napari-mrecist")
    assert any("broken.json" in str(n.message) for n in notifications)
    assert len(viewer.layers) == 0


def test_dicom_reader_opens_the_generated_sample_studies() -> None:
    """The generated sample subject's folder: one layer per timepoint, in mm, as the DICOM says."""
    import os

    from mrecist_tool.dicom import scan
    from mrecist_tool.sample import generate_studies

    result = generate_studies(os.environ["MRECIST_SAMPLE_DIR"], if_missing=True)
    folder = result.case_files[-1].parent / "dicom"
    reader = get_dicom_reader(str(folder))
    assert reader is not None
    layers = reader(str(folder))
    spacing = {s.series_uid: s.spacing for s in scan(folder).series}
    assert [kw["name"].split()[0] for _, kw, _ in layers] == ["BL", "FU1", "FU2"]
    for data, kw, _ in layers:
        np.testing.assert_allclose(kw["scale"], spacing[kw["metadata"]["series_uid"]], rtol=1e-6)
        assert data.ndim == 3 and len(kw["translate"]) == 3


def test_every_api_hint_of_the_dicom_layer_is_told_in_the_viewers_terms(tmp_path: Path) -> None:
    """The DICOM layer ends some refusals with a hint for API users -- an argument to pass
    (``missing_slices=``, ``part=``, ``series_uid=``, ``patient=``).  Each one, made here by
    the real core from real DICOM, is shown in the viewer as what to do in the viewer (the
    Series box, Open…, Worklist…, the files to add); the core's own text keeps its hint."""
    import re

    import pydicom
    from _studies_fixture import STUDY_DATES, add_dynamic_series, write_subject

    from mrecist_tool.dicom import read_series, scan, studies_to_timepoints
    from mrecist_tool.errors import DicomError
    from napari_mrecist._studies import for_reader

    def refusal(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
        with pytest.raises(DicomError) as err:
            call(*args, **kwargs)
        return str(err.value)

    subject = write_subject(tmp_path / "one", n_slices=12, dates=STUDY_DATES[:1])
    dynamic_uid = add_dynamic_series(subject / "study0")
    dynamic = scan(subject).series_by_uid(dynamic_uid)
    gappy = write_subject(tmp_path / "gap", n_slices=12, dates=STUDY_DATES[:1])
    for f in sorted(gappy.rglob("IM*.dcm"))[4:7]:
        f.unlink()
    two = write_subject(tmp_path / "two", dates=STUDY_DATES[:1])
    write_subject(two / "other", dates=STUDY_DATES[1:2])
    for f in (two / "other").rglob("IM*.dcm"):
        ds = pydicom.dcmread(f)
        ds.PatientID = "OTHERPAT"
        ds.save_as(f)
    core = {
        "a series of several volumes, scanned": dynamic.reason,
        "a series of several volumes, loaded": refusal(read_series, list(dynamic.files),
                                                       series_uid=dynamic.series_uid),
        "several series, no series chosen": refusal(read_series, subject / "study0"),
        "several patients, none chosen": refusal(studies_to_timepoints, scan(two)),
        "missing slices": scan(gappy).series[0].reason,
    }
    api = re.compile(r"pass \w+=|\bpart=|series_uid=|patient=|missing_slices=|read_series")
    viewer_terms = ("Series box", "Open…", "Worklist…", "add the missing slices")
    for case, text in core.items():
        assert api.search(text), (case, text)  # the core's hint (else there is nothing to check)
        shown = for_reader(text)
        assert not api.search(shown), (case, shown)
        assert any(words in shown for words in viewer_terms), (case, shown)
