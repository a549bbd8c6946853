"""DICOM SR (TID 1500) and SEG export, and SR import (issue 5, item 7).

Every SR and SEG written here must pass ``dciodvfy`` (dicom3tools) with no error; the test
fails, rather than skips, when the validator is missing.  Source images: a small synthetic CT
study built with pydicom below (two timepoints, dciodvfy-clean CT Image Storage objects) with a
matching case file and NIfTI masks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from mrecist_tool.casefile import case_to_dict, read_case
from mrecist_tool.cli.main import main
from mrecist_tool.errors import DicomError
from mrecist_tool.exchange import codes as C
from mrecist_tool.exchange.dicom_seg import write_seg
from mrecist_tool.exchange.dicom_sr import write_sr
from mrecist_tool.exchange.sources import index_folder
from mrecist_tool.exchange.sr_import import read_sr
from mrecist_tool.exchange.uids import TRACKING_UID_KEY, lesion_tracking_uid, stable_uid
from mrecist_tool.rules import assess_case

ROWS = COLS = 32
N_SLICES = 6
SPACING = (2.0, 2.0, 3.0)  # column, row, slice (mm)
ORIGIN = (-32.0, -32.0, 0.0)  # LPS mm of the first voxel


# --------------------------------------------------------------------------------------------
# Test data
# --------------------------------------------------------------------------------------------
def make_ct_series(folder: Path, study_uid: str, series_uid: str, for_uid: str, day: str) -> list[Path]:
    """A small, complete CT Image Storage series (dciodvfy-clean)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(N_SLICES):
        sop = generate_uid()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = sop
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = sop
        for kw in ("StudyDate", "SeriesDate", "ContentDate", "AcquisitionDate"):
            setattr(ds, kw, day)
        ds.StudyTime, ds.SeriesTime, ds.ContentTime, ds.AcquisitionTime = "120000", "120100", "120100", "120100"
        ds.AccessionNumber = ""
        ds.Modality = "CT"
        ds.Manufacturer = "mrecist-test"
        ds.ReferringPhysicianName = ""
        ds.StudyDescription = "synthetic liver CT"
        ds.SeriesDescription = "arterial"
        ds.PatientName = "Synthetic^Subject"
        ds.PatientID = "SYNTH0001"
        ds.PatientBirthDate = ""
        ds.PatientSex = "O"
        ds.BodyPartExamined = "ABDOMEN"
        ds.PatientPosition = "FFS"
        ds.SliceThickness = str(SPACING[2])
        ds.KVP = "120"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.StudyID = "1"
        ds.SeriesNumber = 3
        ds.InstanceNumber = k + 1
        ds.AcquisitionNumber = 1
        z = ORIGIN[2] + k * SPACING[2]
        ds.ImagePositionPatient = [str(ORIGIN[0]), str(ORIGIN[1]), str(z)]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.FrameOfReferenceUID = for_uid
        ds.PositionReferenceIndicator = ""
        ds.SliceLocation = str(z)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = ROWS, COLS
        ds.PixelSpacing = [str(SPACING[1]), str(SPACING[0])]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "HU"
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        arr = np.full((ROWS, COLS), -1000, np.int16)
        arr[4:-4, 4:-4] = 60
        ds.PixelData = arr.tobytes()
        path = folder / f"ct{k:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def save_mask(array: np.ndarray, path: Path, origin: tuple[float, ...] = ORIGIN,
              spacing: tuple[float, ...] = SPACING) -> None:
    image = sitk.GetImageFromArray(array.astype(np.uint8))  # (z, y, x)
    image.SetOrigin(origin)
    image.SetSpacing(spacing)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path))


def lesion_mask() -> np.ndarray:
    a = np.zeros((N_SLICES, ROWS, COLS), bool)
    a[1:3, 12:18, 10:20] = True
    return a


