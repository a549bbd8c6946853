"""A loaded image volume with its geometry in DICOM patient coordinates (LPS, mm).

Conventions
-----------
``array`` is indexed ``[z, y, x]``: ``z`` the slice, ``y`` the row, ``x`` the column (numpy and
napari order).  ``spacing`` is ``(z, y, x)`` in mm, the same order as the array.  ``origin`` is
the LPS position (mm) of the centre of voxel ``[0, 0, 0]``.  ``direction`` is a 3×3 matrix whose
**columns** are the LPS unit vectors of the ``x`` (column), ``y`` (row) and ``z`` (slice) index
axes, in that order -- the ITK / SimpleITK convention, so ``direction.ravel()`` is what
``SimpleITK.Image.SetDirection`` takes.  Note the two orders: ``spacing`` follows the array
(z, y, x), ``direction`` columns follow ITK (x, y, z).

``affine`` maps an array index ``(z, y, x, 1)`` to ``(L, P, S, 1)``::

    lps = origin + direction[:, 2] * sz * z + direction[:, 1] * sy * y + direction[:, 0] * sx * x

napari works in the array's index frame; :meth:`Volume.to_napari` returns a ``scale`` (mm) and a
``translate`` that place the layer in a *world* frame whose axes are the volume's own axes
(rotated LPS).  Distances measured in that world frame are millimetres, and
:meth:`Volume.world_to_lps` turns world points (for instance the ends of a line drawn by a
reader) into LPS coordinates for the case file.  For an axial volume with identity direction the
world frame is simply LPS in (S, P, L) order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


@dataclass(eq=False)
class Volume:
    """Pixels plus geometry plus the header facts a reader needs.

    Attributes
    ----------
    array : numpy.ndarray
        The voxels, indexed ``[z, y, x]``, rescale applied (CT in HU).
    spacing : tuple of float
        (z, y, x) mm.
    origin : tuple of float
        LPS mm of the first voxel's centre.
    direction : numpy.ndarray
        3×3 direction cosines (columns: x, y, z axes in LPS).
    series_uid : str
        Series Instance UID.
    study_uid : str
        Study Instance UID.
    modality : str
        E.g. ``"CT"``, ``"MR"``.
    phase : str
        The contrast phase (:func:`detect_phase`).
    description : str
        Series Description.
    window : tuple of (float, float) or None
        Display window centre and width from the header.
    frame_of_reference_uid : str
        Frame of Reference UID.
    sop_instance_uids : tuple of str
        One per slice (``""`` for a filled missing slice).
    warnings : tuple of str
        What a reader should know (e.g. filled slices).
    extra : dict
        Other facts a caller may need, by name.
    """

    array: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: np.ndarray
    series_uid: str = ""
    study_uid: str = ""
    modality: str = ""
    phase: str = "unknown"
    description: str = ""
    window: tuple[float, float] | None = None
    frame_of_reference_uid: str = ""
    sop_instance_uids: tuple[str, ...] = ()  # one per slice ("" for a filled missing slice)
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.direction = np.asarray(self.direction, dtype=float).reshape(3, 3)
        self.spacing = tuple(float(v) for v in self.spacing)  # type: ignore[assignment]
        self.origin = tuple(float(v) for v in self.origin)  # type: ignore[assignment]

    # -- geometry ------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def affine(self) -> np.ndarray:
        """4×4 matrix from array index ``(z, y, x, 1)`` to LPS mm ``(L, P, S, 1)``."""
        a = np.eye(4)
        sz, sy, sx = self.spacing
        a[:3, 0] = self.direction[:, 2] * sz
        a[:3, 1] = self.direction[:, 1] * sy
        a[:3, 2] = self.direction[:, 0] * sx
        a[:3, 3] = self.origin
        return a

    def index_to_lps(self, points: ArrayLike) -> np.ndarray:
        """Array indices ``(..., 3)`` in (z, y, x) order (fractional allowed) → LPS mm."""
        p = np.asarray(points, dtype=float)
        a = self.affine
        return p @ a[:3, :3].T + a[:3, 3]

    def lps_to_index(self, points: ArrayLike) -> np.ndarray:
        """LPS mm ``(..., 3)`` → fractional array indices in (z, y, x) order."""
        p = np.asarray(points, dtype=float)
        a = self.affine
        return (p - a[:3, 3]) @ np.linalg.inv(a[:3, :3]).T

    @property
    def _axes(self) -> np.ndarray:
        # Columns: LPS unit vectors of the array axes in array order (z, y, x).
        return self.direction[:, [2, 1, 0]]

    def to_napari(self) -> dict[str, Any]:
        """Layer keyword arguments placing this volume in napari's world frame, in mm.

        Returns ``{"scale", "translate", "axis_labels", "metadata"}``.  World coordinates are
        ``index * scale + translate`` = the LPS point expressed along the volume's own axes;
        convert with :meth:`world_to_lps` / :meth:`lps_to_world`.  Exact for any orthonormal
        direction (oblique included); for the usual axis-aligned volumes the world axes are
        patient axes.
        """
        translate = self._axes.T @ np.asarray(self.origin)
        return {
            "scale": tuple(self.spacing),
            "translate": tuple(float(v) for v in translate),
            "axis_labels": ("z", "y", "x"),
            "metadata": {
                "series_uid": self.series_uid,
                "study_uid": self.study_uid,
                "frame_of_reference_uid": self.frame_of_reference_uid,
                "affine": self.affine.tolist(),
                "direction": self.direction.tolist(),
            },
        }

    def world_to_lps(self, points: ArrayLike) -> np.ndarray:
        """napari world coordinates (from :meth:`to_napari`) ``(..., 3)`` → LPS mm."""
        return np.asarray(points, dtype=float) @ self._axes.T

    def lps_to_world(self, points: ArrayLike) -> np.ndarray:
        """LPS mm ``(..., 3)`` → napari world coordinates (see :meth:`to_napari`)."""
        return np.asarray(points, dtype=float) @ self._axes

    @property
    def is_axis_aligned(self) -> bool:
        """True when every index axis runs along a patient axis (axial, coronal, sagittal)."""
        d = np.abs(self.direction)
        return bool(np.all((d < 1e-4) | (d > 1 - 1e-4)))

    def __repr__(self) -> str:
        return (f"Volume(shape={self.shape}, dtype={self.array.dtype}, spacing={self.spacing}, "
                f"origin={self.origin}, modality={self.modality!r}, phase={self.phase!r}, "
                f"description={self.description!r})")
