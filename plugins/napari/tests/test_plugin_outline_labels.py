"""The ablation zone's outline drawn only around the labels of the slice is napari's own outline.

The reference is napari's ``Labels`` with the same ``contour``: it outlines the whole slice (the
cost the plugin avoids on every slice step), so any pixel that differs would be an outline the
reader sees wrongly -- missing at a zone's edge, or drawn where there is none.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from napari.layers import Labels

from napari_mrecist._qt.outline_labels import OutlineLabels


def _outlines(data: np.ndarray, contour: int, data_slice: tuple[slice, ...]) -> tuple[np.ndarray, np.ndarray]:
    ours, reference = OutlineLabels(data), Labels(data)
    ours.contour = reference.contour = contour
    return ours._calculate_contour(data, data_slice), reference._calculate_contour(data, data_slice)


@st.composite
def labelled_slices(draw: st.DrawFn) -> tuple[np.ndarray, tuple[slice, slice]]:
    """A slice of 2–40 × 2–40 pixels with 0–3 labelled boxes and discs, some against the border,
    and a window of it (napari redraws only the painted window after a brush stroke)."""
    h, w = draw(st.integers(2, 40)), draw(st.integers(2, 40))
    data = np.zeros((h, w), dtype=np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for label in range(1, draw(st.integers(0, 3)) + 1):
        cy, cx = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        r = draw(st.integers(0, 12))
        if draw(st.booleans()):
            data[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = label
        else:
            data[max(0, cy - r):cy + r + 1, max(0, cx - r):cx + r + 1] = label
    y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
    y1, x1 = draw(st.integers(y0 + 1, h)), draw(st.integers(x0 + 1, w))
    window = draw(st.sampled_from([(slice(0, h), slice(0, w)), (slice(y0, y1), slice(x0, x1))]))
    return data, window


@given(labelled_slices(), st.integers(1, 3))
def test_the_outline_is_napari_s_pixel_for_pixel(case: tuple[np.ndarray, tuple[slice, slice]], contour: int) -> None:
    data, window = case
    ours, reference = _outlines(data, contour, window)
    np.testing.assert_array_equal(ours, reference)


def test_a_slice_without_labels_has_no_outline_and_a_zone_at_the_edge_keeps_its_edge() -> None:
    """The cases a slice step meets most: nothing labelled (most of a 300-slice series), and a
    zone cut by the image's border (its outline runs along the border, as napari draws it)."""
    empty = np.zeros((512, 512), dtype=np.uint8)
    ours, reference = _outlines(empty, 2, (slice(0, 512), slice(0, 512)))
    assert not ours.any() and not reference.any()

    edge = np.zeros((64, 64), dtype=np.uint8)
    edge[:20, 10:30] = 3  # touches the top border
    ours, reference = _outlines(edge, 2, (slice(0, 64), slice(0, 64)))
    np.testing.assert_array_equal(ours, reference)
    assert ours[19, 15] == 3 and ours[10, 20] == 0  # the bottom edge outlined, the inside not


def test_filled_labels_are_left_to_napari() -> None:
    data = np.zeros((16, 16), dtype=np.uint8)
    data[4:9, 4:9] = 1
    ours, reference = _outlines(data, 0, (slice(0, 16), slice(0, 16)))
    assert ours is None and reference is None  # contour 0: napari shows the labels filled