def zone_mask() -> np.ndarray:
    a = np.zeros((N_SLICES, ROWS, COLS), bool)
    a[0:4, 9:22, 8:24] = True  # contains the lesion mask: the segments overlap
    return a


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("exchange")
    for_uid = generate_uid()
    uids = {tp: (generate_uid(), generate_uid()) for tp in ("BL", "FU1")}
    make_ct_series(root / "dicom" / "bl", *uids["BL"], for_uid, "20210225")
    fu1_files = make_ct_series(root / "dicom" / "fu1", *uids["FU1"], for_uid, "20210420")
    save_mask(lesion_mask(), root / "case" / "masks" / "L1_FU1.nii.gz")
    save_mask(zone_mask(), root / "case" / "masks" / "L1_FU1_zone.nii.gz")
    node = np.zeros((N_SLICES, ROWS, COLS), bool)
    node[3, 20:24, 20:24] = True
    node[4, 19:25, 19:25] = True  # largest on the fifth slice
    save_mask(node, root / "case" / "masks" / "N1_BL.nii.gz")
    bl_files = sorted((root / "dicom" / "bl").glob("*.dcm"))
    case = {
        "format": "mrecist-case", "version": 1,
        "subject": {"id": "CRLM-0007"}, "reader": "R1", "criteria": "mRECIST",
        "timepoints": [
            {"id": "BL", "date": "2021-02-25", "baseline": True, "study_uid": uids["BL"][0]},
            {"id": "FU1", "date": "2021-04-20", "study_uid": uids["FU1"][0]},
        ],
        "procedures": [{"id": "ABL1", "type": "ablation", "date": "2021-03-30", "lesions": ["L1"]}],
        "lesions": [
            {"id": "L1", "role": "target", "organ": "liver", "site": "segment VII"},
            {"id": "L2", "role": "non-target", "organ": "liver"},
            {"id": "N1", "role": "target", "kind": "node", "organ": "lymph node"},
        ],
        "observations": [
            {"lesion": "L1", "timepoint": "BL", "status": "measured", "viable_diameter_mm": 24.5,
             "geometry": {"series_uid": uids["BL"][1], "line": [[-10, 0, 6], [14.5, 0, 6]]}},
            {"lesion": "L2", "timepoint": "BL", "status": "present"},
            {"lesion": "N1", "timepoint": "BL", "status": "measured", "short_axis_mm": 16,
             "geometry": {"series_uid": uids["BL"][1], "mask": "masks/N1_BL.nii.gz"}},
            {"lesion": "L1", "timepoint": "FU1", "status": "measured", "viable_diameter_mm": 12.3,
             "gap_to_ablation_zone_mm": 0,
             "geometry": {"series_uid": uids["FU1"][1], "line": [[-6, 0, 3], [6.3, 0, 3]],
                          "mask": "masks/L1_FU1.nii.gz",
                          "ablation_zone_mask": "masks/L1_FU1_zone.nii.gz"}},
            {"lesion": "L2", "timepoint": "FU1", "status": "present"},
            {"lesion": "N1", "timepoint": "FU1", "status": "measured", "short_axis_mm": 9},
        ],
    }
    case_path = root / "case" / "CRLM-0007.json"
    case_path.write_text(json.dumps(case, indent=1), encoding="utf-8")
    return {
        "root": root, "dicom": root / "dicom", "case_path": case_path, "uids": uids,
        "for_uid": for_uid, "fu1_files": fu1_files, "bl_files": bl_files,
    }


def dciodvfy(path: Path) -> list[str]:
    """Run dciodvfy; fail on any error line; return the warning lines."""
    exe = shutil.which("dciodvfy")
    if exe is None:
        pytest.fail("dciodvfy (dicom3tools) is not installed; it is required to validate output")
    proc = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60)
    lines = (proc.stdout + proc.stderr).splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    assert not errors, f"dciodvfy found errors in {path}:\n" + "\n".join(errors)
    return [line for line in lines if line.startswith("Warning")]


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------
def test_generated_ct_series_is_valid_dicom(study: dict[str, Any]) -> None:
    assert dciodvfy(study["fu1_files"][0]) == []


