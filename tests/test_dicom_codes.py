"""The codes of our SR and SEG (issue 12 item 1): ``docs/dicom-codes.md`` lists exactly the private
codes the writers use, every standard code is the one PS3.16 defines (pydicom's copy of the
PS3.16 tables is the independent reference), and ``dciodvfy`` warns about the private scheme
and nothing else.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.sr import _concepts_dict

from mrecist_tool.cli.main import main
from mrecist_tool.exchange import codes as K

DOC = Path(__file__).parents[1] / "docs" / "dicom-codes.md"
PRIVATE_WARNING = "Warning - Unrecognized defined term <99MRECIST> for value 1 of attribute <Coding Scheme Designator>"
# Concepts of TID 1500 / TID 1502 themselves (highdicom writes them too) that pydicom's
# dictionary, built from the context groups, does not list.
TEMPLATE_ONLY = {("C2348792", "UMLS"), ("C0034375", "UMLS")}


def _written_concepts() -> list[tuple[str, K.Concept]]:
    out = []
    for name, value in vars(K).items():
        if name.startswith(("_", "LEGACY")):
            continue
        if isinstance(value, K.Concept):
            out.append((name, value))
        elif isinstance(value, dict):
            out.extend((name, v) for v in value.values() if isinstance(v, K.Concept))
    return out


def test_the_document_lists_exactly_the_private_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Private codes still written", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z0-9]+)` \| ([^|]+?) \|", section, flags=re.M)
    assert len(rows) == len({code for code, _ in rows}), "a private code is listed twice"
    assert {(code, K.PRIVATE_SCHEME): meaning for code, meaning in rows} == K.private_codes()


def test_standard_codes_are_ps3_16s_and_documented() -> None:
    known: dict[tuple[str, str], set[str]] = {}
    for scheme, table in _concepts_dict.concepts.items():
        for entries in table.values():
            for code, (meaning, _cids) in entries.items():
                known.setdefault((code, scheme), set()).add(meaning.lower())
    doc = DOC.read_text(encoding="utf-8")
    for name, concept in _written_concepts():
        if concept.scheme == K.PRIVATE_SCHEME:
            continue
        assert f"`{concept.value}`" in doc or concept.value in doc, f"{name} {concept} not in {DOC.name}"
        if concept.scheme == "UCUM" or concept.key in TEMPLATE_ONLY:
            continue
        meanings = known.get(concept.key)
        assert meanings is not None, f"{name}: {concept} is not a PS3.16 code"
        ours = concept.meaning.lower()
        assert ours in meanings or any(m.startswith(ours + " (") for m in meanings), (
            f"{name}: {concept.value} means {sorted(meanings)}, not {concept.meaning!r}")


@pytest.fixture(scope="module")
def srs(generated_subject: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("codes")
    case, dicom = str(generated_subject), str(generated_subject.parent / "dicom")
    seg = out / "bl_seg.dcm"
    assert main(["export", "seg", case, "--timepoint", "BL", "--dicom", dicom, "--out", str(seg)]) == 0
    files = []
    for tp in ("BL", "FU1", "FU2"):
        files.append(out / f"{tp}.dcm")
        extra = ["--seg", str(seg)] if tp == "BL" else []
        assert main(["export", "sr", case, "--timepoint", tp, "--dicom", dicom, *extra,
                     "--out", str(files[-1])]) == 0
    return files


def _private_uses(ds: Any) -> int:
    return sum(1 for e in ds.iterall() if e.keyword == "CodingSchemeDesignator" and e.value == K.PRIVATE_SCHEME)


def test_dciodvfy_warns_only_about_the_documented_private_codes(srs: list[Path]) -> None:
    exe = shutil.which("dciodvfy")
    if exe is None:
        pytest.fail("dciodvfy (dicom3tools) is not installed; the Makefile's system-deps installs it")
    for path in srs:
        run = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=120)
        lines = [ln.strip() for ln in (run.stdout + run.stderr).splitlines() if ln.strip()]
        problems = [ln for ln in lines if ln.startswith(("Error", "Warning")) and ln != PRIVATE_WARNING]
        assert problems == [], f"{path.name}: {problems}"
        ds = pydicom.dcmread(path)
        assert lines.count(PRIVATE_WARNING) == _private_uses(ds)
        used = {(str(item.CodeValue), K.PRIVATE_SCHEME) for item in _coded_items(ds)
                if item.get("CodingSchemeDesignator") == K.PRIVATE_SCHEME and "CodeValue" in item}
        assert used and used <= set(K.private_codes())


def _coded_items(ds: Any) -> list[Any]:
    out = []
    for elem in ds.iterall():
        if elem.VR == "SQ":
            out.extend(item for item in elem.value if "CodingSchemeDesignator" in item)
    return out
