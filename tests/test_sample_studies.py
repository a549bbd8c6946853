"""The synthetic sample studies: valid DICOM, consistent ground truth, deterministic output."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from mrecist_tool import geometry
from mrecist_tool.casefile import read_case, validate_file
from mrecist_tool.cli.main import main
from mrecist_tool.sample import generate_studies, sample_subject_path
from mrecist_tool.sample.studies import MANIFEST, visit_grid

SUBJECTS = ("SYN-001", "SYN-002", "SYN-003")


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    result = generate_studies(root, seed=0)
    assert not result.skipped and result.n_dicom_files > 900
    return root


def _series_dirs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "studies").glob("*/dicom/*/*") if p.is_dir())


def _volume(series_dir: Path) -> tuple[np.ndarray, pydicom.Dataset]:
    files = sorted(series_dir.glob("*.dcm"))
    dss = [pydicom.dcmread(f) for f in files]
    dss.sort(key=lambda d: float(d.ImagePositionPatient[2]))  # increasing S, like the masks
    vol = np.stack([d.pixel_array.astype(np.float32) for d in dss])
    ds = dss[0]
    return vol * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0)), ds


def _mask(subject_dir: Path, rel: str) -> tuple[np.ndarray, sitk.Image]:
    img = sitk.ReadImage(str(subject_dir / rel))
    return sitk.GetArrayFromImage(img).astype(bool), img


def test_layout_manifest_and_valid_case_files(sample_root: Path):
    studies = sample_root / "studies"
    manifest = json.loads((studies / MANIFEST).read_text())
    assert manifest["seed"] == 0 and manifest["subjects"] == list(SUBJECTS)
    assert manifest["synthetic"] is True
    for subject in SUBJECTS:
        case_path = studies / subject / f"{subject}.json"
        assert validate_file(case_path) == []
        case = read_case(case_path)
        assert case.subject.id == subject and case.extra.get("simulated") is True
        assert len(case.timepoints) == 3 and case.baseline.id == "BL"
        for tp in case.timepoints:
            assert tp.study_uid and tp.series and {s.phase for s in tp.series} >= {
                "arterial", "portal-venous"}
        for obs in case.observations:
            g = obs.geometry
            assert g is not None and g.series_uid
            for rel in (g.mask, g.ablation_zone_mask):
                if rel:
                    assert not Path(rel).is_absolute() and (case_path.parent / rel).is_file()


def test_dciodvfy_reports_no_errors_for_each_series_kind(sample_root: Path):
    """One file of every kind of series (CT NC/ART/PV, MR pre/arterial/portal) validates."""
    exe = shutil.which("dciodvfy")
    assert exe, "dciodvfy (Debian package dicom3tools) is needed for this test"
    kinds: dict[str, Path] = {}
    for series in _series_dirs(sample_root):
        kinds.setdefault(series.name, next(series.glob("*.dcm")))
    assert len(kinds) == 6, sorted(kinds)
    for name, path in kinds.items():
        proc = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60)
        out = proc.stdout + proc.stderr
        errors = [line for line in out.splitlines() if line.startswith("Error")]
        assert proc.returncode == 0 and not errors, f"{name}: {out}"
        warnings = [line for line in out.splitlines() if line.startswith("Warning")]
        assert not warnings, f"{name}: {warnings}"


def test_dicom_attributes_and_timing(sample_root: Path):
    seen = set()
    for series in _series_dirs(sample_root):
        ds = pydicom.dcmread(next(series.glob("*.dcm")))
        seen.add(ds.Modality)
        assert ds.PatientName.family_name == "SYNTHETIC" and ds.PatientID.startswith("SYN-")
        assert ds.PatientBirthDate == "" and ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
        assert ds.SOPClassUID.name in ("CT Image Storage", "MR Image Storage")
        assert ds.SliceThickness == ds.SpacingBetweenSlices
        if ds.ContrastBolusAgent:
            delay = int(ds.AcquisitionTime) - int(ds.ContrastBolusStartTime)
            assert delay > 0
    assert seen == {"CT", "MR"}
    # one frame of reference per study, shared by its series
    for study in (sample_root / "studies").glob("*/dicom/*"):
        frames = {pydicom.dcmread(next(s.glob("*.dcm"))).FrameOfReferenceUID for s in study.iterdir()}
        assert len(frames) == 1


def test_ground_truth_masks_match_the_images(sample_root: Path):
    """Arterial enhancement with washout; CRLM hypodense in PV; zones non-enhancing."""
    subject_dir = sample_root / "studies" / "SYN-001"
    bl = next((subject_dir / "dicom").glob("2021-03-01_*"))
    art, art_ds = _volume(next(bl.glob("*_ART-*")))
    pv, _ = _volume(next(bl.glob("*_PV-*")))
    l1, img = _mask(subject_dir, "masks/BL_L1.nii.gz")
    l2, _ = _mask(subject_dir, "masks/BL_L2.nii.gz")
    # the mask sits on the series' grid
    assert img.GetSize() == (art.shape[2], art.shape[1], art.shape[0])
    np.testing.assert_allclose(img.GetOrigin(), [float(v) for v in art_ds.ImagePositionPatient],
                               atol=1e-3)
    # liver around L1: a ring in the lesion's slices (medians: the ring may touch a vessel)
    from scipy import ndimage

    in_plane = np.zeros((3, 3, 3), bool)
    in_plane[1] = ndimage.generate_binary_structure(2, 1)
    ring = ndimage.binary_dilation(l1, in_plane, iterations=4) & ~ndimage.binary_dilation(
        l1, in_plane, iterations=2)
    assert np.median(art[l1]) > np.median(art[ring]) + 30  # arterial hyperenhancement
    assert np.median(pv[l1]) < np.median(pv[ring]) - 15  # washout
    assert np.median(pv[l2]) < np.median(pv[ring]) - 25  # hypovascular colorectal-like lesion
    fu1 = next((subject_dir / "dicom").glob("2021-05-03_*"))
    pv1, _ = _volume(next(fu1.glob("*_PV-*")))
    zone, _ = _mask(subject_dir, "masks/FU1_L1_zone.nii.gz")
    core = ndimage.binary_erosion(zone, iterations=2)
    assert abs(pv1[core].mean() - 42) < 10  # non-enhancing coagulation necrosis


def test_case_diameters_are_measured_from_the_masks(sample_root: Path):
    for subject in SUBJECTS:
        case_path = sample_root / "studies" / subject / f"{subject}.json"
        case = read_case(case_path)
        for obs in case.observations:
            g = obs.geometry
            assert g is not None
            if obs.status == "measured":
                assert g.mask and g.line
                mask, img = _mask(case_path.parent, g.mask)
                spacing = img.GetSpacing()[::-1]
                vd = geometry.viable_diameter(mask, spacing, origin=img.GetOrigin())
                assert float(obs.viable_diameter_mm) == pytest.approx(vd.diameter_mm, abs=0.051)
                length = geometry.line_length_mm(*[[float(v) for v in p] for p in g.line])
                assert length == pytest.approx(vd.diameter_mm, abs=0.02)
            if obs.gap_to_ablation_zone_mm is not None:
                mask, img = _mask(case_path.parent, g.mask)
                zone, _ = _mask(case_path.parent, g.ablation_zone_mask)
                gap = geometry.gap_mm(mask, zone, img.GetSpacing()[::-1])
                assert float(obs.gap_to_ablation_zone_mm) == pytest.approx(gap, abs=0.051)


def test_scenarios_give_the_intended_responses(sample_root: Path, tmp_path: Path):
    """CR (SYN-001), residual tumour (SYN-002, ABL rules), LTP + new lesion (SYN-003)."""
    assert main(["assess", str(sample_root / "studies"), "--out", str(tmp_path)]) == 0
    with open(tmp_path / "timepoints.csv", newline="") as fh:
        rows = {(r["subject"], r["timepoint"]): r for r in csv.DictReader(fh)}
    with open(tmp_path / "lesions.csv", newline="") as fh:
        local = {(r["subject"], r["lesion"], r["timepoint"]): r["local_status"]
                 for r in csv.DictReader(fh)}
    assert rows["SYN-001", "FU1"]["overall_response"] == "CR"
    assert rows["SYN-001", "FU2"]["overall_response"] == "CR"  # on MR
    assert local["SYN-002", "L1", "FU1"] == "residual"
    assert rows["SYN-002", "FU1"]["overall_response"] == "PR"
    assert rows["SYN-003", "FU1"]["overall_response"] == "CR"
    assert local["SYN-003", "L1", "FU2"] == "ltp"
    assert rows["SYN-003", "FU2"]["new_lesions"] == "yes"
    assert rows["SYN-003", "FU2"]["overall_response"] == "PD"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_deterministic_for_a_seed(sample_root: Path, tmp_path: Path):
    """Two runs give byte-identical DICOM (pixels and UIDs), masks and case files."""
    again = generate_studies(tmp_path / "a", seed=0, subjects=1)
    assert _digest(again.studies_dir / "SYN-001") == _digest(sample_root / "studies" / "SYN-001")
    other = generate_studies(tmp_path / "b", seed=1, subjects=1)
    a = read_case(again.case_files[0])
    b = read_case(other.case_files[0])
    assert a.timepoints[0].study_uid != b.timepoints[0].study_uid


def test_if_missing_and_sample_subject_path(sample_root: Path, capsys):
    assert main(["sample-data", str(sample_root), "--if-missing"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    path = sample_subject_path("SYN-003", cache_dir=sample_root)
    assert path == sample_root / "studies" / "SYN-003" / "SYN-003.json" and path.is_file()
    with pytest.raises(ValueError, match="unknown sample subject"):
        sample_subject_path("SYN-999", cache_dir=sample_root)


def test_cli_usage_errors_and_cohort(tmp_path: Path, capsys):
    afile = tmp_path / "file"
    afile.write_text("x")
    assert main(["sample-data", str(afile)]) == 2
    assert main(["sample-data", str(tmp_path), "--subjects", "5"]) == 2
    assert main(["sample-data", str(tmp_path), "--seed", "minus"]) == 2
    assert main(["sample-data", str(tmp_path), "--cohort", "3", "--no-studies"]) == 0
    assert len(list((tmp_path / "cohort").glob("*.json"))) == 3
    assert not (tmp_path / "studies").exists()


def test_full_size_grid():
    grid = visit_grid(1, 0, "CT", True, 0)
    assert grid.shape == (300, 512, 512)


def test_highdicom_accepts_the_series_as_source_images(sample_root: Path, tmp_path: Path):
    """A DICOM SEG of a ground-truth mask, with the arterial series as its source, validates."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    subject_dir = sample_root / "studies" / "SYN-001"
    series = next(subject_dir.glob("dicom/2021-03-01_*/*_ART-*"))
    sources = sorted((pydicom.dcmread(f) for f in series.glob("*.dcm")),
                     key=lambda d: float(d.ImagePositionPatient[2]))
    mask, _ = _mask(subject_dir, "masks/BL_L1.nii.gz")
    description = hd.seg.SegmentDescription(
        segment_number=1, segment_label="L1", segmented_property_category=codes.SCT.Tissue,
        segmented_property_type=codes.SCT.Neoplasm,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[description], series_instance_uid=hd.UID(), series_number=100,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="mrecist-tool tests",
        manufacturer_model_name="tests", software_versions="0", device_serial_number="0")
    out = tmp_path / "seg.dcm"
    seg.save_as(out)
    exe = shutil.which("dciodvfy")
    assert exe, "dciodvfy (Debian package dicom3tools) is needed for this test"
    proc = subprocess.run([exe, str(out)], capture_output=True, text=True, timeout=60)
    assert not [x for x in (proc.stdout + proc.stderr).splitlines() if x.startswith("Error")]


def test_masks_line_up_with_the_dicom_reader(sample_root: Path):
    """Loaded with mrecist_tool.dicom, the series and the mask give the case file's line."""
    from mrecist_tool.dicom import read_series

    case_path = sample_root / "studies" / "SYN-003" / "SYN-003.json"
    case = read_case(case_path)
    obs = next(o for o in case.observations if o.lesion == "N1")
    assert obs.geometry is not None and obs.geometry.line is not None and obs.geometry.mask
    series_dir = next(p for p in _series_dirs(sample_root)
                      if pydicom.dcmread(next(p.glob("*.dcm"))).SeriesInstanceUID
                      == obs.geometry.series_uid)
    vol = read_series(series_dir)
    mask, _ = _mask(case_path.parent, obs.geometry.mask)
    assert mask.shape == vol.array.shape
    best = geometry.longest_axial_diameter(mask, vol)
    assert best is not None
    np.testing.assert_allclose(best.long_axis.as_line(2),
                               [[float(v) for v in p] for p in obs.geometry.line], atol=0.011)
    # N1 enhances in the arterial phase it was measured on (135 HU, liver 70 HU)
    assert vol.phase == "arterial"
    assert vol.array[mask].mean() > 95
