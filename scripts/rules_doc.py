"""Generate docs/rules.md from the rules reference (src/mrecist_tool/rules/reference.py).

Run ``make rules-doc`` (or ``.venv/bin/python scripts/rules_doc.py``) after changing a rule
text, a setting or a profile; tests/test_rules_reference.py fails while docs/rules.md differs.
The "Tests:" line of each rule lists the test files that name the rule ID at generation time.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "rules.md"


def test_texts(root: Path = ROOT) -> dict[str, str]:
    """Test files (relative names) and their text: every Python test module under tests/."""
    tests = root / "tests"
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(tests.rglob("*.py"))}


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from mrecist_tool.atomic import atomic_write_text
    from mrecist_tool.rules.reference import rules_markdown, tests_naming

    text = rules_markdown(tests_naming(test_texts()))
    atomic_write_text(OUT, text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
