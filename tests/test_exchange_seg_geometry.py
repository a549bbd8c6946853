"""SEG geometry (issue 12 item 3) and clean save errors (issue 8 item 13).

Spacing Between Slices is written from the frames' actual positions, never copied from a
source header that contradicts them, so highdicom's ``get_volume`` (an independent reader of
the SEG's geometry) works on a 2.5 mm stack whose headers claim 5 mm and on an oblique stack.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from test_exchange_dicom import dciodvfy

from mrecist_tool.casefile import read_case
from mrecist_tool.dicom import Volume, read_series, to_sitk
from mrecist_tool.exchange.dicom_seg import write_seg

ROWS = COLS = 24


def make_stack(folder: Path, *, step_mm: float, header_spacing: float | None,
               orientation: tuple[float, ...]) -> tuple[str, str]:
    """A CT stack of 8 slices ``step_mm`` apart along the normal of ``orientation``."""
    folder.mkdir(parents=True)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    row, col = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    normal = np.cross(row, col)
    for k in range(8):
        sop = generate_uid()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = sop
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, sop
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = "20210420"
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = "120000"
        ds.AccessionNumber, ds.ReferringPhysicianName, ds.StudyID = "", "", "1"
        ds.Modality, ds.Manufacturer = "CT", "mrecist-test"
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Test^Geometry", "GEO1", "", "O"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SliceThickness = "2.5"
        if header_spacing is not None:
            ds.SpacingBetweenSlices = str(header_spacing)
        ds.KVP = "120"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.PositionReferenceIndicator = ""
        ds.SeriesNumber, ds.InstanceNumber, ds.AcquisitionNumber = 2, k + 1, 1
        ds.ImagePositionPatient = [f"{v:.6f}" for v in (np.array([-20.0, -30.0, 40.0]) + k * step_mm * normal)]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in orientation]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns, ds.PixelSpacing = ROWS, COLS, ["1.5", "1.5"]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "HU"
        ds.PixelData = np.zeros((ROWS, COLS), np.int16).tobytes()
        ds.save_as(folder / f"{k:02d}.dcm", enforce_file_format=True)
    return study, series


def _oblique() -> tuple[float, ...]:
    a = math.radians(25)
    return (math.cos(a), math.sin(a), 0.0, 0.0, math.cos(math.radians(10)), -math.sin(math.radians(10)))


def _orthonormal(o: tuple[float, ...]) -> tuple[float, ...]:
    row = np.asarray(o[:3]) / np.linalg.norm(o[:3])
    col = np.asarray(o[3:]) - row * np.dot(row, o[3:])
    col /= np.linalg.norm(col)
    return (*row, *col)


@pytest.mark.parametrize(("step", "header", "orientation"), [
    (2.5, 5.0, (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)),  # header says 5 mm, frames are 2.5 mm apart
    (2.5, None, _orthonormal(_oblique())),  # oblique stack
])
def test_seg_spacing_is_the_frames_and_get_volume_reads_it(
    tmp_path: Path, step: float, header: float | None, orientation: tuple[float, ...]
) -> None:
    study_uid, series_uid = make_stack(tmp_path / "dicom", step_mm=step, header_spacing=header,
                                       orientation=orientation)
    grid = read_series(tmp_path / "dicom")  # the grid the viewer shows
    assert grid.spacing[0] == pytest.approx(step)
    mask = np.zeros(grid.shape, np.uint8)
    mask[2:5, 6:12, 8:14] = 1
    import SimpleITK as sitk

    (tmp_path / "masks").mkdir()
    sitk.WriteImage(to_sitk(Volume(array=mask, spacing=grid.spacing, origin=grid.origin,
                                   direction=grid.direction)), str(tmp_path / "masks" / "L1.nii.gz"))
    case = {
        "format": "mrecist-case", "version": 1, "subject": {"id": "GEO-1"},
        "timepoints": [{"id": "BL", "date": "2021-04-20", "baseline": True, "study_uid": study_uid}],
        "lesions": [{"id": "L1", "role": "target"}],
        "observations": [{"lesion": "L1", "timepoint": "BL", "status": "measured",
                          "viable_diameter_mm": 9, "geometry": {"series_uid": series_uid,
                                                                "mask": "masks/L1.nii.gz"}}],
    }
    (tmp_path / "case.json").write_text(json.dumps(case))
    out = tmp_path / "seg.dcm"
    write_seg(read_case(tmp_path / "case.json"), "BL", tmp_path / "dicom", out)
    assert dciodvfy(out) == []
    ds = pydicom.dcmread(out)
    measures = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    assert float(measures.SpacingBetweenSlices) == pytest.approx(step)
    volume = hd.seg.segread(out).get_volume(segment_numbers=[1])
    assert volume.spacing_between_slices == pytest.approx(step, abs=1e-3)
    # The segment's voxels land where the mask's were, in patient coordinates.
    got = np.argwhere(volume.array[..., 0] > 0) if volume.array.ndim == 4 else np.argwhere(volume.array > 0)
    lps_got = {tuple(np.round(p, 2)) for p in volume.map_indices_to_reference(got)}
    lps_want = {tuple(np.round(p, 2)) for p in grid.index_to_lps(np.argwhere(mask > 0))}
    assert lps_got == lps_want


def test_export_to_a_full_file_system_gives_one_clear_line(tmp_path: Path) -> None:
    """A write that fails (here the file-size limit, EFBIG; ENOSPC takes the same path) ends in
    one line naming the file and the reason, no pydicom traceback text, no temporary file."""
    study_uid, _ = make_stack(tmp_path / "dicom", step_mm=2.5, header_spacing=None,
                                       orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0))
    case = {
        "format": "mrecist-case", "version": 1, "subject": {"id": "GEO-1"},
        "timepoints": [{"id": "BL", "date": "2021-04-20", "baseline": True, "study_uid": study_uid}],
        "lesions": [{"id": "L1", "role": "target"}],
        "observations": [{"lesion": "L1", "timepoint": "BL", "status": "measured",
                          "viable_diameter_mm": 9}],
    }
    (tmp_path / "case.json").write_text(json.dumps(case))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))\n"
        "from mrecist_tool.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "export", "sr", str(tmp_path / "case.json"), "--timepoint", "BL",
         "--dicom", str(tmp_path / "dicom"), "--out", str(out_dir / "sr.dcm")],
        capture_output=True, text=True, timeout=120, env={**os.environ},
    )
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "sr.dcm: could not save (File too large)" in lines[0]
    assert "Traceback" not in proc.stderr and "pydicom" not in proc.stderr
    assert list(out_dir.iterdir()) == []
