"""Reading the images and masks of a margin: NIfTI (or any SimpleITK format) files and DICOM
series folders, as SimpleITK images in LPS millimetres.

DICOM SEG masks are recognised and refused with a message saying how to export the mask
instead: the toolkit writes SEG (``mrecist export seg``) but does not read it yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MrecistError
from ..geometry.grid import Grid

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


class MarginInputError(MrecistError, ValueError):
    """An image or mask that cannot be used; the message names it and says why."""


def _is_dicom_file(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _seg_refusal(path: Path) -> None:
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    except Exception:  # not readable as DICOM: the series reader will say why
        return
    if str(getattr(ds, "SOPClassUID", "")) == SEG_SOP_CLASS:
        raise MarginInputError(
            f"{path}: a DICOM SEG object; SEG masks are not read yet -- export the mask as NIfTI "
            "(for example from the viewer, or with 3D Slicer) and pass that file"
        )


def load_image(path: str | Path, what: str) -> Any:
    """A ``SimpleITK.Image`` from a NIfTI/NRRD/MHA file, or a DICOM series (a folder, or one of
    its files).  ``what`` names the input in messages (e.g. ``"--tumour"``).

    Parameters
    ----------
    path : str or pathlib.Path
        An image file, a DICOM series folder or one file of a DICOM series.
    what : str
        The name of the input in messages (e.g. ``"--tumour"``).

    Returns
    -------
    SimpleITK.Image
        The 3-D volume, as 32-bit floats.

    Raises
    ------
    MarginInputError
        When the path does not exist, cannot be read as an image, is a DICOM SEG object or is
        not 3-D.
    """
    import SimpleITK as sitk

    from ..dicom import read_series
    from ..dicom.sitk_bridge import read_volume_file, to_sitk
    from ..errors import DicomError

    p = Path(path)
    if not p.exists():
        raise MarginInputError(f"{what} {p}: no such file or folder")
    try:
        if p.is_dir() or _is_dicom_file(p):
            files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
            first = next((q for q in files if _is_dicom_file(q)), None)
            if first is not None:
                _seg_refusal(first)
            image = to_sitk(read_series(p))
        else:
            image = to_sitk(read_volume_file(p))
    except MarginInputError:
        raise
    except (DicomError, OSError, RuntimeError, ValueError) as exc:
        raise MarginInputError(f"{what} {p}: cannot be read as an image ({exc})") from exc
    if image.GetDimension() != 3:
        raise MarginInputError(f"{what} {p}: a {image.GetDimension()}-D image; a 3-D volume is needed")
    return sitk.Cast(image, sitk.sitkFloat32) if image.GetPixelID() != sitk.sitkFloat32 else image


def load_mask(path: str | Path, what: str) -> tuple[np.ndarray, Grid, Any]:
    """A binary mask as a boolean array (z, y, x), its grid, and the image.

    The file must hold 0 outside and one value inside (see :func:`load_mask_image`).

    Parameters
    ----------
    path : str or pathlib.Path
        An image file or a DICOM series, as for :func:`load_image`.
    what : str
        The name of the input in messages (e.g. ``"--zone"``).

    Returns
    -------
    mask : numpy.ndarray
        True inside, indexed (z, y, x).
    grid : Grid
        The voxel grid of the mask (spacing, origin, direction).
    image : SimpleITK.Image
        The image the mask was read from.

    Raises
    ------
    MarginInputError
        When the file cannot be read (see :func:`load_image`), its values are not 0 outside
        and one value inside, or the mask is empty.
    """
    image = load_image(path, what)
    array = _checked_inside(image, f"{what} {path}")
    if not array.any():
        raise MarginInputError(f"{what} {path}: the mask is empty")
    return array, grid_of(image), image


def load_mask_image(path: str | Path, what: str) -> Any:
    """A binary mask file as a SimpleITK UInt8 image holding 0 and 1, on the file's grid.

    Parameters
    ----------
    path : str or pathlib.Path
        A NIfTI (or other SimpleITK-readable) file, or a DICOM series folder.
    what : str
        How messages name the input, e.g. ``"--tumour"``.

    Returns
    -------
    SimpleITK.Image
        The mask as UInt8, 1 inside, with the file's spacing, origin and direction.

    Raises
    ------
    MarginInputError
        When the file cannot be read, or holds anything but 0 outside and one value inside (a
        label series with a rescale intercept, a multi-label or probability map): read as
        "non-zero is inside" it would give a silently wrong margin.
    """

    image = load_image(path, what)
    return binary_image(image, f"{what} {path}")


def binary_image(image: Any, what: str) -> Any:
    """``image`` checked to be a binary mask and returned as UInt8 0/1 with its geometry.

    Parameters
    ----------
    image : SimpleITK.Image
        A mask image of any pixel type.
    what : str
        How messages name the input.

    Returns
    -------
    SimpleITK.Image
        UInt8, 1 inside, with ``image``'s geometry.

    Raises
    ------
    MarginInputError
        When the values are not 0 outside and one value inside.
    """
    return image_from_array(_checked_inside(image, what).astype(np.uint8), image)


def _checked_inside(image: Any, what: str) -> np.ndarray:
    """The inside of the mask ``image`` (boolean, (z, y, x)); a non-binary mask is refused as a
    :class:`MarginInputError` naming ``what`` (see :mod:`..geometry.mask_values`)."""
    import SimpleITK as sitk

    from ..geometry.mask_values import MaskValueError, binary_inside

    try:
        return np.asarray(binary_inside(sitk.GetArrayViewFromImage(image)))
    except MaskValueError as exc:
        raise MarginInputError(f"{what}: {exc}") from None


def grid_of(image: Any) -> Grid:
    """The :class:`Grid` of a SimpleITK image (spacing (z, y, x), origin, direction)."""
    sx, sy, sz = image.GetSpacing()
    return Grid.make((sz, sy, sx), image.GetOrigin(), np.asarray(image.GetDirection(), float).reshape(3, 3))


def image_from_array(array: np.ndarray, reference: Any) -> Any:
    """A SimpleITK image of ``array`` with ``reference``'s geometry."""
    import SimpleITK as sitk

    out = sitk.GetImageFromArray(np.ascontiguousarray(array))
    out.CopyInformation(reference)
    return out
