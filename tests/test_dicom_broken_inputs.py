"""A corpus of broken inputs: each gives its own message, never a traceback, and a scan of a
folder holding all of them still lists the good series."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.data.data_manager import DATA_ROOT

from mrecist_tool.cli.main import main
from mrecist_tool.dicom import read_series, scan
from mrecist_tool.dicom.testing import write_series
from mrecist_tool.errors import DicomError

Z = (0.0, 0.0, 1.0)


def _z(*zs: float) -> list[tuple[float, float, float]]:
    return [(-12.0, -8.0, z) for z in zs]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dicom_corpus")
    study = pydicom.uid.generate_uid()
    cases: dict[str, Path] = {}
    good = write_series(root / "good", positions=_z(0, 2, 4, 6, 8, 10), study_uid=study,
                        description="Abdomen PV 2mm", series_number=3)
    cases["good"] = good.folder
    # A copy of one good slice (same SOP Instance UID) is de-duplicated, not a duplicate.
    shutil.copy(good.files[0], root / "good" / "copy_of_first.dcm")
    art = write_series(root / "arterial", positions=_z(0, 2, 4, 6), study_uid=study,
                       description="Arterial 35s", series_number=2, seed=1)
    cases["arterial"] = art.folder

    trunc = write_series(root / "truncated", positions=_z(0, 2), study_uid=study,
                         description="truncated", series_number=10)
    data = trunc.files[0].read_bytes()
    trunc.files[0].write_bytes(data[: len(data) - 700])  # cut inside the pixel data
    trunc.files[1].write_bytes(data[:200])  # cut inside the header
    cases["truncated"] = trunc.folder

    cases["no_pixels"] = write_series(root / "no_pixels", positions=_z(0, 2, 4), study_uid=study,
                                      description="no pixels", series_number=11,
                                      with_pixels=False).folder
    cases["mixed_sizes"] = write_series(root / "mixed_sizes", positions=_z(0, 2, 4, 6),
                                        rows=[32, 32, 16, 32], columns=[32, 32, 16, 32],
                                        study_uid=study, description="mixed sizes",
                                        series_number=12).folder
    cases["duplicates"] = write_series(root / "duplicates", positions=_z(0, 2, 2, 4),
                                       study_uid=study, description="duplicates",
                                       series_number=13).folder
    cases["gap"] = write_series(root / "gap", positions=_z(0, 2, 4, 10, 12), study_uid=study,
                                description="gap", series_number=14).folder
    cases["irregular"] = write_series(root / "irregular", positions=_z(0, 2, 4, 7, 9),
                                      study_uid=study, description="irregular",
                                      series_number=15).folder
    cases["tilt"] = write_series(root / "tilt",
                                 positions=[(-12.0, -8.0 + 0.5 * k, 2.0 * k) for k in range(4)],
                                 study_uid=study, description="tilted", series_number=16,
                                 extra={"GantryDetectorTilt": "14"}).folder
    mixed_orient = root / "mixed_orientation"
    s1 = write_series(mixed_orient, positions=_z(0, 2), study_uid=study,
                      description="mixed orientation", series_number=17, prefix="A")
    write_series(mixed_orient, positions=[(0, 0, 0), (2, 0, 0)], orientation=(0, 1, 0, 0, 0, -1),
                 study_uid=study, series_uid=s1.series_uid, description="mixed orientation",
                 series_number=17, prefix="B")
    cases["mixed_orientation"] = mixed_orient
    cases["secondary_capture"] = write_series(
        root / "secondary_capture", positions=_z(0), study_uid=study, modality="OT",
        description="dose report", series_number=999, with_geometry=False,
        sop_class="1.2.840.10008.5.1.4.1.1.7").folder

    other = root / "other"
    other.mkdir()
    (other / "notes.txt").write_text("exported by PACS\n")
    (other / "empty.dcm").write_bytes(b"")
    (other / "random.bin").write_bytes(np.random.default_rng(0).bytes(4096))
    shutil.copy(Path(DATA_ROOT) / "test_files" / "dicomdirtests" / "DICOMDIR", other / "DICOMDIR")
    shutil.copy(get_testdata_file("test-SR.dcm", download=False), other / "report.dcm")
    cases["other"] = other
    cases["root"] = root
    return cases


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("truncated", "truncated"),
        ("no_pixels", "no Pixel Data"),
        ("mixed_sizes", "mixed image sizes"),
        ("duplicates", "duplicate slice position"),
        ("gap", "missing slices: gap of 6.00 mm"),
        ("irregular", "irregular slice spacing"),
        ("tilt", "sheared by"),
        ("mixed_orientation", "mixed orientations"),
        ("secondary_capture", "lack Image Position/Orientation"),
    ],
)
def test_each_broken_series_is_refused_with_its_message(corpus, case, message):
    with pytest.raises(DicomError, match=message):
        read_series(corpus[case])


def test_gap_message_names_the_files_around_the_gap(corpus):
    with pytest.raises(DicomError) as err:
        read_series(corpus["gap"])
    text = str(err.value)
    assert "4.00 mm" in text and "10.00 mm" in text and "expected 2.00 mm" in text
    assert "2 slice(s) missing" in text


def test_tilt_message_names_the_gantry_tilt(corpus):
    with pytest.raises(DicomError, match="Gantry/Detector Tilt is 14"):
        read_series(corpus["tilt"])


def test_non_dicom_and_non_image_files_are_refused(corpus):
    other = corpus["other"]
    with pytest.raises(DicomError, match="not a DICOM file"):
        read_series(other / "notes.txt")
    with pytest.raises(DicomError, match="not a DICOM file"):
        read_series(other / "empty.dcm")
    with pytest.raises(DicomError, match="not a DICOM file"):
        read_series(other / "random.bin")
    with pytest.raises(DicomError, match="DICOMDIR"):
        read_series(other / "DICOMDIR")
    with pytest.raises(DicomError, match="structured report"):
        read_series(other / "report.dcm")
    with pytest.raises(DicomError, match="no image series"):
        read_series(other)
    with pytest.raises(DicomError, match="no such file"):
        read_series(other / "absent.dcm")


def test_good_series_loads_despite_a_copied_slice(corpus):
    vol = read_series(corpus["good"])
    assert vol.shape == (6, 32, 32)
    assert vol.spacing == pytest.approx((2.0, 0.75, 0.5))
    assert any("copy" in w for w in vol.warnings)
    assert vol.phase == "portal-venous"


def test_scan_of_the_whole_corpus_lists_the_good_series(corpus):
    result = scan(corpus["root"])
    by_desc = {s.description: s for s in result.series}
    assert by_desc["Abdomen PV 2mm"].loadable
    assert by_desc["Abdomen PV 2mm"].n_slices == 6
    assert by_desc["Abdomen PV 2mm"].phase == "portal-venous"
    assert by_desc["Arterial 35s"].loadable and by_desc["Arterial 35s"].phase == "arterial"
    expected = {
        "no pixels": "no Pixel Data",
        "mixed sizes": "mixed image sizes",
        "duplicates": "duplicate slice position",
        "gap": "missing slices",
        "irregular": "irregular slice spacing",
        "tilted": "sheared",
        "mixed orientation": "mixed orientations",
        "dose report": "lack Image Position",
    }
    for desc, reason in expected.items():
        assert not by_desc[desc].loadable
        assert reason in (by_desc[desc].reason or ""), (desc, by_desc[desc].reason)
    sr = [s for s in result.series if s.kind == "non-image"]
    assert sr and "structured report" in (sr[0].reason or "")
    skipped = {p.path.name: p.reason for p in result.skipped}
    assert "not a DICOM file" in skipped["notes.txt"]
    assert "not a DICOM file" in skipped["random.bin"]
    assert "not a DICOM file" in skipped["empty.dcm"]
    assert "DICOMDIR" in skipped["DICOMDIR"]
    truncated = [s.reason for s in result.skipped if s.path.parent.name == "truncated"]
    assert len(truncated) == 2 and all("truncated" in r for r in truncated)


def test_read_series_of_the_whole_corpus_needs_a_choice_and_warns_of_broken_files(corpus):
    with pytest.raises(DicomError, match="pass series_uid"):
        read_series(corpus["root"])
    uid = next(s.series_uid for s in scan(corpus["root"]).series if s.description == "Arterial 35s")
    vol = read_series(corpus["root"], series_uid=uid)
    assert vol.shape == (4, 32, 32)
    assert any("unreadable DICOM file" in w for w in vol.warnings)


def test_cli_scan_of_the_corpus_prints_reasons_and_no_traceback(corpus, capsys):
    code = main(["scan", str(corpus["root"]), "--show-descriptions"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "Traceback" not in out + err
    assert "Abdomen PV 2mm" in out and "missing slices" in out and "notes.txt" in out
    assert "Test^Patient" not in out and "TEST-1" not in out
    # Without --show-descriptions the free text and the paths are hidden, the reasons are not.
    assert main(["scan", str(corpus["root"])]) == 0
    out = capsys.readouterr().out
    assert "Abdomen PV 2mm" not in out and "notes.txt" not in out and "missing slices" in out
    assert main(["scan", str(corpus["other"])]) == 1
    capsys.readouterr()
    assert main(["scan", str(corpus["root"] / "nope")]) == 2


def test_a_file_cut_anywhere_gives_a_dicom_error_not_a_traceback(tmp_path):
    series = write_series(tmp_path / "src", n_slices=1, rows=8, columns=8)
    data = series.files[0].read_bytes()
    target = tmp_path / "cut.dcm"
    for cut in range(0, len(data), 13):
        target.write_bytes(data[:cut])
        try:
            read_series(target)
        except DicomError as exc:
            assert str(exc).startswith(str(target))
        else:  # pragma: no cover - only the complete file loads
            raise AssertionError(f"a file cut at {cut} of {len(data)} bytes was loaded")


def test_corrupted_bytes_give_a_volume_or_a_dicom_error(tmp_path):
    series = write_series(tmp_path / "src", n_slices=1, rows=8, columns=8)
    data = bytearray(series.files[0].read_bytes())
    rng = np.random.default_rng(1)
    target = tmp_path / "bad.dcm"
    for _ in range(60):
        bad = bytearray(data)
        for pos in rng.integers(132, len(data), size=3):
            bad[pos] = int(rng.integers(0, 256))
        target.write_bytes(bytes(bad))
        try:
            outcome: object = read_series(target)
        except DicomError as exc:
            outcome = exc
        assert outcome is not None  # any other exception fails the test
