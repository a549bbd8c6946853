"""An output folder whose parent cannot be written (issue 8 item 11, issue 9).

``mrecist assess`` switches its result set in whole with one rename beside ``--out``, which needs
write permission on the folder holding ``--out``.  Where that is missing it refuses before any
work, with a message that names the folder and why, and — when ``--out`` itself is writable —
suggests a folder inside it; it never falls back to replacing the tables one by one.

As root, permission bits stop nothing, so the read-only parent is a real read-only file system:
a tmpfs mounted read-only in a private mount namespace (``unshare -m``), with a writable folder
bind-mounted onto the output folder inside it.  Where namespaces are not allowed that test is
skipped; the refusal logic is also tested through a parent that is a file, which needs nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mrecist_tool.atomic import check_stageable
from mrecist_tool.errors import SaveError

ROOT = Path(__file__).parent.parent
CASES = ROOT / "sample_data" / "cases"
MRECIST = Path(sys.executable).parent / "mrecist"


def _assess(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MRECIST), "assess", str(CASES), "--out", str(out), "--print", "never"],
                          capture_output=True, text=True, timeout=120)


def test_a_parent_that_is_a_file_is_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    t0 = time.monotonic()
    done = _assess(tmp_path / "notes.txt" / "out")
    assert done.returncode == 2, done.stderr
    assert f"{tmp_path / 'notes.txt'} is not a folder" in done.stderr
    assert "nothing was assessed" in done.stderr and "assessed 6" not in done.stderr
    assert time.monotonic() - t0 < 30  # no assessment ran (the sample cases alone take longer under load)
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_an_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("")
    with pytest.raises(SaveError, match="exists and is not a folder"):
        check_stageable(tmp_path / "out")
    done = _assess(tmp_path / "out")
    assert done.returncode == 2 and "nothing was assessed" in done.stderr


def test_a_writable_parent_passes_and_the_probe_leaves_nothing(tmp_path: Path) -> None:
    check_stageable(tmp_path / "a" / "b" / "out")  # missing folders would be made in tmp_path
    (tmp_path / "out").mkdir()
    check_stageable(tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["out"] and os.listdir(tmp_path / "out") == []


NAMESPACE_SCRIPT = r"""
set -e
base="$1"; mrecist="$2"; cases="$3"
mount -t tmpfs -o size=4m tmpfs "$base/ro"
mkdir "$base/ro/out"
mount --bind "$base/writable" "$base/ro/out"
mount -o remount,ro "$base/ro"
set +e
"$mrecist" assess "$cases" --out "$base/ro/out" --print never 2> "$base/writable-err/into-out.txt"
echo $? > "$base/writable-err/into-out.rc"
"$mrecist" assess "$cases" --out "$base/ro/new" --print never 2> "$base/writable-err/new.txt"
echo $? > "$base/writable-err/new.rc"
"$mrecist" assess "$cases" --out "$base/ro/out/results" --print never 2> "$base/writable-err/inside.txt"
echo $? > "$base/writable-err/inside.rc"
touch "$base/ro/probe" 2> /dev/null && echo "the file system is not read-only" > "$base/writable-err/broken.txt"
exit 0
"""


@pytest.fixture
def read_only_parent(tmp_path: Path) -> Path:
    """Runs the three commands in a private mount namespace; returns the folder of what they left."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a read-only file system")
    for name in ("ro", "writable", "writable-err"):
        (tmp_path / name).mkdir()
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", NAMESPACE_SCRIPT, "sh",
                           str(tmp_path), str(MRECIST), str(CASES)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and not (tmp_path / "writable-err" / "into-out.rc").exists():
        pytest.skip(f"mount namespaces are not allowed here ({done.stderr.strip()[:200]})")
    assert not (tmp_path / "writable-err" / "broken.txt").exists()
    return tmp_path


def _result(base: Path, name: str) -> tuple[int, str]:
    folder = base / "writable-err"
    return int((folder / f"{name}.rc").read_text()), (folder / f"{name}.txt").read_text()


def test_an_output_folder_on_a_read_only_parent_is_refused_before_any_work(read_only_parent: Path) -> None:
    base = read_only_parent
    code, err = _result(base, "into-out")
    assert code == 2, err
    out = base / "ro" / "out"
    assert f"--out {out}: cannot write there ({base / 'ro'}: Read-only file system)" in err
    assert f"give a folder inside it, e.g. {out / 'results'}" in err
    assert "nothing was assessed" in err and "assessed 6" not in err

    code, err = _result(base, "new")  # a new folder on the read-only file system: no suggestion
    assert code == 2 and "Read-only file system" in err and "give a folder inside it" not in err

    # The suggested folder works, and nothing else was left in the writable folder.
    code, err = _result(base, "inside")
    assert code == 0, err
    writable = base / "writable"
    assert sorted(os.listdir(writable)) == ["results"]
    assert {"subjects.csv", "timepoints.csv", "assessment.json"} <= set(os.listdir(writable / "results"))