def test_sr_passes_dciodvfy_and_reads_back_the_same_values(study: dict[str, Any], tmp_path: Path) -> None:
    case = read_case(study["case_path"])
    out = tmp_path / "fu1_sr.dcm"
    result = write_sr(case, "FU1", study["dicom"], out)
    warnings = dciodvfy(out)
    # The only warnings: our private coding scheme designator is unknown to the validator.
    assert all("99MRECIST" in w for w in warnings), warnings

    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert ds.StudyInstanceUID == study["uids"]["FU1"][0]
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"

    sr = hd.sr.srread(out)
    report = sr.content
    planar = report.get_planar_roi_measurement_groups()
    # L1's line twice: on its image as 2D SCOORD (with the measurements, what OHIF draws) and
    # in patient coordinates as SCOORD3D (no measurements), both with L1's tracking UID.
    assert [g.tracking_identifier for g in planar] == ["L1", "L1"]
    l1, l1_3d = planar
    assert l1.tracking_uid == l1_3d.tracking_uid == lesion_tracking_uid(case, "L1")
    assert l1.roi.ValueType == "SCOORD" and l1.roi.GraphicType == "POLYLINE"
    # Pixel coordinates: column = (x - x0) / 2 mm + 0.5 (PS3.3 C.18.6.1.1), row likewise.
    assert np.allclose(l1.roi.value, [[13.5, 16.5], [19.65, 16.5]], atol=1e-4)
    expected_sop = pydicom.dcmread(study["fu1_files"][1]).SOPInstanceUID
    assert l1.roi.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == expected_sop
    values = {m.name.value: m for m in l1.get_measurements()}
    viable = values[C.VIABLE_DIAMETER.value]
    assert Decimal(str(viable[0].MeasuredValueSequence[0].NumericValue)) == Decimal("12.3")
    assert viable.unit.value == "mm"
    # The measurement references the CT slice the line lies on (z = 3 mm: the second slice).
    refs = viable.referenced_images
    assert len(refs) == 1
    assert refs[0].referenced_sop_instance_uid == expected_sop
    assert l1_3d.roi.ValueType == "SCOORD3D"
    # No TID 1502 "Time Point Order" NUM: readers take it for a measurement (docs/dicom-codes.md).
    assert l1_3d.get_measurements() == []
    assert np.allclose(l1_3d.roi.value, [[-6, 0, 3], [6.3, 0, 3]], atol=1e-5)
    assert l1_3d.roi.ReferencedFrameOfReferenceUID == study["for_uid"]

    others = {g.tracking_identifier: g for g in report.get_image_measurement_groups()}
    assert set(others) == {"L2", "N1"}
    n1 = {m.name.value: m for m in others["N1"].get_measurements()}
    assert n1[C.SHORT_AXIS.value].value == pytest.approx(9.0)
    evals = {e.name.value: e.value.value for e in others["L2"].get_qualitative_evaluations()}
    assert evals[C.LESION_ROLE.value] == C.ROLE_VALUES["non-target"].value
    assert evals[C.LESION_STATUS.value] == C.STATUS_VALUES["present"].value

    # The timepoint's response, as computed by the engine.
    tp = assess_case(case).timepoint("FU1")
    container = [
        item for item in ds.ContentSequence
        if item.ConceptNameCodeSequence[0].CodeValue == C.QUALITATIVE_EVALUATIONS.value
    ]
    assert len(container) == 1
    coded = {
        i.ConceptNameCodeSequence[0].CodeValue: i.ConceptCodeSequence[0].CodeValue
        for i in container[0].ContentSequence
    }
    assert tp.overall is not None and tp.target is not None
    assert coded[C.OVERALL_RESPONSE.value] == C.OVERALL_RESPONSE_VALUES[tp.overall.category].value
    assert coded[C.TARGET_RESPONSE.value] == C.TARGET_RESPONSE_VALUES[tp.target.category].value
    assert result.lesions == ["L1", "L2", "N1"]


def test_tracking_uids_are_stable_across_timepoints_and_between_sr_and_seg(
    study: dict[str, Any], tmp_path: Path
) -> None:
    case = read_case(study["case_path"])
    uids = {}
    for tp in ("BL", "FU1"):
        write_sr(case, tp, study["dicom"], tmp_path / f"{tp}.dcm")
        report = hd.sr.srread(tmp_path / f"{tp}.dcm").content
        groups = report.get_planar_roi_measurement_groups() + report.get_image_measurement_groups()
        uids[tp] = {g.tracking_identifier: str(g.tracking_uid) for g in groups}
    assert uids["BL"] == uids["FU1"]
    seg = write_seg(case, "FU1", study["dicom"], tmp_path / "seg.dcm")
    assert seg.segments[0].tracking_uid == uids["FU1"]["L1"]
    # Derived from the pseudonym and the lesion id only: the same in a fresh process.
    assert uids["BL"]["L1"] == stable_uid("lesion", "CRLM-0007", "L1")


