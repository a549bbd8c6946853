"""Byte-level fuzzing of the case-file reader and the DICOM header reader (issue 8).

Run by ``tests/test_hostile_fuzz.py`` in a child process::

    python tests/hostile/fuzz_child.py casefile|dicom EXAMPLES WORKDIR

Hypothesis mutates the bytes of valid files (flips, overwrites with hostile tokens such as
``1e1000000``, ``"\\ud800"``, ``NaN`` or a length of 0xFFFFFFFF, insertions, deletions,
truncation), derandomized so every run tries the same inputs.  Each example must end in a
result or a refusal of the toolkit's own kind -- a located case-file problem, a ``DicomError``
-- and:

- never raise anything else (a traceback);
- never hang: a watchdog (``faulthandler.dump_traceback_later``, which runs without the GIL and
  so also stops a long C loop such as ``int()`` of ``1e1000000``) ends the process after
  :data:`EXAMPLE_TIMEOUT_S` on any one example;
- never allocate beyond :data:`PEAK_LIMIT_MB` (``tracemalloc``'s peak for the example).

On failure hypothesis prints the smallest failing input and the process exits non-zero.
"""

from __future__ import annotations

import faulthandler
import sys
import tracemalloc
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLE_TIMEOUT_S = 20.0  # generous on a loaded machine; a hang is minutes
PEAK_LIMIT_MB = 48.0
HERE = Path(__file__).parent

JSON_TOKENS = [
    b"null", b"true", b"[]", b"{}", b'""', b"0", b"-0", b"1e1000000", b"-1e999999999",
    b"1e-999999999", b"9" * 5000, b"0." + b"0" * 200 + b"1", b"NaN", b"-Infinity",
    b'"\\ud800"', b'"\\udfff"', b'"\\u0000"', b'"' + b"a" * 5000 + b'"', b"[" * 80,
    b'{"a":' * 80, b'"masks/../../x"', b'"-5-10"', b'"no"', b'"5"', b"\xff\xfe", b"\x00",
    b'"format": "mrecist-case"', b"\xef\xbb\xbf",
]
DICOM_TOKENS = [
    b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x10", b"\x00\x00\x00\x00",
    b"\xff\xff", b"\x00\x00", b"NaN ", b"inf ", b"-inf", b"1e400 ", b"1e12", b"-1\\-1",
    b"0\\0 ", b"100000000 ", b"\xfe\xff\x00\xe0", b"\xfe\xff\xdd\xe0", b"\xe0\x7f\x10\x00",
    b"OB\x00\x00", b"SQ\x00\x00", b"UN\x00\x00", b"DICM",
]


def mutations(seed: bytes, tokens: list[bytes]) -> st.SearchStrategy[bytes]:
    """Bytes of ``seed`` after 1-6 random edits."""
    size = len(seed)
    edit = st.one_of(
        st.tuples(st.just("flip"), st.integers(0, size - 1), st.integers(1, 255)),
        st.tuples(st.just("put"), st.integers(0, size - 1), st.sampled_from(tokens)),
        st.tuples(st.just("insert"), st.integers(0, size), st.sampled_from(tokens)),
        st.tuples(st.just("delete"), st.integers(0, size - 1), st.integers(1, 64)),
        st.tuples(st.just("cut"), st.integers(0, size), st.just(0)),
        st.tuples(st.just("bytes"), st.integers(0, size - 1), st.binary(min_size=1, max_size=8)),
    )

    def apply(edits: list[tuple[str, int, Any]]) -> bytes:
        data = bytearray(seed)
        for op, pos, arg in edits:
            pos = min(pos, len(data))
            if op == "flip" and pos < len(data):
                data[pos] ^= arg
            elif op in ("put", "bytes"):
                data[pos:pos + len(arg)] = arg
            elif op == "insert":
                data[pos:pos] = arg
            elif op == "delete":
                del data[pos:pos + arg]
            elif op == "cut":
                del data[pos:]
        return bytes(data)

    return st.lists(edit, min_size=1, max_size=6).map(apply)


class Bounded:
    """One example under the watchdog and tracemalloc."""

    def __enter__(self) -> Bounded:
        faulthandler.dump_traceback_later(EXAMPLE_TIMEOUT_S, exit=True)
        tracemalloc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        faulthandler.cancel_dump_traceback_later()
        if exc[0] is None:
            assert peak < PEAK_LIMIT_MB, f"allocated {peak:.0f} MB for one input"


# -- case files ---------------------------------------------------------------------------------


def fuzz_casefiles(examples: int, work: Path) -> None:
    import contextlib
    import io

    from mrecist_tool.casefile import validate_file
    from mrecist_tool.cli.main import main

    valid = HERE.parent / "malformed" / "valid"
    seeds = [(valid / name).read_bytes() for name in ("example.json", "rich.json")]
    path = work / "case.json"
    out = work / "out"

    def check(data: bytes) -> None:
        path.write_bytes(data)
        with Bounded():
            problems = validate_file(path)
            for p in problems:
                assert p.path.startswith("$"), p
                str(p).encode("utf-8")  # every message can be printed and written
            if any(p.severity == "error" for p in problems):
                return
            # Accepted: the whole assess path must then work, tables written and readable.
            text = io.StringIO()
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                code = main(["assess", str(path), "--out", str(out), "--print", "never"])
            assert code == 0 and "internal error" not in text.getvalue(), text.getvalue()
            for table in out.iterdir():
                table.read_bytes().decode("utf-8")

    strategy = st.one_of(*(mutations(seed, JSON_TOKENS) for seed in seeds))
    run(check, strategy, examples)


# -- DICOM headers ------------------------------------------------------------------------------


def dicom_seeds(work: Path) -> list[bytes]:
    sys.path.insert(0, str(HERE / "dicom"))
    import make_corpus

    slice_ = make_corpus.ct_slice("fuzz", 0)
    slice_.Rows = slice_.Columns = 4
    slice_.PixelData = bytes(range(32))
    plain = work / "seed_plain.dcm"
    slice_.save_as(plain, enforce_file_format=True)
    enhanced = make_corpus.enhanced_ct(work, "seed_enhanced", 2) / "ENHANCED.dcm"
    return [plain.read_bytes(), enhanced.read_bytes()]


def fuzz_dicom(examples: int, work: Path) -> None:
    from mrecist_tool.dicom import FileHeader, read_header, read_series
    from mrecist_tool.errors import DicomError

    seeds = dicom_seeds(work)
    path = work / "fuzz.dcm"

    def check(data: bytes) -> None:
        path.write_bytes(data)
        with Bounded():
            try:
                header = read_header(path)
            except DicomError as exc:
                str(exc).encode("utf-8")
                return
            assert isinstance(header, FileHeader)
            try:
                volume = read_series(path)
            except DicomError:
                return
            assert volume.array.ndim == 3

    strategy = st.one_of(*(mutations(seed, DICOM_TOKENS) for seed in seeds))
    run(check, strategy, examples)


def run(check: Any, strategy: st.SearchStrategy[bytes], examples: int) -> None:
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(strategy)
    def fuzz(data: bytes) -> None:
        check(data)

    fuzz()


if __name__ == "__main__":
    target, n, work_dir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    work_dir.mkdir(parents=True, exist_ok=True)
    import warnings

    warnings.simplefilter("ignore")  # pydicom's value warnings: the fuzzer means to cause them
    {"casefile": fuzz_casefiles, "dicom": fuzz_dicom}[target](n, work_dir)
    print(f"{target}: {n} examples, no traceback, hang or runaway allocation")
