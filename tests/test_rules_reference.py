"""docs/rules.md covers every rule ID the code uses, with an anchor, and is generated, not edited."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mrecist_tool.rules.criteria import PARAMS, Settings
from mrecist_tool.rules.reference import (
    DECISIONS,
    RULE_ID_RE,
    RULES,
    RULES_BY_ID,
    glossary_html,
    rule_anchor,
    rule_ids_in,
    rule_ids_named_in_test,
    rule_link,
    rules_markdown,
    settings_of,
    settings_table,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "rules.md"
SOURCES = [ROOT / "src", ROOT / "plugins" / "napari" / "src"]


def _source_texts() -> dict[str, str]:
    return {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
            for base in SOURCES for p in sorted(base.rglob("*.py"))}


def _doc_tests(doc: str) -> dict[str, list[str]]:
    """The "Tests:" line of each rule in the document."""
    out: dict[str, list[str]] = {}
    current = None
    for line in doc.splitlines():
        m = re.match(r'<a id="rule-([^"]+)"></a>', line)
        if m:
            current = m.group(1)
        elif line.startswith("Tests: ") and current:
            out[current] = re.findall(r"`([^`]+)`", line)
    return out


def test_every_rule_id_in_the_source_is_in_docs_rules_md_with_an_anchor() -> None:
    doc = DOC.read_text(encoding="utf-8")
    used: dict[str, str] = {}
    for name, text in _source_texts().items():
        for rule_id in rule_ids_in(text):
            used.setdefault(rule_id, name)
    missing = {rid: where for rid, where in used.items()
               if f'<a id="{rule_anchor(rid)}"></a>' not in doc}
    assert not missing, f"rule IDs used in the code but not in docs/rules.md: {missing}"
    assert len(used) > 100  # the scan found the code's rule IDs


def test_every_section_11_decision_named_in_the_source_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    named = {int(n) for text in _source_texts().values() for n in re.findall(r"§11\.(\d+)", text)}
    assert named <= set(DECISIONS)
    for n in DECISIONS:
        assert f'<a id="rule-s11-{n}"></a>' in doc


def test_docs_rules_md_is_generated_from_the_reference_and_the_settings() -> None:
    """Edit src/mrecist_tool/rules/reference.py or criteria.py, then run `make rules-doc`."""
    doc = DOC.read_text(encoding="utf-8")
    assert doc == rules_markdown(_doc_tests(doc)), "docs/rules.md is stale: run `make rules-doc`"


def test_the_tests_listed_for_a_rule_exist_and_name_it() -> None:
    doc = DOC.read_text(encoding="utf-8")
    listed = _doc_tests(doc)
    assert len(listed) > 50
    for rule_id, files in listed.items():
        for name in files:
            path = ROOT / name
            assert path.is_file(), f"{rule_id}: {name} does not exist (run `make rules-doc`)"
            assert rule_id in rule_ids_named_in_test(path.read_text(encoding="utf-8")), (rule_id, name)


def test_settings_table_lists_every_setting_with_its_default_and_an_anchor() -> None:
    table = settings_table()
    rows = [line for line in table.splitlines()[2:]]
    assert len(rows) == len(PARAMS)
    for name, row in zip(PARAMS, rows, strict=True):
        assert row.startswith(f'| <a id="setting-{name}"></a>`{name}` |')
    ltp = next(r for r in rows if "`ltp_max_distance_mm`" in r)
    assert f"| {Settings().ltp_max_distance_mm} |" in ltp  # 10, not 1E+1
    pd_abs = next(r for r in rows if "`pd_abs_min_mm`" in r)
    assert "0 (mRECIST), 5 (RECIST 1.1)" in pd_abs
    schedule = next(r for r in rows if "`assessment_schedule`" in r)
    assert "every 90 to day 730, every 180" in schedule


def test_every_setting_names_rules_that_the_reference_documents() -> None:
    for name, spec in PARAMS.items():
        ids = rule_ids_in(spec.rule)
        assert ids <= RULES_BY_ID.keys(), (name, spec.rule)
        for rule_id in ids:
            assert name in settings_of(rule_id)


def test_entries_are_complete_and_unique() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for r in RULES:
        assert RULE_ID_RE.fullmatch(r.id), r.id
        assert set(r.flag.split("/")) <= set("VARSD"), r.id
        assert r.title and len(r.text) > 20, r.id


def test_rule_link_and_glossary_use_the_same_anchor() -> None:
    assert rule_link("MR-T2") == '<a href="#rule-MR-T2">MR-T2</a>'
    assert rule_link("PRE-2", "docs/rules.md") == '<a href="docs/rules.md#rule-PRE-2">PRE-2</a>'
    assert rule_anchor("§11.13") == "rule-s11-13"
    glossary = glossary_html(["PRE-2", "MR-T2", "not-a-rule"])
    assert glossary.index('id="rule-MR-T2"') < glossary.index('id="rule-PRE-2"')
    assert "not-a-rule" not in glossary


def test_the_generator_script_writes_the_same_file(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import rules_doc
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    from mrecist_tool.rules.reference import tests_naming

    generated = rules_markdown(tests_naming(rules_doc.test_texts(ROOT)))
    # Same rules, settings and anchors; the test lists may have grown since the last generation.
    strip = re.compile(r"^Tests: .*\n\n", re.M)
    assert strip.sub("", generated) == strip.sub("", DOC.read_text(encoding="utf-8"))


def test_rule_ids_in_an_html_page_link_to_a_glossary_of_the_rules_cited() -> None:
    from mrecist_tool.rules.reference import link_rules_in_html

    page = ("<html><head><title>MR-T2</title><style>.x{}</style></head><body>"
            "<p>Origin (END-GEN-1); see STAT-7 and <code>MR-T3</code>; not a rule: ABC-1.</p>"
            f"<h3>ORR ({rule_link('PRE-2')})</h3></body></html>")
    out = link_rules_in_html(page)
    assert '<a href="#rule-END-GEN-1">END-GEN-1</a>' in out
    assert '<a href="#rule-STAT-7">STAT-7</a>' in out
    assert "<code>MR-T3</code>" in out and "<title>MR-T2</title>" in out
    assert out.count('href="#rule-PRE-2"') == 1  # an existing link is not linked again
    glossary = out[out.index('id="sec-rules"'):]
    for rule_id in ("END-GEN-1", "STAT-7", "PRE-2"):
        assert f'<dt id="rule-{rule_id}">' in glossary
    assert 'id="rule-MR-T3"' not in glossary and out.endswith("</body></html>")


def test_rule_ids_in_test_names_are_recognised() -> None:
    text = ("def test_MR_T6_nadir(): ...\ndef test_GEN3_zero(): ...\n"
            "def test_11_14_END_GEN_4_gap(): ...\ndef test_PRE_1_window(): ...\n"
            "def test_MR_T4_pd_abs_min(): ...\nPREVIOUS MRECIST GENERAL 'REC-NE2'")
    assert rule_ids_named_in_test(text) == {"MR-T6", "GEN-3", "END-GEN-4", "PRE-1", "MR-T4", "REC-NE2"}
