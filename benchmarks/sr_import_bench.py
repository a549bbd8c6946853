"""Benchmark: ``mrecist import sr`` of a 3,000-group SR beside a 300-group one (issue 8 item 12).

Builds a small CT series and a one-lesion case, writes the case's TID 1500 SR with our writer,
then makes two reports from it by repeating its measurement groups with new tracking ids and
UIDs (what a report of many lesions looks like to the reader): 300 and 3,000 lesion groups.
For each it times, in the same process and interleaved (median of ``--repeats``):

* the baseline: ``pydicom.dcmread`` of the file.  pydicom parses sequences lazily, so this reads
  the bytes and the top level only; the second baseline, ``dcmread`` plus a walk over every
  element (``Dataset.iterall``), makes pydicom parse the whole content tree: the floor for any
  reader built on pydicom;
* ``read_sr``: our walk of the content tree that locates every problem;
* the whole import: :func:`~mrecist_tool.exchange.sr_import.import_reports` into a new case
  (read, merge on a copy, check the merged case with the case-file checks).

Printed: the times, the import's time per group, the ratios import / dcmread and import /
(dcmread + walk) (the import's cost above parsing the file), and the scaling ratio
time(3,000) / time(300), which is 10 for an import that scales linearly (the issue measured
83 s for 3,000 groups before).

Run: ``.venv/bin/python benchmarks/sr_import_bench.py [--repeats 3] [--workdir DIR]``
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

SIZES = (300, 3000)


def _series(folder: Path) -> Path:
    from mrecist_tool.dicom.testing import write_series

    return write_series(folder / "dicom", n_slices=8, spacing=2.5, rows=32, columns=32,
                        study_date="20210225", description="Arterial", series_number=3).folder


def _template_sr(work: Path) -> Path:
    """Our SR of a one-lesion case measured with a line on the series."""
    from mrecist_tool.casefile import case_from_dict
    from mrecist_tool.dicom import scan
    from mrecist_tool.exchange.dicom_sr import write_sr

    dicom = _series(work)
    info = scan(dicom).loadable_series[0]
    from mrecist_tool.dicom import read_series

    vol = read_series(dicom, series_uid=info.series_uid)
    centre = vol.affine @ [4, 16, 16, 1]
    end = vol.affine @ [4, 16, 24, 1]
    case = case_from_dict({
        "format": "mrecist-case", "version": 1, "subject": {"id": "BENCH-1"},
        "timepoints": [{"id": "BL", "date": "2021-02-25", "baseline": True,
                        "study_uid": info.study_uid,
                        "series": [{"uid": info.series_uid, "phase": "arterial"}]}],
        "lesions": [{"id": "L1", "role": "target", "organ": "liver"}],
        "observations": [{"lesion": "L1", "timepoint": "BL", "status": "measured",
                          "viable_diameter_mm": Decimal("21.5"),
                          "geometry": {"series_uid": info.series_uid,
                                       "line": [[round(float(v), 3) for v in centre[:3]],
                                                [round(float(v), 3) for v in end[:3]]]}}],
    }, file=work / "case.json")
    out = work / "template.dcm"
    write_sr(case, "BL", dicom, out)
    return out


def _many(template: Path, n: int, out: Path) -> Path:
    """``template`` with its lesion's groups repeated ``n`` times as lesions L1..Ln."""
    import pydicom
    from pydicom.uid import generate_uid

    ds = pydicom.dcmread(template)
    container = next(i for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "126010")
    groups = list(container.ContentSequence)
    new = []
    for k in range(1, n + 1):
        uid = generate_uid()
        for g in groups:
            g2 = copy.deepcopy(g)
            for item in g2.ContentSequence:
                code = item.ConceptNameCodeSequence[0].CodeValue
                if code == "112039":
                    item.TextValue = f"L{k}"
                elif code == "112040":
                    item.UID = uid
            new.append(g2)
    container.ContentSequence = new
    ds.save_as(out, enforce_file_format=True)
    return out


def _time(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)

    import pydicom

    from mrecist_tool.exchange.sr_import import import_reports, read_sr

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        template = _template_sr(work)
        files = {n: _many(template, n, work / f"sr_{n}.dcm") for n in SIZES}
        times: dict[tuple[str, int], list[float]] = {}
        for _ in range(args.repeats):
            for n, path in files.items():
                times.setdefault(("dcmread", n), []).append(_time(lambda p=path: pydicom.dcmread(p)))

                def walk(p: Path = path) -> None:
                    for _ in pydicom.dcmread(p).iterall():
                        pass

                times.setdefault(("dcmread+walk", n), []).append(_time(walk))
                times.setdefault(("read_sr", n), []).append(_time(lambda p=path: read_sr(p)))

                def whole(p: Path = path, n: int = n) -> None:
                    result = import_reports([p], subject_id="BENCH-1")
                    assert not result.refused and len(result.data["lesions"]) == n, result.errors[:3]

                times.setdefault(("import", n), []).append(_time(whole))
        med = {k: statistics.median(v) for k, v in times.items()}
        size = {n: files[n].stat().st_size / 1e6 for n in SIZES}
        print(f"SR import benchmark ({args.repeats} repeats, median seconds)")
        print(f"{'groups':>7} {'file MB':>8} {'dcmread':>9} {'+walk':>9} {'read_sr':>9} {'import':>9} "
              f"{'import/dcmread':>15} {'import/(+walk)':>15} {'ms/group':>9}")
        for n in SIZES:
            print(f"{n:>7} {size[n]:>8.2f} {med[('dcmread', n)]:>9.3f} {med[('dcmread+walk', n)]:>9.3f} "
                  f"{med[('read_sr', n)]:>9.3f} {med[('import', n)]:>9.3f} "
                  f"{med[('import', n)] / med[('dcmread', n)]:>15.1f} "
                  f"{med[('import', n)] / med[('dcmread+walk', n)]:>15.2f} {1000 * med[('import', n)] / n:>9.3f}")
        small, big = SIZES
        for what in ("dcmread", "dcmread+walk", "read_sr", "import"):
            print(f"scaling {what}: time({big}) / time({small}) = "
                  f"{med[(what, big)] / med[(what, small)]:.1f} (linear: {big / small:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
