"""The viewer does not show (and so never measures or re-saves) a mask file that is not binary.

A label series with a rescale intercept has no zero voxel: shown as "non-zero is inside" it would
paint the whole volume as the lesion. The case opens without that mask and the reader is told
which file and why (geometry.mask_values).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from napari_mrecist._io import open_session


def _write(path: Path, array: np.ndarray) -> None:
    import SimpleITK as sitk

    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path), True)


def test_a_mask_without_background_is_not_opened_and_the_reader_is_told(tmp_path: Path) -> None:
    ball = np.zeros((5, 16, 16), np.int16)
    ball[1:4, 4:12, 4:12] = 1
    _write(tmp_path / "masks" / "BL_L1.nii.gz", ball - 1024)
    _write(tmp_path / "masks" / "BL_L2.nii.gz", ball * 3)  # one label other than 1: fine
    doc = {
        "format": "mrecist-case", "version": 1, "subject": {"id": "MASK-VIEW"},
        "timepoints": [{"id": "BL", "date": "2021-01-04", "baseline": True}],
        "lesions": [{"id": "L1", "role": "target"}, {"id": "L2", "role": "target"}],
        "observations": [
            {"lesion": "L1", "timepoint": "BL", "status": "measured", "viable_diameter_mm": 12,
             "geometry": {"mask": "masks/BL_L1.nii.gz"}},
            {"lesion": "L2", "timepoint": "BL", "status": "measured", "viable_diameter_mm": 12,
             "geometry": {"mask": "masks/BL_L2.nii.gz"}},
        ],
    }
    case = tmp_path / "case.json"
    case.write_text(json.dumps(doc), encoding="utf-8")
    session, notes, _ = open_session(case, reader="tester", use_autosave=False)
    assert any("BL_L1.nii.gz" in n and "no voxel is 0" in n for n in notes), notes
    loaded = {key[0]: entry for key, entry in session.masks.items()}
    assert "L1" not in loaded
    assert loaded["L2"].array.sum() == 3 * 8 * 8
