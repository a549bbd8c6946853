"""Volume geometry: affine, index ↔ LPS, napari world frame, SimpleITK round trip."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from mrecist_tool.dicom import Volume, from_sitk, read_series, to_sitk
from mrecist_tool.dicom.testing import write_series


def _oblique_volume() -> Volume:
    angle = np.radians(20)
    x = np.array([np.cos(angle), np.sin(angle), 0.0])
    y = np.array([0.0, 0.0, -1.0])
    z = np.cross(x, y)
    return Volume(array=np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6),
                  spacing=(3.0, 0.8, 0.6), origin=(10.0, -20.0, 30.0),
                  direction=np.column_stack([x, y, z]))


def test_affine_maps_index_zyx_to_lps():
    vol = _oblique_volume()
    a = vol.affine
    np.testing.assert_allclose(a[:3, 3], vol.origin)
    np.testing.assert_allclose(vol.index_to_lps([0, 0, 1]), np.add(vol.origin,
                               vol.direction[:, 0] * 0.6))
    np.testing.assert_allclose(vol.index_to_lps([1, 0, 0]), np.add(vol.origin,
                               vol.direction[:, 2] * 3.0))
    pts = np.array([[0.5, 1.5, 2.5], [3, 4, 5]])
    np.testing.assert_allclose(vol.lps_to_index(vol.index_to_lps(pts)), pts, atol=1e-9)


def test_napari_world_frame_converts_to_lps_with_mm_lengths():
    vol = _oblique_volume()
    nap = vol.to_napari()
    idx = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 1.0]])
    world = idx * np.array(nap["scale"]) + np.array(nap["translate"])
    np.testing.assert_allclose(vol.world_to_lps(world), vol.index_to_lps(idx), atol=1e-9)
    np.testing.assert_allclose(vol.lps_to_world(vol.index_to_lps(idx)), world, atol=1e-9)
    # A line drawn in the viewer keeps its length in mm.
    lps = vol.world_to_lps(world)
    assert np.linalg.norm(world[1] - world[0]) == pytest.approx(np.linalg.norm(lps[1] - lps[0]))


def test_axial_identity_volume_world_is_lps_reversed(tmp_path):
    series = write_series(tmp_path, n_slices=3, spacing=2.0)
    vol = read_series(tmp_path)
    assert vol.is_axis_aligned
    nap = vol.to_napari()
    assert nap["translate"] == pytest.approx(vol.origin[::-1])
    assert nap["scale"] == pytest.approx(vol.spacing)
    assert len(series.files) == 3


def test_simpleitk_round_trip_keeps_geometry_and_physical_points():
    vol = _oblique_volume()
    image = to_sitk(vol)
    for idx in ([0, 0, 0], [3, 4, 5], [1, 2, 3]):
        z, y, x = idx
        np.testing.assert_allclose(image.TransformIndexToPhysicalPoint((x, y, z)),
                                   vol.index_to_lps(idx), atol=1e-9)
    back = from_sitk(image, modality="CT")
    np.testing.assert_array_equal(back.array, vol.array)
    assert back.spacing == pytest.approx(vol.spacing)
    assert back.origin == pytest.approx(vol.origin)
    np.testing.assert_allclose(back.direction, vol.direction)
    assert back.modality == "CT"
    with pytest.raises(ValueError):
        from_sitk(sitk.Image(4, 4, sitk.sitkInt16))


def test_sagittal_series_geometry(tmp_path):
    # Sagittal: columns run along +P, rows along -S, slices along +L (x cross y).
    write_series(tmp_path, n_slices=4, spacing=3.0, orientation=(0, 1, 0, 0, 0, -1))
    vol = read_series(tmp_path)
    np.testing.assert_allclose(vol.direction[:, 2], [-1, 0, 0], atol=1e-9)
    assert vol.spacing[0] == pytest.approx(3.0)
    assert vol.extra["orientation"] == "sagittal"
    image = to_sitk(vol)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path)))
    ref = reader.Execute()
    np.testing.assert_allclose(image.GetOrigin(), ref.GetOrigin(), atol=1e-6)
    np.testing.assert_allclose(image.GetDirection(), ref.GetDirection(), atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ref), vol.array)


def test_rescale_to_float_when_slope_is_not_integral(tmp_path):
    series = write_series(tmp_path, n_slices=2, slope=0.5, intercept=-10)
    vol = read_series(tmp_path)
    assert vol.array.dtype == np.float32
    files = list(vol.extra["files"])
    for k, f in enumerate(files):
        stored = series.arrays[series.files.index(type(series.files[0])(f))]
        np.testing.assert_allclose(vol.array[k], stored * 0.5 - 10)


def test_forced_dtype_and_single_worker(tmp_path):
    write_series(tmp_path, n_slices=3)
    a = read_series(tmp_path, workers=1)
    b = read_series(tmp_path, dtype=np.float32, workers=2)
    assert a.array.dtype == np.int16 and b.array.dtype == np.float32
    np.testing.assert_array_equal(a.array, b.array)


@pytest.mark.parametrize(("signed", "stored", "expected"), [(0, 0xF000 | 5, 5),
                                                             (1, 0x0800 | 5, -2043)])
def test_bits_above_bits_stored_are_ignored_like_pydicom(tmp_path, signed, stored, expected):
    import pydicom

    series = write_series(tmp_path, n_slices=2, intercept=0,
                          extra={"BitsStored": 12, "HighBit": 11, "PixelRepresentation": signed})
    ds = pydicom.dcmread(series.files[0])
    values = np.frombuffer(ds.PixelData, dtype="<u2").copy()
    values[0] = stored
    ds.PixelData = values.tobytes()
    ds.save_as(series.files[0])
    assert pydicom.dcmread(series.files[0]).pixel_array[0, 0] == expected
    vol = read_series(tmp_path)
    k = vol.extra["files"].index(str(series.files[0]))
    assert vol.array[k, 0, 0] == expected
    np.testing.assert_array_equal(vol.array[k], pydicom.dcmread(series.files[0]).pixel_array)


def test_large_outputs_on_an_anonymous_map_hold_the_same_values(tmp_path, monkeypatch):
    from mrecist_tool.dicom import series as series_module

    write_series(tmp_path, n_slices=3)
    plain = read_series(tmp_path)
    monkeypatch.setattr(series_module, "_MMAP_MIN_BYTES", 0)
    mapped = read_series(tmp_path)
    np.testing.assert_array_equal(mapped.array, plain.array)
    assert mapped.array.flags.writeable and mapped.array.flags.c_contiguous
