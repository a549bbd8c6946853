"""The npe2 manifest is installed, discovered by napari and valid (napari drops a bad one quietly)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_manifest_is_discovered() -> None:
    import npe2

    pm = npe2.PluginManager.instance()
    pm.discover()
    manifest = pm.get_manifest("napari-mrecist")
    assert manifest.display_name == "mRECIST assessment"
    contributions = manifest.contributions
    assert {r.command for r in contributions.readers or []} == {
        "napari-mrecist.get_case_reader", "napari-mrecist.get_dicom_reader"}
    assert [w.display_name for w in contributions.widgets or []] == ["Assessment", "Open from PACS"]
    assert [s.key for s in contributions.sample_data or []] == ["sample_subject"]


def test_npe2_validate_passes() -> None:
    exe = shutil.which("npe2", path=str(Path(sys.executable).parent)) or "npe2"
    done = subprocess.run([exe, "validate", "napari-mrecist"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout + done.stderr
