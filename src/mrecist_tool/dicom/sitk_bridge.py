"""Conversion between :class:`Volume` and SimpleITK images, geometry intact.

SimpleITK's numpy view is ``[z, y, x]`` like ours; its spacing and origin are ``(x, y, z)``
and its direction is the row-major flattening of the 3×3 matrix whose columns are the x, y, z
index axes -- exactly :attr:`Volume.direction`.  Both use LPS millimetres.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import MissingDependencyError
from ..safe_files import NotRegularFileError, check_regular
from .volume import Volume


def _sitk() -> Any:
    try:
        import SimpleITK
    except ImportError as exc:  # pragma: no cover - SimpleITK is a core dependency
        raise MissingDependencyError(
            "SimpleITK is needed for this conversion: pip install SimpleITK"
        ) from exc
    return SimpleITK


def to_sitk(volume: Volume) -> Any:
    """A ``SimpleITK.Image`` with the volume's pixels (copied), spacing, origin and direction.

    Parameters
    ----------
    volume : Volume
        The volume.

    Returns
    -------
    SimpleITK.Image
        A 3-D image in LPS.
    """
    sitk = _sitk()
    image = sitk.GetImageFromArray(np.ascontiguousarray(volume.array))
    sz, sy, sx = volume.spacing
    image.SetSpacing((sx, sy, sz))
    image.SetOrigin(tuple(volume.origin))
    image.SetDirection(tuple(float(v) for v in volume.direction.ravel()))
    return image


def from_sitk(image: Any, **metadata: Any) -> Volume:
    """A :class:`Volume` from a 3-D ``SimpleITK.Image``.

    Parameters
    ----------
    image : SimpleITK.Image
        A 3-D image (geometry in LPS, as SimpleITK reports it).
    **metadata : Any
        The other fields of :class:`Volume` (``series_uid``, ``modality``, ``phase``, …).

    Returns
    -------
    Volume
        Its voxels as ``array[z, y, x]`` with its spacing, origin and direction.
    """
    sitk = _sitk()
    if image.GetDimension() != 3:
        raise ValueError(f"expected a 3-D image, got {image.GetDimension()}-D")
    array = sitk.GetArrayFromImage(image)
    sx, sy, sz = image.GetSpacing()
    return Volume(
        array=array,
        spacing=(sz, sy, sx),
        origin=tuple(image.GetOrigin()),
        direction=np.asarray(image.GetDirection(), dtype=float).reshape(3, 3),
        **metadata,
    )


def read_volume_file(path: Any) -> Volume:
    """Read a 3-D image file (NIfTI, NRRD, MHA, ...) as a :class:`Volume` through SimpleITK.

    The one way masks are read: the viewer's case loader and the SEG export both use it, so a
    mask means the same voxels in both.  SimpleITK reports geometry in LPS, like DICOM.

    Parameters
    ----------
    path : str or Path
        The image file.

    Returns
    -------
    Volume
        Its voxels and geometry.

    Raises
    ------
    NotRegularFileError
        When ``path`` is not a regular file (a FIFO would block the reader).
    RuntimeError
        SimpleITK's, when the file cannot be read as an image.
    """
    reason = check_regular(path)
    if reason is not None:  # SimpleITK would block on a FIFO: never hand it one
        raise NotRegularFileError(path, reason)
    sitk = _sitk()
    return from_sitk(sitk.ReadImage(str(path)))
