"""read_series and scan on the real DICOM files that pydicom and pydicom-data ship (offline).

Geometry and voxel values are checked against what pydicom reads directly from the same files
(and against SimpleITK where it agrees); series that are not one regular volume must be
refused with a reason, never loaded with a wrong spacing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.data.data_manager import DATA_ROOT, get_external_sources

from mrecist_tool.dicom import read_series, scan, to_sitk
from mrecist_tool.errors import DicomError

TEST_FILES = Path(DATA_ROOT) / "test_files"
DICOMDIR_TESTS = TEST_FILES / "dicomdirtests"


def _local(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not available offline")
    return Path(path)


def _all_local_dicom_files() -> list[Path]:
    files = sorted(TEST_FILES.glob("*.dcm"))
    for source in get_external_sources().values():
        files += sorted(Path(source.data_path).glob("*.dcm"))
    return files


def _rescaled(ds: pydicom.Dataset) -> np.ndarray:
    arr = ds.pixel_array.astype(np.float64)
    return arr * float(ds.get("RescaleSlope", 1) or 1) + float(ds.get("RescaleIntercept", 0) or 0)


def _check_against_pydicom(vol, files_in_volume_order) -> None:
    """Each slice: position from the affine, orientation and values as pydicom reads them."""
    for k, path in enumerate(files_in_volume_order):
        ds = pydicom.dcmread(path)
        ipp = np.array([float(v) for v in ds.ImagePositionPatient])
        np.testing.assert_allclose(vol.index_to_lps([k, 0, 0]), ipp, atol=1e-3)
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        # The volume keeps unit vectors; some files store cosines to 4 decimals.
        np.testing.assert_allclose(vol.direction[:, 0], iop[:3] / np.linalg.norm(iop[:3]),
                                   atol=1e-6)
        np.testing.assert_allclose(vol.direction[:, 1], iop[3:] / np.linalg.norm(iop[3:]),
                                   atol=1e-6)
        ps = [float(v) for v in ds.PixelSpacing]
        np.testing.assert_allclose(vol.spacing[1:], ps, rtol=1e-6)
        np.testing.assert_allclose(vol.array[k], _rescaled(ds), atol=1e-3)


def test_ct5n_geometry_and_values_match_pydicom_and_simpleitk():
    import SimpleITK as sitk

    folder = DICOMDIR_TESTS / "98892001" / "CT5N"
    vol = read_series(folder)
    assert vol.shape == (5, 16, 16)
    assert vol.modality == "CT"
    assert vol.spacing == pytest.approx((2.5, 0.488281, 0.488281))
    np.testing.assert_allclose(vol.direction, np.eye(3))
    assert vol.origin == pytest.approx((-72.199997, -143.0, -1.2375))
    assert vol.window is not None
    assert len(vol.sop_instance_uids) == 5 and all(vol.sop_instance_uids)
    _check_against_pydicom(vol, vol.extra["files"])
    # CT in HU: pydicom stores raw values; the volume holds raw * slope + intercept.
    raw = pydicom.dcmread(vol.extra["files"][0]).pixel_array
    assert vol.array[0, 5, 5] == raw[5, 5] - 1024

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    image = reader.Execute()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), vol.array)
    ours = to_sitk(vol)
    assert ours.GetSpacing() == pytest.approx(image.GetSpacing())
    assert ours.GetOrigin() == pytest.approx(image.GetOrigin())
    assert ours.GetDirection() == pytest.approx(image.GetDirection())


def test_ct2_irregular_gap_is_refused_with_its_location_not_a_68mm_spacing():
    folder = DICOMDIR_TESTS / "77654033" / "CT2"
    with pytest.raises(DicomError) as err:
        read_series(folder)
    message = str(err.value)
    assert "missing slices" in message
    assert "202.50 mm" in message and "1.25 mm" in message
    assert "17106" in message and "17136" in message  # the two files around the gap
    assert "68" not in message.split("series")[-1].replace("1.2.", "")
    series = scan(folder).series[0]
    assert not series.loadable and series.spacing is None
    assert "missing slices" in (series.reason or "")


def test_ct2_gap_filled_on_request_keeps_true_positions():
    vol = read_series(DICOMDIR_TESTS / "77654033" / "CT2", missing_slices="fill")
    assert vol.spacing[0] == pytest.approx(1.25, abs=1e-3)
    assert vol.shape[0] == 165
    assert any("missing" in w for w in vol.warnings)
    present = [k for k, uid in enumerate(vol.sop_instance_uids) if uid]
    assert present == [0, 162, 163, 164]
    files = [vol.extra["files"][k] for k in present]
    for k, path in zip(present, files, strict=True):
        ds = pydicom.dcmread(path)
        np.testing.assert_allclose(vol.index_to_lps([k, 0, 0]),
                                   [float(v) for v in ds.ImagePositionPatient], atol=0.01)
        np.testing.assert_allclose(vol.array[k], _rescaled(ds))


def test_mr700_projection_images_with_varying_orientation_are_refused():
    with pytest.raises(DicomError, match="mixed orientations"):
        read_series(DICOMDIR_TESTS / "98892003" / "MR700")


def test_mr2_pilot_folder_needs_a_series_choice_and_each_pilot_is_refused():
    folder = DICOMDIR_TESTS / "98892003" / "MR2"
    with pytest.raises(DicomError, match="pass series_uid"):
        read_series(folder)
    result = scan(folder)
    pilots = [s for s in result.series if "PILOT" in s.description]
    assert pilots and all(not s.loadable for s in pilots)
    for s in pilots:
        with pytest.raises(DicomError, match="mixed orientations"):
            read_series(folder, series_uid=s.series_uid)
    localizer = next(s for s in result.series if s.loadable)
    vol = read_series(folder, series_uid=localizer.series_uid)
    assert vol.shape[0] == 1
    # A single sagittal slice: x runs along P, y along -S.
    np.testing.assert_allclose(vol.direction[:, 0], [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(vol.direction[:, 1], [0, 0, -1], atol=1e-6)


def test_enhanced_ct_multiframe_frames_sorted_with_per_frame_rescale():
    path = _local("eCT_Supplemental.dcm")
    vol = read_series(path)
    ds = pydicom.dcmread(path)
    frames = ds.pixel_array
    positions = [
        [float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient]
        for f in ds.PerFrameFunctionalGroupsSequence
    ]
    assert vol.shape == (2, 512, 512)
    assert vol.spacing == pytest.approx((10.0, 0.388672, 0.388672))
    np.testing.assert_allclose(vol.direction[:, 0], [-1, 0, 0])
    np.testing.assert_allclose(vol.direction[:, 1], [0, 1, 0])
    np.testing.assert_allclose(vol.direction[:, 2], [0, 0, -1])
    # Sorted along the normal (0, 0, -1): frame 2 (z = -149) comes first.
    assert vol.extra["frame_numbers"] == (2, 1)
    np.testing.assert_allclose(vol.origin, positions[1])
    np.testing.assert_allclose(vol.index_to_lps([1, 0, 0]), positions[0])
    np.testing.assert_array_equal(vol.array[0], frames[1].astype(np.int32) - 1024)
    np.testing.assert_array_equal(vol.array[1], frames[0].astype(np.int32) - 1024)
    assert vol.window == (49.0, 102.0)


def test_enhanced_mr_without_functional_groups_is_refused():
    with pytest.raises(DicomError, match="lack Image Position/Orientation"):
        read_series(_local("emri_small.dcm"))


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",  # explicit VR little endian CT
        "693_UNCI.dcm",
        "693_J2KI.dcm",  # JPEG 2000
        "693_J2KR.dcm",  # JPEG 2000 lossless
        "bad_sequence.dcm",  # JPEG lossless (process 14) CT
        "MR_small.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_RLE.dcm",  # RLE lossless
        "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS
        "MR_small_jp2klossless.dcm",
        "MR2_J2KI.dcm",
    ],
)
def test_single_slices_in_every_encoding_match_pydicom(name):
    path = _local(name)
    vol = read_series(path)
    _check_against_pydicom(vol, [path])
    assert vol.shape[0] == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("SC_rgb_jpeg.dcm", "colour"),  # JPEG baseline, RGB secondary capture
        ("JPGExtended.dcm", "lack Image Position"),
        ("reportsi.dcm", "structured report"),
        ("rtdose.dcm", "radiotherapy"),
        ("liver.dcm", "segmentation"),
        ("MR_truncated.dcm", "truncated"),
        ("waveform_ecg.dcm", "waveform"),
    ],
)
def test_non_volumes_are_refused_with_a_reason(name, reason):
    with pytest.raises(DicomError, match=reason):
        read_series(_local(name))


def test_every_bundled_file_loads_or_is_refused_cleanly():
    """No bundled file produces anything but a Volume or a DicomError."""
    loaded = refused = 0
    for path in _all_local_dicom_files():
        try:
            vol = read_series(path)
        except DicomError as exc:
            assert str(exc)
            refused += 1
            continue
        loaded += 1
        ds = pydicom.dcmread(path)
        if "PerFrameFunctionalGroupsSequence" not in ds:
            _check_against_pydicom(vol, [path])
    assert loaded >= 15 and refused >= 50


def test_scan_of_the_dicomdir_tree_lists_series_and_skips_the_dicomdir():
    result = scan(DICOMDIR_TESTS)
    assert any(s.description.startswith("SmartScore") and s.loadable for s in result.series)
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert "DICOMDIR" in reasons["DICOMDIR"]
    assert "not a DICOM file" in reasons["README.txt"]
    text = repr(result.to_dict())
    for identity in ("Citizen", "12345678"):  # TINY_ALPHA's patient name and ID
        assert identity not in text


def test_a_dicomdir_path_stands_for_its_folder():
    result = scan(DICOMDIR_TESTS / "98892001" / ".." / "DICOMDIR")
    assert any(s.description.startswith("SmartScore") for s in result.loadable_series)
