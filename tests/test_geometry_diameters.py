"""Diameters and short axes of masks against analytic answers (MR-V1, MR-V3, REC-M1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.draw import ellipse

from mrecist_tool.geometry import (
    Grid,
    axial_measurements,
    line_length_mm,
    longest_axial_diameter,
    short_axis,
    slice_measurement,
    viable_diameter,
)


def disc_mm(shape, spacing, centre_mm, radius_mm):
    """Pixels whose centres lie within ``radius_mm`` of ``centre_mm`` (y, x in mm)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (yy * spacing[0] - centre_mm[0]) ** 2 + (xx * spacing[1] - centre_mm[1]) ** 2 <= radius_mm**2


def ellipse_mm(shape, spacing, centre_mm, a, b, angle):
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    y = yy * spacing[0] - centre_mm[0]
    x = xx * spacing[1] - centre_mm[1]
    u = x * math.cos(angle) + y * math.sin(angle)
    v = -x * math.sin(angle) + y * math.cos(angle)
    return (u / a) ** 2 + (v / b) ** 2 <= 1


def test_line_length_in_patient_coordinates():
    assert line_length_mm([0, 0, 0], [3, 4, 12]) == pytest.approx(13)
    assert line_length_mm((-10.5, 2, 30), (-10.5, 2, 30)) == 0
    with pytest.raises(ValueError, match="end points"):
        line_length_mm([0, 0], [1, 2, 3])


@pytest.mark.parametrize("spacing", [(0.5, 0.5), (0.7, 0.7), (1.0, 1.0), (0.6, 0.9), (1.2, 0.8)])
@pytest.mark.parametrize("radius", [4.3, 10.0, 17.6, 31.25])
def test_disc_diameter_within_half_a_voxel(spacing, radius):
    shape = (int(2 * radius / spacing[0]) + 12, int(2 * radius / spacing[1]) + 12)
    centre = (shape[0] / 2 * spacing[0] + 0.13, shape[1] / 2 * spacing[1] - 0.21)
    m = slice_measurement(disc_mm(shape, spacing, centre, radius), spacing)
    tol = 0.5 * max(spacing)
    assert m is not None
    assert m.diameter_mm == pytest.approx(2 * radius, abs=tol)
    assert m.short_axis_mm == pytest.approx(2 * radius, abs=tol)
    # the reported length is the distance between the reported end points
    assert line_length_mm(m.long_axis.start, m.long_axis.end) == pytest.approx(m.diameter_mm)


@pytest.mark.parametrize("rotation", [0.0, 0.3, math.pi / 4, 1.1, -2.0])
@pytest.mark.parametrize(("r_radius", "c_radius"), [(29.6, 12.3), (9.4, 22.2), (15.3, 13.6)])
def test_rotated_ellipse_axes_skimage(rotation, r_radius, c_radius):
    """scikit-image's ellipse with rotation: long axis = 2·max radius, short axis = 2·min.

    Radii are not whole pixels: skimage keeps pixels strictly inside, so an integer radius
    centred on a pixel loses both tips and its analytic diameter is ambiguous by a pixel.
    """
    mask = np.zeros((120, 120), bool)
    rr, cc = ellipse(60.2, 59.7, r_radius, c_radius, shape=mask.shape, rotation=rotation)
    mask[rr, cc] = True
    m = slice_measurement(mask, (1.0, 1.0))
    assert m is not None
    # elongated shapes (aspect < 0.5) lose part of their tips to the pixel grid
    tol = 0.5 if min(r_radius, c_radius) / max(r_radius, c_radius) >= 0.5 else 0.75
    assert m.diameter_mm == pytest.approx(2 * max(r_radius, c_radius), abs=tol)
    # the short axis of an elongated shape gets no help from choosing among many directions:
    # its pixel-centre chord can be a whole pixel short before the half-pixel correction
    assert m.short_axis_mm == pytest.approx(2 * min(r_radius, c_radius), abs=2 * tol - 0.4)
    # long and short axes are perpendicular
    la = np.subtract(m.long_axis.end, m.long_axis.start)
    sa = np.subtract(m.short_axis.end, m.short_axis.start)
    assert abs(la @ sa) / (np.linalg.norm(la) * np.linalg.norm(sa)) < 1e-9


