"""Sample data contribution: the generated sample subject, so File ▸ Open Sample works offline.

The studies are synthetic (``mrecist_tool.sample``), generated once into a cache folder; the
subject's ground-truth case file is opened in the assessment widget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLE_SUBJECT = "SYN-003"  # ablation, complete at FU1, LTP and a new lesion at FU2


def sample_case_path(cache_dir: Path | None = None) -> Path:
    """The sample subject's case file, generating the studies first when they are missing
    (a few seconds, once; ``$MRECIST_SAMPLE_DIR`` or the user cache folder)."""
    from mrecist_tool.sample import sample_subject_path

    return Path(sample_subject_path(SAMPLE_SUBJECT, cache_dir=cache_dir))


def sample_subject() -> list[tuple[Any, ...]]:
    """Open the sample subject: docked widget, studies and annotations (napari sample data)."""
    import napari

    from . import assessment_widget
    from ._reader import read_case_file

    path = sample_case_path()
    viewer = napari.current_viewer()
    if viewer is None:
        return [t for t in read_case_file(path) if t[0] is not None]
    widget = assessment_widget(viewer)
    if not widget.open_case(path, show=False):
        return []
    # napari wants at least one layer back: the baseline image, which the widget adopts and
    # completes with the case's lines and masks.
    assert widget.session is not None
    image = widget.image_layer_tuple(widget.session.baseline_id)
    return [image] if image is not None else []
