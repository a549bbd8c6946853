"""Invariants of the measurements (hypothesis): ordering, translation and scaling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mrecist_tool.geometry import gap_mm, longest_axial_diameter, nearest_gap, slice_measurement

masks = arrays(bool, (12, 12), elements=st.booleans()).filter(lambda m: m.any())
spacings = st.tuples(st.floats(0.3, 3.0), st.floats(0.3, 3.0))


@settings(max_examples=60, deadline=None)
@given(masks, spacings)
def test_diameter_at_least_short_axis(mask, spacing):
    m = slice_measurement(mask, spacing)
    assert m is not None
    assert m.diameter_mm >= m.short_axis_mm - 1e-9


@settings(max_examples=40, deadline=None)
@given(masks, spacings, st.integers(0, 7), st.integers(0, 7))
def test_translation_invariance(mask, spacing, dy, dx):
    big = np.zeros((20, 20), bool)
    big[dy : dy + 12, dx : dx + 12] = mask
    a = slice_measurement(mask, spacing)
    b = slice_measurement(big, spacing)
    assert a is not None and b is not None
    assert b.diameter_mm == pytest.approx(a.diameter_mm)
    assert b.short_axis_mm == pytest.approx(a.short_axis_mm)
    # end points move with the mask
    np.testing.assert_allclose(
        np.subtract(b.long_axis.start_index, a.long_axis.start_index)[1:], [dy, dx], atol=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(masks, spacings, st.floats(0.2, 5.0))
def test_scaling_spacing_scales_lengths(mask, spacing, k):
    a = slice_measurement(mask, spacing)
    b = slice_measurement(mask, (spacing[0] * k, spacing[1] * k))
    assert a is not None and b is not None
    assert b.diameter_mm == pytest.approx(a.diameter_mm * k)
    assert b.short_axis_mm == pytest.approx(a.short_axis_mm * k)


@settings(max_examples=30, deadline=None)
@given(
    arrays(bool, (3, 8, 8), elements=st.booleans()).filter(lambda m: m.any()),
    st.floats(0.5, 3.0),
    st.floats(0.2, 4.0),
)
def test_gap_scales_and_is_symmetric(focus, s, k):
    zone = np.zeros((3, 8, 8), bool)
    zone[1, 0:2, 0:2] = True
    focus = focus & ~zone
    if not focus.any():
        return
    sp = (2.5, s, s)
    g = gap_mm(focus, zone, sp)
    assert g >= 0
    assert gap_mm(zone, focus, sp) == pytest.approx(g)
    # the reconstructed surfaces scale exactly, and so does everything measured on them when the
    # lattice they are meshed on scales too
    assert nearest_gap(focus, zone, tuple(v * k for v in sp), step_mm=0.5 * k).gap_mm == pytest.approx(g * k, rel=1e-6, abs=1e-9)
    best = longest_axial_diameter(focus, sp)
    assert best is not None and best.diameter_mm > 0