def test_seg_with_overlapping_segments_passes_dciodvfy_and_reads_back(
    study: dict[str, Any], tmp_path: Path
) -> None:
    case = read_case(study["case_path"])
    out = tmp_path / "fu1_seg.dcm"
    result = write_seg(case, "FU1", study["dicom"], out)
    assert dciodvfy(out) == []
    assert [s.kind for s in result.segments] == ["lesion", "ablation-zone"]

    ds = pydicom.dcmread(out)
    assert ds.SegmentationType == "BINARY"
    assert ds.SeriesInstanceUID != study["uids"]["FU1"][1]
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == study["uids"]["FU1"][1]

    seg = hd.seg.segread(out)
    assert seg.number_of_segments == 2
    desc = {d.segment_number: d for d in seg.SegmentSequence}
    assert desc[1].SegmentLabel == "L1"
    assert desc[2].SegmentLabel == "L1 ablation zone"
    assert desc[2].SegmentedPropertyTypeCodeSequence[0].CodeValue == C.SEG_TYPE_ABLATION_ZONE.value
    assert seg.get_segment_numbers(tracking_uid=lesion_tracking_uid(case, "L1")) == [1]
    source_uids = [pydicom.dcmread(p).SOPInstanceUID for p in sorted((study["dicom"] / "fu1").glob("*.dcm"))]
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=source_uids, segment_numbers=[1, 2], assert_missing_frames_are_empty=True
    )  # (slices, rows, cols, segments)
    assert np.array_equal(pixels[..., 0] > 0, lesion_mask())
    assert np.array_equal(pixels[..., 1] > 0, zone_mask())
    assert np.any((pixels[..., 0] > 0) & (pixels[..., 1] > 0))  # overlap kept


def test_seg_refuses_a_mask_on_another_grid_unless_resampling(study: dict[str, Any], tmp_path: Path) -> None:
    case_dir = tmp_path / "case"
    shutil.copytree(study["case_path"].parent, case_dir)
    # The same lesion saved at half the in-plane resolution: another grid, same place.
    coarse = lesion_mask()[:, ::2, ::2]
    save_mask(coarse, case_dir / "masks" / "L1_FU1.nii.gz",
              origin=(ORIGIN[0] + 1.0, ORIGIN[1] + 1.0, ORIGIN[2]), spacing=(4.0, 4.0, 3.0))
    case = read_case(case_dir / "CRLM-0007.json")
    with pytest.raises(DicomError, match=r"L1_FU1\.nii\.gz: the mask grid .* does not match"):
        write_seg(case, "FU1", study["dicom"], tmp_path / "x.dcm")
    result = write_seg(case, "FU1", study["dicom"], tmp_path / "x.dcm", resample=True)
    assert result.segments[0].resampled
    assert dciodvfy(tmp_path / "x.dcm") == []


def test_import_of_our_sr_round_trips_measurements_and_lines(study: dict[str, Any], tmp_path: Path) -> None:
    case = read_case(study["case_path"])
    files = []
    for tp in ("BL", "FU1"):
        files.append(tmp_path / f"{tp}.dcm")
        write_sr(case, tp, study["dicom"], files[-1])
    out = tmp_path / "imported.json"
    code = main(["import", "sr", *map(str, files), "--subject", "CRLM-0007", "--out", str(out)])
    assert code == 0
    imported = read_case(out)
    assert [t.id for t in imported.timepoints] == ["BL", "FU1"]
    assert imported.baseline.id == "BL"
    assert {les.id: (les.role, les.kind) for les in imported.lesions} == {
        les.id: (les.role, les.kind) for les in case.lesions
    }
    # Our derived UIDs are recognised, so nothing foreign is recorded.
    assert all(TRACKING_UID_KEY not in les.extra for les in imported.lesions)
    before = {(o.lesion, o.timepoint): o for o in case.observations}
    for o in imported.observations:
        ref = before[(o.lesion, o.timepoint)]
        assert o.status == ref.status
        assert o.viable_diameter_mm == ref.viable_diameter_mm
        assert o.short_axis_mm == ref.short_axis_mm
        assert o.gap_to_ablation_zone_mm == ref.gap_to_ablation_zone_mm
        if ref.geometry and ref.geometry.line:
            assert o.geometry is not None and o.geometry.line == ref.geometry.line
            assert o.geometry.series_uid == ref.geometry.series_uid
    # The imported case assesses the same as the original.
    a, b = assess_case(case), assess_case(imported)
    assert [t.overall.category if t.overall else None for t in a.timepoints] == [
        t.overall.category if t.overall else None for t in b.timepoints
    ]


