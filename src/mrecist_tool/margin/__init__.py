"""The minimal ablative margin from images (response-rules.md §5.2, MAR-1 to MAR-8).

* :func:`margin_from_files` / :func:`margin_from_images` -- one tumour: masks (NIfTI files or
  DICOM folders) and optionally the pre/post images to register, to the MAR-7 report;
* :func:`register` -- pre → post registration, rigid then B-spline, with its QA (MAR-2);
* the geometry itself (surfaces reconstructed between slices, exact distances) lives in
  :mod:`mrecist_tool.geometry`.

Nothing here is imported by the rules core; SimpleITK is imported when a margin is computed.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "JSON_KEYS": "compute", "MarginReport": "compute", "margin_from_files": "compute", "margin_from_images": "compute",
    "MarginInputError": "images", "load_image": "images", "load_mask": "images",
    "METHODS": "registration", "Registration": "registration", "register": "registration",
}


def __getattr__(name: str) -> Any:
    # lazy: the pipeline imports the margin step on every run, numpy and SimpleITK only when a
    # margin is computed
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
