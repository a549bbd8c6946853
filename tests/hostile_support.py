"""Helpers shared by the hostile-input tests (issue 8): the CLI in a bounded subprocess.

Inputs that used to hang (``1e1000000`` turned into an integer, a FIFO opened for reading, a
100,000,000-frame header) are run in a child process with a timeout, so a regression fails the
test instead of hanging the suite.  The timeout bounds a hang; it is not a timing assertion.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HOSTILE = Path(__file__).parent / "hostile"
# Generous: the child imports the toolkit (about a second) and the machines are shared.
HANG_LIMIT_S = 120


def run_cli(args: Sequence[str], *, timeout: float = HANG_LIMIT_S, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    """``mrecist ARGS`` in a child process; fails the test (TimeoutExpired) if it hangs."""
    code = "import sys; from mrecist_tool.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return run_python(code, args, timeout=timeout, cwd=cwd)


def run_python(code: str, args: Sequence[str] = (), *, timeout: float = HANG_LIMIT_S,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONUTF8="1")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, encoding="utf-8", errors="backslashreplace",
                          timeout=timeout, env=env, cwd=cwd, check=False)
