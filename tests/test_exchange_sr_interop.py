"""Our SR as other tools read it, and other tools' SR as we read it (issue 12 item 1).

* dcmqi's ``tid1500reader`` (the reader behind Slicer's QuantitativeReporting) on our SR, with
  and without the TID 1411 groups that reference the SEG: the diameters, the segment
  references and the segment volumes it reports are the case's (volumes checked against the
  mask files read with SimpleITK), and nothing else is reported as a measurement.
* OHIF v3's parser, restated in :mod:`ohif_sr_model`: our SR loads, every lesion is one
  measurement drawn on its image with its values; the TID 1502 *Time Point Order* item we no
  longer write is shown to be what made it fail.
* Import of SR files written by other tools: dcmqi's ``tid1500writer`` run on a JSON document
  shaped like dcmqi's documented example (``doc/examples/sr-tid1500-ct-liver-example.json``),
  and an SR built to OHIF v3's structure (Cornerstone tool groups, free-text labels, lengths
  inferred from 2D SCOORD lines on images).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from ohif_sr_model import OhifWouldFail, ohif_measurements
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from mrecist_tool.casefile import read_case
from mrecist_tool.cli.main import main
from mrecist_tool.exchange import codes as K
from mrecist_tool.exchange.uids import TRACKING_UID_KEY, lesion_tracking_uid

VLDIAM = (K.VIABLE_DIAMETER.value, K.PRIVATE_SCHEME)
VOLUME = (K.VOLUME.value, "SCT")


def _tool(name: str) -> str:
    exe = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(exe).exists():
        pytest.fail(f"{name} (dcmqi) is missing: it is in the dev dependencies (pip install dcmqi)")
    return exe


@pytest.fixture(scope="module")
def exported(generated_subject: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """SEG and SR (with and without the SEG) of the generated subject at BL, and an SR at FU1,
    written by the command line as a user would."""
    out = tmp_path_factory.mktemp("interop")
    case, dicom = str(generated_subject), str(generated_subject.parent / "dicom")
    files = {name: out / f"{name}.dcm" for name in ("seg", "sr_seg", "sr", "sr_fu1")}
    for argv in (
        ["export", "seg", case, "--timepoint", "BL", "--dicom", dicom, "--out", str(files["seg"])],
        ["export", "sr", case, "--timepoint", "BL", "--dicom", dicom, "--seg", str(files["seg"]),
         "--out", str(files["sr_seg"])],
        ["export", "sr", case, "--timepoint", "BL", "--dicom", dicom, "--out", str(files["sr"])],
        ["export", "sr", case, "--timepoint", "FU1", "--dicom", dicom, "--out", str(files["sr_fu1"])],
    ):
        assert main(argv) == 0, argv
    return {"case": read_case(generated_subject), "case_path": generated_subject, "out": out, **files}


def _tid1500reader(sr: Path, out: Path) -> dict[str, Any]:
    meta = out / f"{sr.stem}.json"
    run = subprocess.run([_tool("tid1500reader"), "--inputDICOM", str(sr), "--outputMetadata", str(meta)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return dict(json.loads(meta.read_text()))


def _key(code: dict[str, str]) -> tuple[str, str]:
    return (code["CodeValue"], code["CodingSchemeDesignator"])


def _mask_volume_mm3(path: Path) -> float:
    image = sitk.ReadImage(str(path))
    return float(np.count_nonzero(sitk.GetArrayFromImage(image)) * np.prod(image.GetSpacing()))


@pytest.mark.parametrize("which", ["sr_seg", "sr"])
def test_dcmqi_tid1500reader_reports_our_measurements(exported: dict[str, Any], which: str, tmp_path: Path) -> None:
    case = exported["case"]
    report = _tid1500reader(exported[which], tmp_path)
    groups = report["Measurements"]
    items = [(g, item) for g in groups for item in g.get("measurementItems", [])]
    # Only measurements are measurements: no TID 1502 item read as one.
    assert {_key(i["quantity"]) for _, i in items} <= {VLDIAM, VOLUME}
    observed = [o for o in case.observations if o.timepoint == "BL"]
    assert observed and all(o.viable_diameter_mm is not None for o in observed)
    for obs in observed:
        uid = lesion_tracking_uid(case, obs.lesion)
        values = [(Decimal(i["value"]), i["units"]["CodeValue"]) for g, i in items
                  if g["TrackingUniqueIdentifier"] == uid and _key(i["quantity"]) == VLDIAM]
        assert values == [(obs.viable_diameter_mm, "mm")], obs.lesion
        assert {g["TrackingIdentifier"] for g in groups if g["TrackingUniqueIdentifier"] == uid} == {obs.lesion}
        assert all(g["timePoint"] == "BL" for g in groups)
    segment_groups = [g for g in groups if "ReferencedSegment" in g]
    if which == "sr":
        assert segment_groups == []
        return
    seg = pydicom.dcmread(exported["seg"])
    numbers = {str(s.TrackingUID): int(s.SegmentNumber) for s in seg.SegmentSequence}
    assert len(segment_groups) == len(observed)
    for obs in observed:
        uid = lesion_tracking_uid(case, obs.lesion)
        (group,) = [g for g in segment_groups if g["TrackingUniqueIdentifier"] == uid]
        assert group["ReferencedSegment"] == numbers[uid]
        assert group["segmentationSOPInstanceUID"] == seg.SOPInstanceUID
        assert group["SourceSeriesForImageSegmentation"] == seg.ReferencedSeriesSequence[0].SeriesInstanceUID
        (volume,) = [i for i in group["measurementItems"] if _key(i["quantity"]) == VOLUME]
        assert volume["units"]["CodeValue"] == "mm3"
        assert obs.geometry is not None and obs.geometry.mask
        expected = _mask_volume_mm3(exported["case_path"].parent / obs.geometry.mask)
        assert float(volume["value"]) == pytest.approx(expected, rel=1e-6)


def test_ohif_v3_parser_loads_every_lesion_on_its_image(exported: dict[str, Any]) -> None:
    case = exported["case"]
    ds = pydicom.dcmread(exported["sr_seg"])
    evidence = {str(i.ReferencedSOPInstanceUID)
                for st in ds.CurrentRequestedProcedureEvidenceSequence for se in st.ReferencedSeriesSequence
                for i in se.ReferencedSOPSequence}
    measurements = {m.tracking_uid: m for m in ohif_measurements(ds)}
    observed = [o for o in case.observations if o.timepoint == "BL"]
    assert len(measurements) == len(observed)  # one per lesion: its groups merge by tracking UID
    for obs in observed:
        m = measurements[lesion_tracking_uid(case, obs.lesion)]
        assert (m.tracking_id, m.graphic, m.graphic_type) == (obs.lesion, "SCOORD", "POLYLINE")
        assert m.image is not None and m.image[1] in evidence and len(m.graphic_data or ()) == 4
        assert f"Viable tumor longest diameter: {obs.viable_diameter_mm:.2f} mm" in m.labels
        assert not any(label.startswith("Time Point") for label in m.labels)
    # FU1: lesions recorded absent, groups without a region (OHIF's non-geometric path).
    fu1 = ohif_measurements(pydicom.dcmread(exported["sr_fu1"]))
    assert {m.tracking_id for m in fu1} == {o.lesion for o in case.observations if o.timepoint == "FU1"}
    assert all(m.graphic is None and m.labels == [] for m in fu1)


def test_a_tid1502_time_point_order_is_what_made_ohif_fail(exported: dict[str, Any]) -> None:
    """The item highdicom writes for ``TimePointContext(time_point_order=...)``, put back into
    one of our FU1 groups: OHIF's non-geometric path would throw on it."""
    ds = pydicom.dcmread(exported["sr_fu1"])
    container = next(i for i in ds.ContentSequence
                     if i.ConceptNameCodeSequence[0].CodeValue == K.IMAGING_MEASUREMENTS.value)
    order = Dataset()
    order.RelationshipType, order.ValueType = "HAS OBS CONTEXT", "NUM"
    order.ConceptNameCodeSequence = Sequence([_code("126073", "DCM", "Time Point Order")])
    value = Dataset()
    value.NumericValue = "2"
    value.MeasurementUnitsCodeSequence = Sequence([_code("1", "UCUM", "no units")])
    order.MeasuredValueSequence = Sequence([value])
    container.ContentSequence[0].ContentSequence.append(order)
    with pytest.raises(OhifWouldFail, match="Time Point Order"):
        ohif_measurements(ds)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _case_copy(exported: dict[str, Any], folder: Path) -> Path:
    folder.mkdir()
    target = folder / exported["case_path"].name
    shutil.copyfile(exported["case_path"], target)
    shutil.copytree(exported["case_path"].parent / "masks", folder / "masks")
    return target


