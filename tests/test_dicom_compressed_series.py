"""Multi-file series in compressed transfer syntaxes load like their uncompressed originals."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from mrecist_tool.dicom import read_series, scan
from mrecist_tool.dicom.testing import write_series


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless, JPEGLSLossless])
def test_compressed_series_matches_uncompressed(tmp_path, syntax):
    plain = write_series(tmp_path / "plain", n_slices=4, spacing=2.5)
    reference = read_series(tmp_path / "plain")
    packed = tmp_path / "packed"
    packed.mkdir()
    for path in plain.files:
        ds = pydicom.dcmread(path)
        try:
            ds.compress(syntax)
        except (RuntimeError, ValueError) as exc:  # encoder plugin missing
            pytest.skip(f"no {syntax.name} encoder: {exc}")
        ds.save_as(packed / path.name, enforce_file_format=True)
    vol = read_series(packed, workers=2)
    np.testing.assert_array_equal(vol.array, reference.array)
    assert vol.spacing == pytest.approx(reference.spacing)
    assert vol.origin == pytest.approx(reference.origin)
    info = scan(packed).series[0]
    assert info.loadable and info.transfer_syntax == syntax
