"""Gap from a focus to an ablation zone (ABL rules, ltp_max_distance_mm) and margins (MAR-4)."""

from __future__ import annotations

import numpy as np
import pytest

from mrecist_tool.geometry import ablative_margin, gap_mm, nearest_gap


def box(shape, lo, hi):
    m = np.zeros(shape, bool)
    m[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = True
    return m


def ball(shape, spacing, centre_mm, r):
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)], indexing="ij")
    return sum((g - c) ** 2 for g, c in zip(grids, centre_mm, strict=True)) <= r**2


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.7, 0.7), (5.0, 0.8, 0.6)])
@pytest.mark.parametrize("empty_voxels", [1, 3, 7])
def test_voxel_aligned_boxes_exact_gap(spacing, empty_voxels):
    """Masks k empty voxels apart along an axis are k·spacing apart, along each axis.

    Prisms end flat at the voxel face: across the slices that needs three or more slices of one
    area (one or two slices are reconstructed as round, like the lesions they usually are)."""
    shape = (20, 20, 20)
    zone = box(shape, (5, 5, 2), (9, 9, 6))
    for axis in range(3):
        lo = [5, 5, 5]
        hi = [9, 9, 9]
        zone_hi = (9, 9, 6)[axis]
        lo[axis] = zone_hi + empty_voxels
        hi[axis] = lo[axis] + (3 if axis == 0 else 2)
        focus = box(shape, lo, hi)
        if axis != 2:  # shift so only the tested axis separates them
            focus = box(shape, [*lo[:2], 3], [*hi[:2], 5])
        assert gap_mm(focus, zone, spacing) == pytest.approx(empty_voxels * spacing[axis])


@pytest.mark.parametrize(
    ("offset", "what"),
    [((0, 0, 1), "face"), ((0, 1, 1), "edge"), ((1, 1, 1), "corner"), ((0, 0, 0), "overlap")],
)
def test_touching_or_overlapping_is_zero(offset, what):
    """A focus sharing a face, an edge or a corner with the zone is contiguous: gap 0."""
    zone = np.zeros((5, 5, 5), bool)
    zone[2, 2, 2] = True
    focus = np.zeros_like(zone)
    focus[2 + offset[0], 2 + offset[1], 2 + offset[2]] = True
    g = nearest_gap(focus, zone, (2.5, 0.7, 0.7))
    assert g.gap_mm == 0 and g.touching, what


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.0, 0.75, 0.75)])
@pytest.mark.parametrize("gap", [0.0, 2.6, 4.9, 9.7])
def test_gap_between_spheres(spacing, gap):
    """Spheres a known distance apart along x: the voxel estimate is within a voxel.

    The analytic gap is the distance between the smooth surfaces; each mask's voxel boxes
    reach at most half a voxel beyond or short of its surface.
    """
    shape = (24, 60, 90)
    r1, r2 = 9.3, 6.4
    c1 = np.array([12 * spacing[0], 30 * spacing[1], 20.2])
    c2 = c1 + np.array([0, 0, r1 + r2 + gap])
    zone = ball(shape, spacing, c1, r1)
    focus = ball(shape, spacing, c2, r2) & ~zone
    got = gap_mm(focus, zone, spacing)
    assert got == pytest.approx(gap, abs=max(spacing[1:]))
    assert got >= 0


def test_gap_between_discs_on_the_pixel_grid_within_half_a_voxel():
    """Discs whose edges fall midway between pixel centres along the line of centres."""
    sp = (1.0, 0.8, 0.8)
    shape = (1, 80, 120)
    zone = ball(shape, sp, (0, 32.0, 24.0), 10.4 * 0.8 - 0.01)  # edge at 10.4 px -> box at 10.5
    for k in (3, 6, 11):
        # disc of radius 6.5 px centred (10.5 + 6.5 + k) px further along x
        cx = 24.0 + (10.5 + 6.5 + k) * 0.8
        focus = ball(shape, sp, (0, 32.0, cx), 6.4 * 0.8)
        assert gap_mm(focus, zone, sp) == pytest.approx(k * 0.8, abs=0.4)


def test_point_focus():
    zone = np.zeros((3, 10, 10), bool)
    zone[1, 2:5, 2:5] = True
    sp = (2.0, 0.5, 0.5)
    assert gap_mm([[1, 3, 3]], zone, sp) == 0  # inside
    thick = np.zeros((5, 10, 10), bool)
    thick[:, 1:8, 1:8] = True
    assert gap_mm([[2, 4, 4]], thick, sp) == 0  # deep inside, far from the zone's surface
    assert gap_mm([[1, 3, 4.5]], zone, sp) == 0  # on the zone's edge
    assert gap_mm([[1, 3, 8.5]], zone, sp) == pytest.approx(4 * 0.5)
    assert gap_mm([[1, 3, 8.5], [1, 3, 6.5]], zone, sp) == pytest.approx(2 * 0.5)
    g = nearest_gap(np.array([[1.0, 8.5, 3.0]]), zone, sp)
    assert g.gap_mm == pytest.approx(4 * 0.5) and g.zone_index == pytest.approx((1, 4.5, 3))  # the zone's face


def test_face_neighbour_across_a_thick_slice_is_found():
    """The centre-nearest zone voxel is in-plane, but a face neighbour one slice up touches."""
    zone = np.zeros((3, 8, 8), bool)
    zone[1, 0:2, 0:2] = True
    focus = np.zeros_like(zone)
    focus[0, 0, 0] = True  # face neighbour of zone[1, 0, 0], 5 mm away centre to centre
    focus[1, 2, 3] = True  # 1.1 mm away centre to centre, but not touching
    assert gap_mm(focus, zone, (5.0, 0.5, 0.5)) == 0


def test_two_dimensional_masks_and_bad_input():
    zone = np.zeros((10, 10), bool)
    zone[2:4, 2:4] = True
    focus = np.zeros_like(zone)
    focus[2:4, 7] = True
    assert gap_mm(focus, zone, (0.7, 0.7)) == pytest.approx(3 * 0.7)
    with pytest.raises(ValueError, match="zone mask is empty"):
        gap_mm(focus, np.zeros_like(zone), (1, 1))
    with pytest.raises(ValueError, match="focus mask is empty"):
        gap_mm(np.zeros_like(zone), zone, (1, 1))
    with pytest.raises(ValueError, match="focus must be"):
        gap_mm(np.zeros((4, 4), bool), zone, (1, 1))


def test_minimal_ablative_margin_concentric_spheres_mar_4():
    """MAR-4/MAR-8: a 10 mm tumour centred in a 15 mm zone has a 5 mm margin (± a voxel)."""
    sp = (1.0, 1.0, 1.0)
    shape = (40, 40, 40)
    c = (20.0, 20.0, 20.0)
    tumour = ball(shape, sp, c, 10)
    zone = ball(shape, sp, c, 15)
    m = ablative_margin(tumour, zone, sp)
    assert m.mam_mm == pytest.approx(5, abs=1.0)
    assert m.coverage == 1
    assert m.q50_mm >= m.q05_mm >= m.mam_mm
    # shifted 8 mm: part of the tumour is outside the zone, so MAM < 0 (MAR-5: incomplete)
    shifted = ball(shape, sp, (20.0, 20.0, 28.0), 10)
    m2 = ablative_margin(shifted, zone, sp)
    assert m2.mam_mm == pytest.approx(-3, abs=1.0)
    assert 0 < m2.coverage < 1
    assert m2.min_index[2] > 30  # the thinnest margin is on the side it was shifted to
