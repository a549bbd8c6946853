"""The one writer (``mrecist_tool.atomic``): atomic files and folders, umask permissions, and a
scan proving that nothing else in the package writes files (issue 9)."""

from __future__ import annotations

import ast
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mrecist_tool.atomic import (
    atomic_write_bytes,
    atomic_write_text,
    atomic_write_with,
    recover_folder,
    remove_stale_temporaries,
    staged_folder,
)
from mrecist_tool.errors import SaveError

ROOT = Path(__file__).parent.parent
SOURCES = [ROOT / "src" / "mrecist_tool", ROOT / "plugins" / "napari" / "src"]
WRITER = ROOT / "src" / "mrecist_tool" / "atomic.py"


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_get_the_umask_permissions_not_0600(tmp_path: Path, umask_027: None) -> None:
    atomic_write_text(tmp_path / "a.csv", "x\n")
    atomic_write_bytes(tmp_path / "b.bin", b"\0")
    atomic_write_with(tmp_path / "c.nii.gz", lambda p: p.write_bytes(b"c"))
    assert [mode(tmp_path / n) for n in ("a.csv", "b.bin", "c.nii.gz")] == [0o640] * 3
    os.umask(0o002)
    atomic_write_text(tmp_path / "d.csv", "y\n")
    assert mode(tmp_path / "d.csv") == 0o664


def test_a_replaced_file_keeps_its_own_mode(tmp_path: Path, umask_027: None) -> None:
    path = tmp_path / "case.json"
    path.write_text("{}")
    path.chmod(0o600)
    atomic_write_text(path, '{"a": 1}')
    assert mode(path) == 0o600 and path.read_text() == '{"a": 1}'


def test_text_is_written_as_given_utf8(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "t.csv", "a,b\r\nü,\n")
    assert (tmp_path / "t.csv").read_bytes() == "a,b\r\nü,\n".encode()


def test_the_callback_sees_the_suffix_and_a_temporary_name(tmp_path: Path) -> None:
    seen: list[Path] = []
    atomic_write_with(tmp_path / "mask.nii.gz", lambda p: (seen.append(p), p.write_bytes(b"m")))
    assert seen[0].name.endswith(".nii.gz") and seen[0].name.startswith(".mask.nii.gz.")
    assert seen[0].parent == tmp_path and not seen[0].exists()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "report.dcm"
    path.write_bytes(b"old")

    def disk_full(p: Path) -> None:
        p.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(SaveError, match=r"report\.dcm: could not save \(No space left on device\); the previous file"):
        atomic_write_with(path, disk_full)
    assert path.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["report.dcm"]

    def simpleitk_failure(p: Path) -> None:
        p.write_bytes(b"half")
        raise RuntimeError("Exception thrown in SimpleITK ImageFileWriter_Execute: ...\nitk::ERROR: Could not write")

    with pytest.raises(SaveError, match="RuntimeError: itk::ERROR: Could not write"):
        atomic_write_with(path, simpleitk_failure)

    def bug(p: Path) -> None:
        p.write_bytes(b"half")
        raise KeyError("a defect, not a disk problem")

    with pytest.raises(KeyError):
        atomic_write_with(path, bug)
    assert path.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["report.dcm"]


def test_unwritable_places_and_text_are_save_errors(tmp_path: Path) -> None:
    with pytest.raises(SaveError, match="could not save"):
        atomic_write_text(tmp_path / "missing" / "a.csv", "x")
    atomic_write_text(tmp_path / "made" / "a.csv", "x", parents=True)
    with pytest.raises(SaveError, match="cannot be written as UTF-8"):
        atomic_write_text(tmp_path / "s.csv", "arm \ud800")
    assert not (tmp_path / "s.csv").exists()


def test_stale_temporaries_are_removed_by_name(tmp_path: Path) -> None:
    for name in (".subjects.csv.a1b2c3d4.tmp", ".lesions.csv.k9_x2q1z.tmp", ".m.nii.gz.0a0b0c0d.tmp.nii.gz",
                 "notes.tmp", ".hidden", "subjects.csv"):
        (tmp_path / name).write_text("x")
    removed = remove_stale_temporaries(tmp_path, lambda name: name != "lesions.csv")
    assert sorted(p.name for p in removed) == [".m.nii.gz.0a0b0c0d.tmp.nii.gz", ".subjects.csv.a1b2c3d4.tmp"]
    assert sorted(os.listdir(tmp_path)) == [".hidden", ".lesions.csv.k9_x2q1z.tmp", "notes.tmp", "subjects.csv"]


