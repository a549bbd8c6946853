"""The report as a committee opens it: headless Chromium, screenshots, and the tables read
back from the rendered page (issue 14: the settings table equals assessment.json; the
disposition adds up to the randomised total; the blinded report shows no arm).

Chromium is Debian's ``chromium``, started headless with a fresh profile and no network
services; a missing Chromium is a failure, not a skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from mrecist_tool.analysis import disposition
from mrecist_tool.cli.main import main
from mrecist_tool.sample.cohort import generate_cohort

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
N = 60
ARMS = ("perioperative", "postoperative")


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    assert Path(CHROMIUM).exists(), "chromium is required (apt-get install chromium)"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={profile}", "--hide-scrollbars", *args],
        capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    cases = root / "cases"
    cases.mkdir()
    for i, case in enumerate(generate_cohort(N, seed=5)):
        if i % 4 == 0:  # a second combination of settings, in a quarter of the cases
            case["settings"] = {"ltp_max_distance_mm": 5}
        (cases / f"{case['subject']['id']}.json").write_text(json.dumps(case), encoding="utf-8")
    assert main(["assess", str(cases), "--out", str(root / "assessed"), "--print", "never"]) == 0
    assert main(["analyze", str(root / "assessed"), "--out", str(root / "report"), "-q",
                 "--blinded"]) == 0
    return root


class _Tables(HTMLParser):
    """Collects the cells (text and data-* attributes) of every table with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[dict[str, Any]]]] = {}
        self._table: str | None = None
        self._cell: dict[str, Any] | None = None
        self._row_attrs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif self._table and tag == "tr":
            self._row_attrs = a
            self.tables[self._table].append([])
        elif self._table and tag in ("td", "th"):
            self._cell = {"text": "", **a, **{f"row-{k}": v for k, v in self._row_attrs.items()}}

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell["text"] += data


def _rendered(page: Path, profile: Path) -> _Tables:
    done = _chromium(["--virtual-time-budget=10000", "--dump-dom", page.as_uri()], profile)
    assert "<table" in done.stdout, done.stderr[-2000:]
    parser = _Tables()
    parser.feed(done.stdout)
    return parser


def test_screenshots_of_the_report_and_the_blinded_report(report: Path, tmp_path: Path) -> None:
    from matplotlib.image import imread

    for name in ("report.html", "report-blinded.html"):
        shot = tmp_path / f"{name}.png"
        done = _chromium(["--window-size=1280,4000", f"--screenshot={shot}",
                          (report / "report" / name).as_uri()], tmp_path / f"profile-{name}")
        assert shot.is_file(), done.stderr[-2000:]
        pixels = imread(str(shot))
        assert pixels.shape[0] == 4000 and pixels.shape[1] == 1280
        assert float(pixels[..., :3].std()) > 0.05  # not a blank page
        shutil.copy(shot, report / f"screenshot-{name}.png")  # kept for a person to look at


def test_settings_table_equals_the_settings_in_assessment_json(report: Path,
                                                               tmp_path: Path) -> None:
    document = json.loads((report / "assessed" / "assessment.json").read_text(encoding="utf-8"))
    expected = Counter(json.dumps(c["settings"], sort_keys=True) for c in document["cases"])
    tables = _rendered(report / "report" / "report.html", tmp_path / "profile").tables
    rows = tables["settings-table"]
    header = rows[0][1:]
    shown: Counter[str] = Counter()
    for i, column in enumerate(header):
        values = {r[0]["text"]: json.loads(r[i + 1]["data-value"]) for r in rows[1:]}
        shown[json.dumps(values, sort_keys=True)] = int(column["data-cases"])
    assert shown == expected
    assert len(header) == 2 and sorted(int(h["data-cases"]) for h in header) == [15, 45]


def test_disposition_adds_up_to_the_randomised_total(report: Path, tmp_path: Path) -> None:
    tables = _rendered(report / "report" / "report.html", tmp_path / "profile").tables
    rows = {r[1]["text"]: [int(c["text"]) for c in r[2:]] for r in tables["disposition"][1:]}
    header = [c["text"] for c in tables["disposition"][0][2:]]
    assert header == [*ARMS, "all"]
    randomised = rows["Randomised"]
    assert randomised[-1] == N and sum(randomised[:-1]) == N
    section, status = "", []
    for r in tables["disposition"][1:]:
        section = r[0]["text"] or section
        if section == "Status at the cut-off":
            status.append([int(c["text"]) for c in r[2:]])
    assert [r[1]["text"] for r in tables["disposition"][1:]
            if r[1]["text"] in disposition.STATUS_ROWS] == list(disposition.STATUS_ROWS)
    assert len(status) == len(disposition.STATUS_ROWS)
    assert [sum(col) for col in zip(*status, strict=True)] == randomised


def test_blinded_report_pools_the_arms(report: Path, tmp_path: Path) -> None:
    page = (report / "report" / "report-blinded.html").read_text(encoding="utf-8")
    assert "BLINDED REPORT" in page
    results = page.split('id="sec-settings"')[0]  # the settings may name arms (preop_chemo_arm)
    assert not any(arm in results for arm in ARMS)
    assert " vs " not in results
    tables = _rendered(report / "report" / "report-blinded.html", tmp_path / "profile").tables
    header = [c["text"] for c in tables["disposition"][0][2:]]
    assert header == ["all"]  # the pooled group once, not a "pooled" column beside "all"
    assert ">pooled<" not in results.split('id="sec-plots"')[0]
    assert "Not shown in the blinded report: only one arm receives chemotherapy" in page
    assert "by arm" not in "".join(re.findall(r"<figcaption>(.*?)</figcaption>", page))