def test_import_into_existing_case_updates_without_touching_the_input(
    study: dict[str, Any], tmp_path: Path
) -> None:
    case = read_case(study["case_path"])
    sr_path = tmp_path / "fu1.dcm"
    write_sr(case, "FU1", study["dicom"], sr_path)
    case_copy = tmp_path / "case.json"
    shutil.copy(study["case_path"], case_copy)
    original_text = case_copy.read_text()
    out = tmp_path / "merged.json"
    assert main(["import", "sr", str(sr_path), "--case", str(case_copy), "--out", str(out)]) == 0
    assert case_copy.read_text() == original_text
    merged = read_case(out)
    d1, d2 = case_to_dict(case), case_to_dict(merged)
    for key in ("timepoints", "lesions", "procedures"):
        assert d1[key] == d2[key]
    # Same observations (the SR's observer is the case's reader, so nothing is added).
    assert d2["observations"] == d1["observations"]
    # Refuses to overwrite the input without --in-place.
    assert main(["import", "sr", str(sr_path), "--case", str(case_copy), "--out", str(case_copy)]) == 2


def _foreign_sr(study: dict[str, Any], path: Path) -> str:
    """A TID 1500 SR made with highdicom directly, as another viewer would write it."""
    images = [pydicom.dcmread(p) for p in study["fu1_files"]]
    src = images[2]
    uid = generate_uid()
    region = hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
        graphic_data=np.array([[10.0, 12.0], [20.0, 12.0]]),
        source_image=hd.sr.SourceImageForRegion(src.SOPClassUID, src.SOPInstanceUID),
    )
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=uid, identifier="Lesion A"),
        referenced_region=region,
        finding_type=hd.sr.CodedConcept("108369006", "SCT", "Tumor"),
        measurements=[
            hd.sr.Measurement(
                name=hd.sr.CodedConcept("103339001", "SCT", "Long axis"),
                value=2.05,
                unit=hd.sr.CodedConcept("cm", "UCUM", "centimeter"),
            )
        ],
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_person_context=hd.sr.ObserverContext(
                observer_type=hd.sr.CodedConcept("121006", "DCM", "Person"),
                observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name="Reader^Two"),
            )
        ),
        procedure_reported=hd.sr.CodedConcept("25045-6", "LN", "CT unspecified body region"),
        imaging_measurements=[group],
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[src], content=report[0], series_instance_uid=generate_uid(), series_number=7,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer="Other Viewer",
    )
    sr.save_as(path, enforce_file_format=True)
    return str(uid)


def test_import_of_another_viewers_sr(study: dict[str, Any], tmp_path: Path) -> None:
    """A foreign SR (highdicom-built; no sample SR ships offline): long axis in cm, 2D region."""
    foreign = tmp_path / "foreign.dcm"
    uid = _foreign_sr(study, foreign)
    report = read_sr(foreign)
    assert not report.ours
    assert report.groups[0].longest_mm == Decimal("20.50")
    assert report.groups[0].series_uid == study["uids"]["FU1"][1]

    case_copy = tmp_path / "case.json"
    shutil.copy(study["case_path"], case_copy)
    out = tmp_path / "merged.json"
    assert main(["import", "sr", str(foreign), "--case", str(case_copy), "--out", str(out)]) == 0
    merged = read_case(out)
    new = merged.lesion("Lesion-A")
    assert new.role == "new"  # first seen after the baseline
    assert new.extra[TRACKING_UID_KEY] == uid
    obs = merged.observation_index()[("Lesion-A", "FU1")]
    # mRECIST case, foreign SR: the long axis is read as the viable diameter (--long-axis-as auto).
    assert obs.viable_diameter_mm == Decimal("20.50") and obs.longest_diameter_mm is None
    assert obs.reader == "Reader^Two"
    # Exported again, the lesion keeps the foreign tracking UID.
    assert lesion_tracking_uid(merged, "Lesion-A") == uid