@pytest.mark.parametrize("angle", [0.0, 0.4, 1.2, 2.5])
def test_ellipse_with_anisotropic_pixels(angle):
    spacing = (0.9, 0.6)
    a, b = 21.3, 11.7
    mask = ellipse_mm((70, 100), spacing, (31.4, 29.9), a, b, angle)
    m = slice_measurement(mask, spacing)
    assert m is not None
    assert m.diameter_mm == pytest.approx(2 * a, abs=0.45)
    assert m.short_axis_mm == pytest.approx(2 * b, abs=0.45)
    # the long axis runs along the ellipse's major axis
    d = np.subtract(m.long_axis.end, m.long_axis.start)[:2]
    cos = abs(d @ [math.cos(angle), math.sin(angle)]) / np.linalg.norm(d)
    assert cos > math.cos(math.radians(5))


def test_sphere_overall_diameter_is_the_equator_with_anisotropic_voxels():
    spacing = (2.5, 0.7, 0.7)
    radius = 14.2
    zz, yy, xx = np.mgrid[0:16, 0:50, 0:50]
    centre = (20.0, 17.5, 17.2)  # mm; the equator is on slice 8
    sphere = (
        (zz * spacing[0] - centre[0]) ** 2
        + (yy * spacing[1] - centre[1]) ** 2
        + (xx * spacing[2] - centre[2]) ** 2
    ) <= radius**2
    best = longest_axial_diameter(sphere, spacing)
    assert best is not None
    assert best.slice_index == 8
    assert best.diameter_mm == pytest.approx(2 * radius, abs=0.35)
    per_slice = axial_measurements(sphere, spacing)
    assert [m.slice_index for m in per_slice] == list(range(3, 14))
    for m in per_slice:  # each slice is a disc of the sphere's section
        r = math.sqrt(max(radius**2 - (m.slice_index * 2.5 - centre[0]) ** 2, 0))
        assert m.diameter_mm == pytest.approx(2 * r, abs=0.35 + 0.05 * (r < 5))
    sa = short_axis(sphere, spacing)
    assert sa is not None and sa.length_mm == pytest.approx(2 * radius, abs=0.35)
    # points in index mm: (x, y, z) with z = slice · 2.5
    assert best.long_axis.start[2] == pytest.approx(20.0)
    assert best.long_axis.start_index[0] == 8


def test_end_points_in_lps_with_oblique_direction():
    """With an origin and direction the end points are LPS and keep the length (a slightly
    tilted axial series: 4°)."""
    spacing = (3.0, 0.8, 0.8)
    mask = np.zeros((5, 60, 60), bool)
    mask[2] = ellipse_mm((60, 60), spacing[1:], (24, 24), 15, 6, 0.7)
    th = math.radians(4)
    direction = np.array(
        [[math.cos(th), 0, math.sin(th)], [0, 1, 0], [-math.sin(th), 0, math.cos(th)]]
    )
    origin = (-120.0, 35.5, 400.0)
    plain = longest_axial_diameter(mask, spacing)
    lps = longest_axial_diameter(mask, spacing, origin=origin, direction=direction)
    assert plain is not None and lps is not None
    assert lps.diameter_mm == pytest.approx(plain.diameter_mm)
    assert line_length_mm(lps.long_axis.start, lps.long_axis.end) == pytest.approx(lps.diameter_mm)
    grid = Grid.make(spacing, origin, direction)
    back = grid.point_to_index([lps.long_axis.start, lps.long_axis.end])
    np.testing.assert_allclose(back, [lps.long_axis.start_index, lps.long_axis.end_index], atol=1e-9)
    np.testing.assert_allclose(
        grid.index_to_point(lps.long_axis.start_index), lps.long_axis.start, atol=1e-9
    )
    assert lps.long_axis.as_line()[0] == [round(v, 2) for v in lps.long_axis.start]


def test_viable_diameter_two_foci_largest_or_sum_mr_v3():
    """MR-V3: separate viable foci are measured singly, then the largest or the sum."""
    spacing = (2.5, 0.8, 0.8)
    m = np.zeros((3, 100, 100), bool)
    m[1] = disc_mm((100, 100), spacing[1:], (30, 30), 10) | disc_mm((100, 100), spacing[1:], (60, 55), 5)
    largest = viable_diameter(m, spacing, rule="largest")
    total = viable_diameter(m, spacing, rule="sum")
    assert len(largest.foci) == 2
    assert largest.diameter_mm == pytest.approx(20, abs=0.4)
    assert total.diameter_mm == pytest.approx(30, abs=0.8)
    assert total.diameter_mm == pytest.approx(sum(f.diameter_mm for f in total.foci))
    assert largest.largest is not None and largest.largest.diameter_mm == largest.diameter_mm