def test_import_of_dcmqi_tid1500writer_output(exported: dict[str, Any], tmp_path: Path) -> None:
    seg = pydicom.dcmread(exported["seg"], stop_before_pixels=True)
    source_series = str(seg.ReferencedSeriesSequence[0].SeriesInstanceUID)
    images = sorted(p for p in (exported["case_path"].parent / "dicom").rglob("*.dcm")
                    if str(pydicom.dcmread(p, stop_before_pixels=True).SeriesInstanceUID) == source_series)
    library = tmp_path / "library"
    library.mkdir()
    for p in images:
        shutil.copyfile(p, library / p.name)
    context = tmp_path / "context"
    context.mkdir()
    shutil.copyfile(exported["seg"], context / "seg.dcm")
    numbers = {str(s.SegmentLabel): int(s.SegmentNumber) for s in seg.SegmentSequence}

    def group(ident: str, segment: int, long_axis: str) -> dict[str, Any]:
        return {
            "TrackingIdentifier": ident,
            "ReferencedSegment": segment,
            "SourceSeriesForImageSegmentation": source_series,
            "segmentationSOPInstanceUID": str(seg.SOPInstanceUID),
            "Finding": {"CodeValue": "108369006", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Tumor"},
            "FindingSite": {"CodeValue": "10200004", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Liver"},
            "measurementItems": [
                {"value": long_axis,
                 "quantity": {"CodeValue": "103339001", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Long axis"},
                 "units": {"CodeValue": "mm", "CodingSchemeDesignator": "UCUM", "CodeMeaning": "millimeter"}},
                {"value": "37.3289",
                 "quantity": {"CodeValue": "112031", "CodingSchemeDesignator": "DCM", "CodeMeaning": "Attenuation Coefficient"},
                 "units": {"CodeValue": "[hnsf'U]", "CodingSchemeDesignator": "UCUM", "CodeMeaning": "Hounsfield unit"},
                 "derivationModifier": {"CodeValue": "373098007", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Mean"}},
                {"value": "3440",
                 "quantity": {"CodeValue": "118565006", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Volume"},
                 "units": {"CodeValue": "mm3", "CodingSchemeDesignator": "UCUM", "CodeMeaning": "cubic millimeter"}},
            ],
        }

    metadata = {
        "SeriesDescription": "Measurements", "SeriesNumber": "1001", "InstanceNumber": "1",
        "compositeContext": ["seg.dcm"], "imageLibrary": [p.name for p in images],
        "observerContext": {"ObserverType": "PERSON", "PersonObserverName": "Reader1"},
        "VerificationFlag": "VERIFIED", "CompletionFlag": "COMPLETE",
        "activitySession": "1", "timePoint": "1",
        # L1 as the case has it; "Lesion 9" is new (the segment of L2, read by another reader).
        "Measurements": [group("L1", numbers["L1"], "26.3"), group("Lesion 9", numbers["L2"], "19.5")],
    }
    json_file = tmp_path / "metadata.json"
    json_file.write_text(json.dumps(metadata, indent=1))
    written = tmp_path / "dcmqi_sr.dcm"
    run = subprocess.run([_tool("tid1500writer"), "--inputMetadata", str(json_file),
                          "--inputImageLibraryDirectory", str(library),
                          "--inputCompositeContextDirectory", str(context), "--outputDICOM", str(written)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and written.exists(), run.stdout + run.stderr

    case_file = _case_copy(exported, tmp_path / "case")
    out = tmp_path / "merged.json"
    assert main(["import", "sr", str(written), "--case", str(case_file), "--out", str(out)]) == 0
    merged = read_case(out)
    index = merged.observation_index()
    # mRECIST case, another tool's SR: the long axis is the viable diameter (--long-axis-as auto).
    assert index[("L1", "BL")].viable_diameter_mm == Decimal("26.3")
    new = index[("Lesion-9", "BL")]
    assert new.viable_diameter_mm == Decimal("19.5") and new.longest_diameter_mm is None
    assert new.geometry is not None and new.geometry.series_uid == source_series
    lesion = merged.lesion("Lesion-9")
    assert lesion.role == "target" and lesion.organ == "liver" and TRACKING_UID_KEY in lesion.extra
    assert read_case(case_file) == read_case(exported["case_path"])  # the input is untouched


def ohif_style_sr(images: list[Dataset], lengths: list[tuple[str | None, int, tuple[float, ...], str]]) -> Dataset:
    """An SR with the structure OHIF v3 saves (Cornerstone3D adapters via dcmjs): TID 1500 with
    TID 1501 groups named by the tool (``Cornerstone3DTools@^0.1.0:Length``), the user's label
    as a free-text Finding, and a Length (SCT 410668003) NUM inferred from a 2D POLYLINE on one
    image.  ``lengths``: (label or None, index of the image, (x1, y1, x2, y2) pixels, mm)."""
    ref = images[0]
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.34"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = "SR", generate_uid(), 4700, 1
    ds.SeriesDescription = "Research Derived Series"
    for kw in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID",
               "AccessionNumber", "ReferringPhysicianName"):
        setattr(ds, kw, ref.get(kw, ""))
    ds.Manufacturer = "OHIF"
    ds.ContentDate, ds.ContentTime = ref.StudyDate, "120000"
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    ds.ConceptNameCodeSequence = Sequence([_code("126000", "DCM", "Imaging Measurement Report")])
    template = Dataset()
    template.MappingResource, template.TemplateIdentifier = "DCMR", "1500"
    ds.ContentTemplateSequence = Sequence([template])

    def item(rel: str, vt: str, name: Dataset, **values: Any) -> Dataset:
        d = Dataset()
        d.RelationshipType, d.ValueType = rel, vt
        d.ConceptNameCodeSequence = Sequence([name])
        for k, v in values.items():
            setattr(d, k, v)
        return d

    def image_ref(img: Dataset) -> Dataset:
        sop = Dataset()
        sop.ReferencedSOPClassUID, sop.ReferencedSOPInstanceUID = img.SOPClassUID, img.SOPInstanceUID
        return sop

    library = item("CONTAINS", "CONTAINER", _code("111028", "DCM", "Image Library"), ContinuityOfContent="SEPARATE")
    lib_group = item("CONTAINS", "CONTAINER", _code("126200", "DCM", "Image Library Group"), ContinuityOfContent="SEPARATE")
    used = sorted({i for _, i, _, _ in lengths})
    lib_group.ContentSequence = Sequence([
        item("CONTAINS", "IMAGE", _code("111030", "DCM", "Image"), ReferencedSOPSequence=Sequence([image_ref(images[i])]))
        for i in used
    ])
    library.ContentSequence = Sequence([lib_group])
    measurements = item("CONTAINS", "CONTAINER", _code("126010", "DCM", "Imaging Measurements"),
                        ContinuityOfContent="SEPARATE")
    groups = []
    for label, index, points, mm in lengths:
        group = item("CONTAINS", "CONTAINER", _code("125007", "DCM", "Measurement Group"), ContinuityOfContent="SEPARATE")
        content = [
            item("HAS OBS CONTEXT", "TEXT", _code("112039", "DCM", "Tracking Identifier"),
                 TextValue="Cornerstone3DTools@^0.1.0:Length"),
            item("HAS OBS CONTEXT", "UIDREF", _code("112040", "DCM", "Tracking Unique Identifier"), UID=generate_uid()),
        ]
        if label is not None:
            content.append(item("CONTAINS", "CODE", _code("121071", "DCM", "Finding"),
                                ConceptCodeSequence=Sequence([_code("CORNERSTONEFREETEXT", "CORNERSTONEJS", label)])))
        selected = item("SELECTED FROM", "IMAGE", _code("111030", "DCM", "Image"),
                        ReferencedSOPSequence=Sequence([image_ref(images[index])]))
        del selected.ConceptNameCodeSequence  # OHIF's SELECTED FROM items carry no concept name
        scoord = item("INFERRED FROM", "SCOORD", _code("111030", "DCM", "Image Region"),
                      GraphicType="POLYLINE", GraphicData=list(points), ContentSequence=Sequence([selected]))
        del scoord.ConceptNameCodeSequence
        value = Dataset()
        value.NumericValue = mm
        value.MeasurementUnitsCodeSequence = Sequence([_code("mm", "UCUM", "mm")])
        content.append(item("CONTAINS", "NUM", _code("410668003", "SCT", "Length"),
                            MeasuredValueSequence=Sequence([value]), ContentSequence=Sequence([scoord])))
        group.ContentSequence = Sequence(content)
        groups.append(group)
    measurements.ContentSequence = Sequence(groups)
    ds.ContentSequence = Sequence([
        item("HAS CONCEPT MOD", "CODE", _code("121049", "DCM", "Language of Content Item and Descendants"),
             ConceptCodeSequence=Sequence([_code("eng", "RFC5646", "English")])),
        item("HAS OBS CONTEXT", "CODE", _code("121005", "DCM", "Observer Type"),
             ConceptCodeSequence=Sequence([_code("121006", "DCM", "Person")])),
        item("HAS OBS CONTEXT", "PNAME", _code("121008", "DCM", "Person Observer Name"), PersonName="Reader^OHIF"),
        item("HAS CONCEPT MOD", "CODE", _code("121058", "DCM", "Procedure reported"),
             ConceptCodeSequence=Sequence([_code("P5-09051", "SRT", "Magnetic resonance imaging guidance")])),
        library, measurements,
    ])
    series = Dataset()
    series.SeriesInstanceUID = ref.SeriesInstanceUID
    series.ReferencedSOPSequence = Sequence([image_ref(images[i]) for i in used])
    study = Dataset()
    study.StudyInstanceUID = ref.StudyInstanceUID
    study.ReferencedSeriesSequence = Sequence([series])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([study])
    return ds


@pytest.mark.filterwarnings("ignore:The value length .19. exceeds:UserWarning")  # CORNERSTONEFREETEXT, as OHIF writes it
def test_import_of_an_ohif_v3_sr(exported: dict[str, Any], tmp_path: Path) -> None:
    case = exported["case"]
    bl = case.timepoint("BL")
    arterial = next(s.uid for s in bl.series or () if s.phase == "arterial")
    images = sorted((pydicom.dcmread(p, stop_before_pixels=True)
                     for p in (exported["case_path"].parent / "dicom").rglob("*.dcm")),
                    key=lambda d: int(d.InstanceNumber))
    images = [d for d in images if d.SeriesInstanceUID == arterial]
    sr = ohif_style_sr(images, [
        ("L1", 20, (60.0, 80.0, 95.5, 91.0), "26.3"),  # the case's L1, as it is
        ("L3", 24, (120.0, 40.0, 131.0, 52.0), "12.7"),  # a lesion the case does not have
        (None, 24, (10.0, 10.0, 20.0, 10.0), "8.1"),  # a line nobody labelled
    ])
    path = tmp_path / "ohif.dcm"
    sr.save_as(path, enforce_file_format=True)
    # The structure is the one OHIF's own parser reads.
    shown = ohif_measurements(pydicom.dcmread(path))
    assert [m.labels for m in shown] == [["Length: 26.30 mm"], ["Length: 12.70 mm"], ["Length: 8.10 mm"]]

    case_file = _case_copy(exported, tmp_path / "case")
    out = tmp_path / "merged.json"
    assert main(["import", "sr", str(path), "--case", str(case_file), "--out", str(out)]) == 0
    merged = read_case(out)
    index = merged.observation_index()
    assert index[("L1", "BL")] == case.observation_index()[("L1", "BL")]  # unchanged
    l3 = index[("L3", "BL")]
    assert l3.viable_diameter_mm == Decimal("12.7") and l3.status == "measured"
    assert l3.geometry is not None and l3.geometry.series_uid == arterial
    assert index[("Cornerstone3DTools-0.1.0-Length", "BL")].viable_diameter_mm == Decimal("8.1")
    assert l3.reader == "Reader^OHIF"
    # L1 keeps its own tracking UID (OHIF's is its own); L3 keeps OHIF's for the round trip.
    assert TRACKING_UID_KEY not in merged.lesion("L1").extra
    assert merged.lesion("L3").extra[TRACKING_UID_KEY] == str(sr.ContentSequence[5].ContentSequence[1].ContentSequence[1].UID)
