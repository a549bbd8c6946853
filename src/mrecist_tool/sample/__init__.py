"""Synthetic sample data (not patients).

* :func:`generate_studies` -- multi-phase liver CT (and one contrast MR) DICOM studies of a few
  synthetic subjects, with ground-truth masks and case files (``mrecist sample-data OUT``);
* :func:`sample_subject_path` -- the case file of one sample subject, generated into a cache
  folder on first use (napari File ▸ Open Sample);
* :mod:`mrecist_tool.sample.cohort` -- a simulated trial cohort as case files.

Heavy modules (pydicom, SimpleITK) load only when studies are generated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .studies import GenerationResult, generate_studies, sample_subject_path

__all__ = ["GenerationResult", "generate_studies", "sample_subject_path"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import studies

        return getattr(studies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