def test_viable_diameter_diagonal_neighbours_are_one_focus():
    m = np.zeros((1, 10, 10), bool)
    m[0, 2, 2] = m[0, 3, 3] = m[0, 4, 4] = True
    assert len(viable_diameter(m, (1, 1, 1)).foci) == 1


def test_no_viable_tissue_is_zero_mr_v4():
    """MR-V4: no enhancing tissue anywhere -> viable diameter 0 mm."""
    res = viable_diameter(np.zeros((4, 8, 8), bool), (2.5, 0.7, 0.7))
    assert res.diameter_mm == 0 and res.foci == ()
    assert longest_axial_diameter(np.zeros((4, 8, 8), bool), (1, 1, 1)) is None
    with pytest.raises(ValueError, match="rule"):
        viable_diameter(np.zeros((4, 8, 8), bool), (1, 1, 1), rule="mean")  # type: ignore[arg-type]


def test_degenerate_masks():
    one = np.zeros((5, 5), bool)
    one[2, 2] = True
    m = slice_measurement(one, (0.5, 0.7))
    assert m is not None and m.diameter_mm == pytest.approx(0.7)
    line = np.zeros((5, 20), bool)
    line[2, 3:13] = True  # ten pixels in a row
    m = slice_measurement(line, (1.0, 1.0))
    assert m is not None and m.diameter_mm == pytest.approx(9.5)
    assert m.short_axis_mm == pytest.approx(0.5)


def test_bad_spacing_is_refused():
    with pytest.raises(ValueError, match="spacing"):
        longest_axial_diameter(np.ones((2, 2, 2)), (1, 0, 1))
    with pytest.raises(ValueError, match="dimensions"):
        longest_axial_diameter(np.ones((2, 2)), (1, 1, 1))


def test_foci_are_placed_on_the_full_grid():
    """Each focus is measured in its own box; its end points are those of the whole mask."""
    spacing = (2.5, 0.8, 0.8)
    origin = (-150.0, -120.0, 33.0)
    m = np.zeros((6, 90, 90), bool)
    m[3] = ellipse_mm((90, 90), spacing[1:], (40, 44), 14, 7, 0.6)
    whole = longest_axial_diameter(m, spacing, origin=origin)
    focus = viable_diameter(m, spacing, origin=origin).largest
    assert whole is not None and focus is not None
    assert focus.slice_index == whole.slice_index == 3
    np.testing.assert_allclose(focus.long_axis.start, whole.long_axis.start, atol=1e-9)
    np.testing.assert_allclose(focus.long_axis.end_index, whole.long_axis.end_index, atol=1e-9)
    np.testing.assert_allclose(focus.short_axis.start_index, whole.short_axis.start_index,
                               atol=1e-9)


def test_grid_from_an_object_with_volume_attributes():
    class Vol:
        spacing = (2.0, 0.5, 0.5)
        origin = (10.0, 20.0, 30.0)
        direction = np.eye(3)

    m = np.zeros((2, 20, 20), bool)
    m[1, 5, 2:12] = True
    best = longest_axial_diameter(m, Vol())
    assert best is not None
    assert best.long_axis.start == pytest.approx((10.0 + 2 * 0.5 - 0.125, 22.5, 32.0))


@pytest.mark.parametrize(("name", "direction", "kind"), [
    ("coronal", [[1, 0, 0], [0, 0, 1], [0, -1, 0]], "coronal"),
    ("sagittal", [[0, 0, 1], [1, 0, 0], [0, 1, 0]], "sagittal"),
    ("oblique 20°", [[math.cos(0.349), 0, math.sin(0.349)], [0, 1, 0], [-math.sin(0.349), 0, math.cos(0.349)]], "oblique"),
])
def test_non_axial_series_are_refused_for_in_plane_diameters(name, direction, kind):
    """Diameters are axial (MR-V1, REC-M1): a coronal, sagittal or oblique series is refused
    with a message saying why, never measured in the wrong plane."""
    from mrecist_tool.geometry.diameters import NonAxialError

    mask = np.zeros((5, 40, 40), bool)
    mask[2, 10:30, 12:25] = True
    d = np.asarray(direction, float)
    with pytest.raises(NonAxialError, match=kind):
        longest_axial_diameter(mask, (2.0, 0.8, 0.8), origin=(0, 0, 0), direction=d)
    with pytest.raises(NonAxialError, match="wrong plane"):
        viable_diameter(mask, Grid.make((2.0, 0.8, 0.8), (0, 0, 0), d))
