"""The property tests explore the same examples in every CI run and random ones locally
(tests/conftest.py registers the profiles; ``.ci/run`` and ``make test`` set ``CI``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import settings

ROOT = Path(__file__).parent.parent


def test_the_loaded_profile_follows_the_environment() -> None:
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    chosen = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if ci else "dev")
    profile = settings.get_profile(chosen)
    for name in ("derandomize", "database", "deadline", "print_blob"):
        assert getattr(settings.default, name) == getattr(profile, name), name
    assert settings.default.deadline is None


def test_the_ci_profile_is_derandomised_and_writes_no_database() -> None:
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None and ci.deadline is None
    assert not settings.get_profile("dev").derandomize


def test_ci_and_make_test_set_ci() -> None:
    assert 'export CI="${CI:-true}"' in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    dry = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "CI": ""}).stdout
    assert "CI=${CI:-1}" in dry and "pytest" in dry


def test_a_ci_run_sees_the_same_examples_twice(tmp_path: Path) -> None:
    """Two runs under CI draw the same values (the conftest's profile, loaded as in CI)."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "from hypothesis import given, settings, strategies as st\n"
        "SEEN = []\n"
        "@settings(max_examples=20)\n"
        "@given(st.integers())\n"
        "def test_draw(x):\n"
        "    SEEN.append(x)\n"
        "def test_zz_print():\n"
        "    print('SEEN', SEEN)\n", encoding="utf-8")
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"),
                                          encoding="utf-8")

    def run() -> str:
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-p", "no:pytest-qt",
                              "-p", "no:napari", str(probe)],
                             cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "CI": "true"})
        assert out.returncode == 0, out.stdout + out.stderr
        return next(line for line in out.stdout.splitlines() if "SEEN" in line)

    assert run() == run()