# -- folders ----------------------------------------------------------------------------------

OWNED = {"a.csv", "b.csv"}


def owned(name: str) -> bool:
    return name in OWNED


def test_a_staged_folder_replaces_the_owned_files_and_keeps_the_others(tmp_path: Path, umask_027: None) -> None:
    out = tmp_path / "out"
    with staged_folder(out, owned=owned) as stage:
        stage.add_text("a.csv", "a1")
        stage.add_text("b.csv", "b1")
    assert mode(out) == 0o750 and mode(out / "a.csv") == 0o640
    (out / "report").mkdir()
    (out / "report" / "r.html").write_text("mine")
    (out / "notes.txt").write_text("mine too")
    out.chmod(0o700)
    with staged_folder(out, owned=owned) as stage:
        stage.add_text("a.csv", "a2")  # b.csv is not part of the new set: it goes
    assert sorted(os.listdir(out)) == ["a.csv", "notes.txt", "report"]
    assert (out / "a.csv").read_text() == "a2" and (out / "report" / "r.html").read_text() == "mine"
    assert mode(out) == 0o700
    assert [n for n in os.listdir(tmp_path) if n != "out"] == []  # no staging folder left


def test_a_failure_while_staging_leaves_the_old_folder_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_folder(out, owned=owned) as stage:
        stage.add_text("a.csv", "a1")
    (out / "keep").mkdir()
    with pytest.raises(ZeroDivisionError), staged_folder(out, owned=owned) as stage:
        stage.add_text("a.csv", "a2")
        raise ZeroDivisionError
    assert sorted(os.listdir(out)) == ["a.csv", "keep"] and (out / "a.csv").read_text() == "a1"
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_a_link_to_the_folder_is_followed_not_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with staged_folder(tmp_path / "link", owned=owned) as stage:
        stage.add_text("a.csv", "a")
    assert (tmp_path / "link").is_symlink() and (real / "a.csv").read_text() == "a"


def test_recovery_puts_the_users_things_back_and_removes_stale_stages(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("old")
    (out / ".a.csv.12345678.tmp").write_text("half")
    # As a run killed after carrying the user's folder into its stage, before the switch:
    stale = tmp_path / ".out.0badc0de.staging"
    (stale / "report").mkdir(parents=True)
    (stale / "report" / "r.html").write_text("mine")
    (stale / "a.csv").write_text("new, unswitched")
    notes = recover_folder(out, owned)
    assert sorted(os.listdir(out)) == ["a.csv", "report"] and (out / "a.csv").read_text() == "old"
    assert (out / "report" / "r.html").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["out"] and len(notes) == 3


def test_a_stage_in_use_by_another_run_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_folder(out, owned=owned) as stage:
        stage.add_text("a.csv", "a")
        assert recover_folder(out, owned) == []  # our own stage is locked
        assert stage.path.exists()


# -- the scan ---------------------------------------------------------------------------------

WRITER_CALLS = {"atomic_write_with", "add_with", "write_new_file_with"}
LIBRARY_WRITES = {"savefig", "WriteImage", "save_as", "dcmwrite", "to_parquet", "to_excel", "to_feather",
                  "tofile", "savez", "savez_compressed", "imsave", "imwrite"}
ALWAYS_FORBIDDEN = {"write_text", "write_bytes", "mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile",
                    "SpooledTemporaryFile"}
MOVES = {("os", "replace"), ("os", "rename"), ("os", "renames"), ("shutil", "move"), ("shutil", "copy"),
         ("shutil", "copy2"), ("shutil", "copyfile"), ("shutil", "copytree"), ("np", "save"), ("numpy", "save")}
MEMORY = {"BytesIO", "StringIO", "DicomBytesIO"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _write_mode(call: ast.Call, position: int) -> bool:
    mode = call.args[position] if len(call.args) > position else next(
        (k.value for k in call.keywords if k.arg == "mode"), None)
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(c in mode.value for c in "wax+")


def _writes(tree: ast.Module) -> Iterator[tuple[int, str]]:
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    # Callables handed to the writer: lambdas and partials written inline, and named functions.
    handed: set[str] = set()
    inside_writer: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in WRITER_CALLS:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                for sub in ast.walk(arg):
                    inside_writer.add(sub)
                    if isinstance(sub, ast.Name):
                        handed.add(sub.id)
    memory: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _name(node.value.func) in MEMORY:
            memory.update(t.id for t in node.targets if isinstance(t, ast.Name))

    def handed_over(node: ast.AST) -> bool:
        if node in inside_writer:
            return True
        up = parents.get(node)
        while up is not None:
            if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef) and up.name in handed:
                return True
            up = parents.get(up)
        return False

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in LIBRARY_WRITES and not handed_over(node):
            call = parents.get(node)
            first = call.args[0] if isinstance(call, ast.Call) and call.func is node and call.args else None
            if isinstance(first, ast.Name) and first.id in memory:
                continue  # written to memory, e.g. pydicom encoding into a BytesIO
            yield node.lineno, f".{node.attr}(...) not handed to the writer"
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        owner = _name(node.func.value) if isinstance(node.func, ast.Attribute) else ""
        if name in ALWAYS_FORBIDDEN:
            yield node.lineno, f"{name}(...)"
        elif name == "fdopen" and _write_mode(node, 1):
            yield node.lineno, "os.fdopen(..., 'w')"
        elif (owner, name) in MOVES:
            yield node.lineno, f"{owner}.{name}(...)"
        elif name == "open" and owner in ("", "io", "builtins") and _write_mode(node, 1):
            yield node.lineno, "open(..., 'w')"
        elif name == "open" and owner not in ("", "io", "builtins", "os") and _write_mode(node, 0):
            yield node.lineno, "Path.open('w')"
        elif name == "open" and owner == "os" and any(
            isinstance(n, ast.Attribute) and n.attr in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
            for n in ast.walk(node)
        ):
            yield node.lineno, "os.open(..., O_WRONLY)"
        elif name == "to_csv" and (node.args or any(k.arg == "path_or_buf" for k in node.keywords)):
            yield node.lineno, "to_csv(path)"


def test_every_file_the_package_writes_goes_through_the_writer() -> None:
    offences = []
    files = [p for base in SOURCES for p in sorted(base.rglob("*.py"))]
    assert len(files) > 50
    for path in files:
        if path == WRITER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        offences += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in _writes(tree)]
    assert offences == [], "files written outside mrecist_tool.atomic:\n" + "\n".join(offences)


