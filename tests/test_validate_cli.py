"""``mrecist validate``: every file of the bad-input corpus is refused with a located message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mrecist_tool.casefile import MAX_FILE_BYTES
from mrecist_tool.cli.main import main

CORPUS = Path(__file__).parent / "malformed"
VALID = CORPUS / "valid"
EXPECTED: dict[str, list[list[str]]] = json.loads((CORPUS / "expected.json").read_text("utf-8"))


def test_corpus_is_big_enough_and_complete() -> None:
    assert len(EXPECTED) >= 35
    on_disk = {p.name for p in CORPUS.glob("*.json")} - {"expected.json"}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_malformed_file_is_refused_with_path_and_reason(
        name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / name
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    lines = out.splitlines()
    for json_path, fragment in EXPECTED[name]:
        prefix = f"{path}: {json_path}: "
        hits = [line for line in lines if line.startswith(prefix)]
        assert any(fragment in line for line in hits), (
            f"expected {prefix!r} with {fragment!r} in:\n{out}")
    assert "1 case file checked: 0 valid, 1 refused" in out


def test_folder_of_bad_files_and_one_good_file(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    for name in EXPECTED:
        shutil.copy(CORPUS / name, tmp_path / name)
    shutil.copy(VALID / "example.json", tmp_path / "zz_good.json")
    code = main(["validate", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    assert f"OK {tmp_path / 'zz_good.json'}" in out
    assert out.count("OK ") == 1
    # Files without the format marker but broken are still reported, never silently skipped.
    for name in ("not_json.json", "empty.json", "binary_garbage.json", "utf16.json",
                 "deeply_nested.json", "top_level_list.json"):
        assert f"{tmp_path / name}: $:" in out, name


def test_valid_files_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(VALID)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[-1] == "2 case files checked: 2 valid, 0 refused"


def test_warnings_are_prefixed_and_quiet_hides_them(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((VALID / "example.json").read_text("utf-8"))
    data["lesions"][0]["sight"] = "segment VII"
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert f"warning: {path}: $.lesions[0].sight: unknown key 'sight'" in out
    assert f"OK {path}" in out
    assert "1 warning" in out
    assert main(["validate", "--quiet", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == ["1 case file checked: 1 valid, 0 refused, 1 warning"]


def test_criteria_option_checks_the_other_diameter(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--criteria", "RECIST1.1", str(VALID / "example.json")])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "$.observations[0].longest_diameter_mm: missing" in out


def test_missing_path_and_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.json")]) == 1
    out, _ = capsys.readouterr()
    assert "no such file or folder" in out
    assert main(["validate", str(tmp_path)]) == 1  # an empty folder: nothing to check
    out, _ = capsys.readouterr()
    assert "no case files found" in out
    assert main(["validate"]) == 2
    assert main(["validate", "--criteria", "WHO", str(VALID)]) == 2
    capsys.readouterr()


def test_huge_file_is_refused_naming_the_limit(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:  # sparse: no 20 MiB written to the disk
        fh.write(b'{"format": "mrecist-case", "version": 1, "x-pad": "')
        fh.truncate(MAX_FILE_BYTES + 1)
    assert main(["validate", str(path)]) == 1
    out, _ = capsys.readouterr()
    assert f"{path}: $: " in out and "20 MiB" in out
    assert "Traceback" not in out


def test_huge_non_case_json_in_a_folder_is_skipped_without_parsing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "volume-index.json"
    with open(big, "wb") as fh:
        fh.write(b'{"format": "other", "data": "')
        fh.truncate(MAX_FILE_BYTES + 1)
    shutil.copy(VALID / "example.json", tmp_path / "c.json")
    assert main(["validate", str(tmp_path)]) == 0
    out, _ = capsys.readouterr()
    assert "volume-index" not in out


def test_unreadable_file_is_reported_not_raised(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import os

    path = tmp_path / "c.json"
    shutil.copy(VALID / "example.json", path)
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    os.chmod(path, 0)
    try:
        assert main(["validate", str(path)]) == 1
    finally:
        os.chmod(path, 0o600)
    out, _ = capsys.readouterr()
    assert "permission denied" in out
