"""Property-based fuzzing of the case-file reader and the DICOM header reader (issue 8).

Byte-level mutations of valid files (``tests/hostile/fuzz_child.py``), derandomized and with a
fixed number of examples so CI runs the same inputs in a bounded time (about ten seconds each on
a quiet machine).  Each runs in a child process: any traceback, any example running longer than
its watchdog, or any example allocating more than its limit fails the test, and hypothesis
prints the smallest failing input.  Run the child by hand with more examples to search further::

    .venv/bin/python tests/hostile/fuzz_child.py dicom 5000 /tmp/fuzz
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_support import HOSTILE, run_python

EXAMPLES = 250
CHILD = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


@pytest.mark.parametrize("target", ["casefile", "dicom"])
def test_byte_mutations_never_crash_hang_or_allocate_without_bound(target: str, tmp_path: Path) -> None:
    done = run_python(CHILD, [str(HOSTILE / "fuzz_child.py"), target, str(EXAMPLES), str(tmp_path)],
                      timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-6000:]
    assert f"{target}: {EXAMPLES} examples, no traceback, hang or runaway allocation" in done.stdout