def test_the_scan_finds_what_it_looks_for() -> None:
    bad = ast.parse(
        "import os, shutil, tempfile\n"
        "open(p, 'w')\nopen(p, mode='ab')\np.open('w')\nos.open(p, os.O_WRONLY | os.O_CREAT)\n"
        "tempfile.NamedTemporaryFile()\ntempfile.mkstemp()\np.write_text('x')\nos.replace(a, b)\n"
        "shutil.copy(a, b)\nfig.savefig(p)\nframe.to_csv(p)\nds.save_as(p)\nos.fdopen(fd, 'wb')\n"
    )
    assert len(list(_writes(bad))) == 13
    good = ast.parse(
        "import io\nopen(p)\nopen(p, 'rb')\np.open()\nframe.to_csv(index=False)\nos.fdopen(fd, 'rb')\n"
        "atomic_write_with(p, lambda t: fig.savefig(t))\natomic_write_with(p, partial(fig.savefig, dpi=1))\n"
        "def _w(path):\n    ds.save_as(path)\natomic_write_with(p, _w)\n"
        "def enc(ds):\n    buf = io.BytesIO()\n    ds.save_as(buf)\n"
    )
    assert list(_writes(good)) == []


def test_sdtm_tables_and_parquet_copies_come_out_with_the_umask_permissions(tmp_path: Path, umask_027: None) -> None:
    from mrecist_tool.cli.main import main

    cases = ROOT / "sample_data" / "cases"
    assert main(["export", "sdtm", str(cases), "--out", str(tmp_path / "sdtm"), "--studyid", "S"]) == 0
    sdtm_files = [f"{d}.{ext}" for d in ("dm", "ds", "tu", "supptu", "tr", "rs") for ext in ("csv", "xpt")]
    assert {p.name: mode(p) for p in (tmp_path / "sdtm").iterdir()} == {
        n: 0o640 for n in (*sdtm_files, "evaluators.csv")}
    assert main(["assess", str(cases), "--out", str(tmp_path / "res"), "--parquet", "--print", "never"]) == 0
    modes = {p.name: mode(p) for p in (tmp_path / "res").iterdir()}
    assert len(modes) == 11 and set(modes.values()) == {0o640}  # five tables x (csv, parquet) + json