def test_import_refuses_a_non_tid1500_file_but_keeps_the_others(
    study: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pydicom.data import get_testdata_file

    not_tid1500 = get_testdata_file("test-SR.dcm")  # pydicom's sample SR: not a TID 1500 report
    case = read_case(study["case_path"])
    ours = tmp_path / "fu1.dcm"
    write_sr(case, "FU1", study["dicom"], ours)
    out = tmp_path / "new.json"
    code = main(["import", "sr", str(not_tid1500), str(ours), "--subject", "S-1", "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "test-SR.dcm" in err and "Traceback" not in err
    assert read_case(out).subject.id == "S-1"


def test_export_cli_sr_and_seg(study: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = str(study["case_path"])
    dicom = str(study["dicom"])
    assert main(["export", "sr", case, "--timepoint", "FU1", "--dicom", dicom, "--out", str(tmp_path / "a.dcm")]) == 0
    assert main(["export", "seg", case, "--timepoint", "FU1", "--dicom", dicom, "--out", str(tmp_path / "b.dcm")]) == 0
    capsys.readouterr()
    # Bad input: a clear message naming the problem, exit 1, no traceback, nothing written.
    assert main(["export", "sr", case, "--timepoint", "FU9", "--dicom", dicom, "--out", str(tmp_path / "c.dcm")]) == 1
    assert main(["export", "seg", case, "--timepoint", "BL", "--dicom", dicom, "--series", "1.2.3",
                 "--out", str(tmp_path / "d.dcm")]) == 1
    assert main(["export", "sr", case, "--timepoint", "FU1", "--dicom", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "e.dcm")]) == 1
    err = capsys.readouterr().err
    assert "no timepoint 'FU9'" in err
    assert "series 1.2.3 is not in this folder" in err
    assert "not a folder" in err
    assert "Traceback" not in err and "SYNTH0001" not in err and "Synthetic" not in err
    assert not any((tmp_path / n).exists() for n in ("c.dcm", "d.dcm", "e.dcm"))
    assert main(["export"]) == 2


# --------------------------------------------------------------------------------------------
# The synthetic multiphase sample studies (mrecist_tool.sample): CT and MR, masks on two phases
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_subject(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mrecist_tool.sample import generate_studies

    result = generate_studies(tmp_path_factory.mktemp("sample"), subjects=1)
    return result.case_files[0]


def _sop_uids_by_series(folder: Path) -> dict[str, list[str]]:
    """SOP Instance UIDs of every axial series in ``folder``, in ascending z."""
    found: dict[str, list[tuple[float, str]]] = {}
    for path in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=[
            "SeriesInstanceUID", "SOPInstanceUID", "ImagePositionPatient"])
        found.setdefault(str(ds.SeriesInstanceUID), []).append(
            (float(ds.ImagePositionPatient[2]), str(ds.SOPInstanceUID)))
    return {k: [uid for _, uid in sorted(v)] for k, v in found.items()}


def test_sample_studies_every_timepoint_exports_valid_sr_and_seg(sample_subject: Path, tmp_path: Path) -> None:
    case = read_case(sample_subject)
    dicom = sample_subject.parent / "dicom"
    index = index_folder(dicom)  # read the headers once for all timepoints
    sop_uids = _sop_uids_by_series(dicom)
    for tp in case.timepoints:
        sr_path, seg_path = tmp_path / f"{tp.id}_sr.dcm", tmp_path / f"{tp.id}_seg.dcm"
        write_sr(case, tp.id, index, sr_path)
        assert all("99MRECIST" in w for w in dciodvfy(sr_path))
        seg_result = write_seg(case, tp.id, index, seg_path)
        assert dciodvfy(seg_path) == []

        # SR: every observation of the timepoint, with its measured value, comes back.
        report = read_sr(sr_path)
        got = {g.tracking_id: g for g in report.groups}
        for o in case.observations:
            if o.timepoint != tp.id:
                continue
            assert got[o.lesion].status == o.status
            assert got[o.lesion].viable_mm == o.viable_diameter_mm
            if o.geometry and o.geometry.line:
                assert got[o.lesion].line == [list(p) for p in o.geometry.line]

        # SEG: each segment's pixels are the mask file's voxels.
        seg = hd.seg.segread(seg_path)
        sops = sop_uids[seg_result.series_uid]
        numbers = [s.number for s in seg_result.segments]
        pixels = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=sops, segment_numbers=numbers,
            assert_missing_frames_are_empty=True,
        )
        for k, s in enumerate(seg_result.segments):
            expected = sitk.GetArrayFromImage(sitk.ReadImage(str(s.mask_file))) > 0
            assert np.array_equal(pixels[..., k] > 0, expected), s.label


def test_sr_measurement_without_a_line_references_the_slice_where_its_mask_is_largest(
    study: dict[str, Any], tmp_path: Path
) -> None:
    case = read_case(study["case_path"])
    out = tmp_path / "bl.dcm"
    write_sr(case, "BL", study["dicom"], out)
    dciodvfy(out)
    groups = {g.tracking_identifier: g for g in hd.sr.srread(out).content.get_image_measurement_groups()}
    short_axis = {m.name.value: m for m in groups["N1"].get_measurements()}[C.SHORT_AXIS.value]
    expected = pydicom.dcmread(study["bl_files"][4]).SOPInstanceUID
    assert [r.referenced_sop_instance_uid for r in short_axis.referenced_images] == [expected]


def test_seg_without_any_mask_at_the_timepoint_is_refused(study: dict[str, Any], tmp_path: Path) -> None:
    import dataclasses

    case = read_case(study["case_path"])
    bare = dataclasses.replace(case, observations=tuple(
        dataclasses.replace(o, geometry=None) for o in case.observations
    ))
    with pytest.raises(ValueError, match=r"no mask .* at timepoint FU1"):
        write_seg(bare, "FU1", study["dicom"], tmp_path / "x.dcm")
    assert not (tmp_path / "x.dcm").exists()


def test_recist11_sr_uses_long_axis_and_imports_as_longest_diameter(
    study: dict[str, Any], tmp_path: Path
) -> None:
    data = json.loads(study["case_path"].read_text())
    data["criteria"] = "RECIST1.1"
    for o in data["observations"]:
        if "viable_diameter_mm" in o:
            o["longest_diameter_mm"] = o.pop("viable_diameter_mm")
    case_dir = tmp_path / "case"
    shutil.copytree(study["case_path"].parent, case_dir)
    case_path = case_dir / "CRLM-0007.json"
    case_path.write_text(json.dumps(data))
    sr_path = tmp_path / "fu1.dcm"
    assert main(["export", "sr", str(case_path), "--timepoint", "FU1", "--dicom", str(study["dicom"]),
                 "--out", str(sr_path)]) == 0
    dciodvfy(sr_path)
    group = hd.sr.srread(sr_path).content.get_planar_roi_measurement_groups()[0]
    (m,) = [m for m in group.get_measurements() if m.name.value == C.LONG_AXIS.value]
    assert m.method is not None and m.method.value == C.RECIST_11.value
    out = tmp_path / "new.json"
    assert main(["import", "sr", str(sr_path), "--subject", "CRLM-0007", "--out", str(out)]) == 0
    imported = read_case(out)
    assert imported.criteria == "RECIST1.1"
    obs = imported.observation_index()[("L1", "FU1")]
    assert obs.longest_diameter_mm == Decimal("12.3") and obs.viable_diameter_mm is None


def test_sr_and_seg_from_images_missing_type2_patient_and_study_attributes(
    study: dict[str, Any], tmp_path: Path
) -> None:
    """Real exports often lack Type 2 attributes (Patient's Sex, Birth Date, Study ID, ...);
    highdicom copies them and stopped with an AttributeError.  The export fills them in empty,
    with or without the patient's identity kept."""
    dicom = tmp_path / "dicom"
    for path in sorted(study["dicom"].rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        for keyword in ("PatientSex", "PatientBirthDate", "ReferringPhysicianName", "StudyID", "AccessionNumber"):
            del ds[keyword]
        target = dicom / path.relative_to(study["dicom"])
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(target, enforce_file_format=True)
    case = read_case(study["case_path"])
    for keep in (False, True):
        seg = write_seg(case, "FU1", dicom, tmp_path / f"seg_{keep}.dcm", keep_patient_identity=keep)
        write_sr(case, "FU1", dicom, tmp_path / f"sr_{keep}.dcm", seg=seg, keep_patient_identity=keep)
        # Kept identity: the source's empty Study ID is copied (dciodvfy notes it for DICOMDIR).
        allowed = ["Warning - Missing attribute or value that would be needed to build DICOMDIR - Study ID"] * keep
        assert dciodvfy(tmp_path / f"seg_{keep}.dcm") == allowed
        assert [w for w in dciodvfy(tmp_path / f"sr_{keep}.dcm") if "99MRECIST" not in w] == allowed
        sr = pydicom.dcmread(tmp_path / f"sr_{keep}.dcm")
        assert sr.PatientSex == "" and str(sr.PatientID) == ("SYNTH0001" if keep else "CRLM-0007")
