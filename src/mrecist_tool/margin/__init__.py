"""The minimal ablative margin from images (response-rules.md §5.2, MAR-1 to MAR-8).

* :func:`margin_from_files` / :func:`margin_from_images` -- one tumour: masks (NIfTI files or
  DICOM folders) and optionally the pre/post images to register, to the MAR-7 report;
* :func:`register` -- pre → post registration, rigid then B-spline, with its QA (MAR-2);
* the geometry itself (surfaces reconstructed between slices, exact distances) lives in
  :mod:`mrecist_tool.geometry`.

Nothing here is imported by the rules core; SimpleITK is imported when a margin is computed.
"""

from __future__ import annotations

from .compute import JSON_KEYS, MarginReport, margin_from_files, margin_from_images
from .images import MarginInputError, load_image, load_mask
from .registration import METHODS, Registration, register

__all__ = [
    "JSON_KEYS",
    "METHODS",
    "MarginInputError",
    "MarginReport",
    "Registration",
    "load_image",
    "load_mask",
    "margin_from_files",
    "margin_from_images",
    "register",
]
