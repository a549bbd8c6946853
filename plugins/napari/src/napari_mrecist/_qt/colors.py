"""One colour per lesion, shared by its line, its masks, its calliper label and its row in the
lesion table (the legend).  Chosen to stand out on a grey image and from each other; label
values index them (label 1 = the first lesion)."""

from __future__ import annotations

import numpy as np

PALETTE = (
    "#ffd60a",  # yellow
    "#00e5ff",  # cyan
    "#ff4fd8",  # magenta
    "#7cff4f",  # green
    "#ff9f1c",  # orange
    "#b388ff",  # lavender
    "#ff5252",  # red
    "#40c4ff",  # sky
    "#c6ff00",  # lime
    "#ffab91",  # salmon
)
LABEL_BACKGROUND = "#000000c0"  # calliper labels: light text on a dark box


def lesion_color(label: int) -> str:
    """The colour of the lesion with this label value (1-based)."""
    return PALETTE[(label - 1) % len(PALETTE)]


def rgba(color: str, alpha: float = 1.0) -> np.ndarray:
    text = color.lstrip("#")
    values = [int(text[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    if len(text) == 8:
        alpha = int(text[6:8], 16) / 255
    return np.asarray([*values, alpha], dtype=float)


def labels_colormap(n_labels: int) -> dict[int | None, np.ndarray]:
    """A ``DirectLabelColormap`` colour dict: label → its lesion's colour, 0 transparent."""
    out: dict[int | None, np.ndarray] = {None: np.zeros(4), 0: np.zeros(4)}
    for label in range(1, max(n_labels, 1) + 1):
        out[label] = rgba(lesion_color(label))
    return out
