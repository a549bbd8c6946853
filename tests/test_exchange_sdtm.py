"""SDTM-style TU, TR and RS tables (issue 5, item 7)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from casebuilder import build

from mrecist_tool.cli.main import main
from mrecist_tool.exchange.sdtm import RS_COLUMNS, TR_COLUMNS, TU_COLUMNS, sdtm_tables
from mrecist_tool.rules import assess_case

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CASES = REPO / "sample_data" / "cases"


def mrecist_case():
    return build(
        tps=[("BL", "2021-01-05"), ("FU1", "2021-03-02"), ("FU2", "2021-05-04")],
        lesions={
            "L1": {"role": "target", "organ": "liver"},
            "N1": {"role": "target", "kind": "node", "organ": "lymph node"},
            "NT1": "non-target",
            "NEW1": "new",
        },
        obs={
            ("L1", "BL"): {"status": "measured", "viable_diameter_mm": "30.0", "reader": "R7"},
            ("N1", "BL"): 18,
            ("NT1", "BL"): "present",
            ("L1", "FU1"): "too-small",
            ("N1", "FU1"): 9,
            ("NT1", "FU1"): "present",
            ("L1", "FU2"): "absent",
            ("N1", "FU2"): 8,
            ("NT1", "FU2"): "present",
            ("NEW1", "FU2"): {"status": "present", "enhancement": "typical"},
        },
        subject={"id": "CRLM-0101"},
    )


def rows(table, **match):
    return [r for r in table if all(r.get(k) == v for k, v in match.items())]


def test_tu_has_one_identification_row_per_lesion_with_the_evaluator():
    case = mrecist_case()
    tu = sdtm_tables([assess_case(case)], "NCT04562727", evaluator="INVESTIGATOR")["TU"]
    assert [r["TULNKID"] for r in tu] == ["L1", "N1", "NT1", "NEW1"]
    assert [r["TUSEQ"] for r in tu] == [1, 2, 3, 4]
    assert {r["USUBJID"] for r in tu} == {"NCT04562727-CRLM-0101"}
    assert {r["TUTESTCD"] for r in tu} == {"TUMIDENT"}
    assert [r["TUORRES"] for r in tu] == ["TARGET", "TARGET", "NON-TARGET", "NEW"]
    assert {r["TUEVAL"] for r in tu} == {"INVESTIGATOR"}
    assert rows(tu, TULNKID="L1")[0]["TUEVALID"] == "R7"
    # A new lesion is identified where it was first seen.
    new = rows(tu, TULNKID="NEW1")[0]
    assert (new["VISIT"], new["TUDTC"], new["VISITNUM"]) == ("FU2", "2021-05-04", 3)
    assert rows(tu, TULNKID="N1")[0]["TULOC"] == "LYMPH NODE"


def test_tr_uses_viable_diameter_under_mrecist_and_short_axis_for_nodes():
    """MR-V5 / REC-S2: 'too small' counts 5 mm; a disappeared lesion 0 mm."""
    tr = sdtm_tables([assess_case(mrecist_case())], "NCT04562727")["TR"]
    l1 = {r["VISIT"]: r for r in rows(tr, TRLNKID="L1")}
    assert {r["TRTESTCD"] for r in l1.values()} == {"VLDIAM"}
    assert l1["BL"]["TRTEST"] == "Viable Tumor Longest Diameter"
    assert (l1["BL"]["TRORRES"], l1["BL"]["TRORRESU"], l1["BL"]["TRSTRESN"]) == ("30", "mm", "30")
    assert l1["FU1"]["TRORRES"] == "TOO SMALL TO MEASURE"
    assert l1["FU1"]["TRSTRESN"] == "5"
    assert (l1["FU2"]["TRORRES"], l1["FU2"]["TRSTRESN"]) == ("0", "0")
    n1 = rows(tr, TRLNKID="N1")
    assert {r["TRTESTCD"] for r in n1} == {"SAXIS"}
    nt = rows(tr, TRLNKID="NT1")
    assert {(r["TRTESTCD"], r["TRORRES"]) for r in nt} == {("TUMSTATE", "PRESENT")}
    sums = {r["VISIT"]: r["TRSTRESN"] for r in rows(tr, TRTESTCD="SUMDIAM")}
    assert sums == {"BL": "48", "FU1": "14", "FU2": "8"}
    assert [r["TRSEQ"] for r in tr] == list(range(1, len(tr) + 1))
    assert [r["VISITNUM"] for r in tr] == sorted(r["VISITNUM"] for r in tr)


def test_rs_carries_the_engines_categories_and_best_response():
    case = mrecist_case()
    a = assess_case(case)
    rs = sdtm_tables([a], "NCT04562727")["RS"]
    assert {r["RSCAT"] for r in rs} == {"MRECIST"}
    for t in a.timepoints:
        visit = rows(rs, VISIT=t.timepoint)
        if t.baseline:
            assert not rs or not rows(visit, RSTESTCD="OVRLRESP")
            continue
        assert rows(visit, RSTESTCD="OVRLRESP")[0]["RSORRES"] == t.overall.category
        assert rows(visit, RSTESTCD="TRGRESP")[0]["RSORRES"] == t.target.category
        ntr = rows(visit, RSTESTCD="NTRGRESP")[0]
        assert ntr["RSORRES"] == t.nontarget.category
        if ntr["RSORRES"] == "IR/SD":  # the mRECIST word, standardised to the SDTM one
            assert ntr["RSSTRESC"] == "NON-CR/NON-PD"
    fu2_new = rows(rs, VISIT="FU2", RSTESTCD="NEWLIND")[0]
    assert fu2_new["RSORRES"] == {"yes": "Y", "no": "N", "equivocal": "EQUIVOCAL"}.get(
        a.timepoint("FU2").new_lesions.category, "UNKNOWN"
    )
    best = rows(rs, RSTESTCD="BESTRESP")
    assert len(best) == 1 and best[0]["RSORRES"] == a.best.category


def test_recist11_case_uses_longest_diameter():
    case = build(
        tps=[("BL", "2021-01-05"), ("FU1", "2021-03-02")],
        lesions={"L1": "target", "NT1": "non-target"},
        obs={("L1", "BL"): 40, ("L1", "FU1"): 20, ("NT1", "BL"): "present", ("NT1", "FU1"): "present"},
        criteria="RECIST1.1",
    )
    tables = sdtm_tables([assess_case(case)], "STUDY-1")
    assert {r["TRTESTCD"] for r in rows(tables["TR"], TRLNKID="L1")} == {"LDIAM"}
    assert {r["RSCAT"] for r in tables["RS"]} == {"RECIST 1.1"}
    assert rows(tables["RS"], RSTESTCD="NTRGRESP")[0]["RSORRES"] == "NON-CR/NON-PD"


def test_bad_options_are_refused():
    a = assess_case(mrecist_case())
    with pytest.raises(ValueError, match="evaluator"):
        sdtm_tables([a], "S", evaluator="ME")
    with pytest.raises(ValueError, match="studyid"):
        sdtm_tables([a], " ")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_cli_writes_three_tables_and_one_bad_case_does_not_stop_the_others(tmp_path: Path, capsys):
    cases = tmp_path / "cases"
    shutil.copytree(SAMPLE_CASES, cases)
    n_good = len(list(cases.glob("*.json")))
    assert n_good > 0
    bad = json.loads(next(iter(sorted(cases.glob("*.json")))).read_text())
    bad["observations"][0]["status"] = "gone"
    (cases / "zz-broken.json").write_text(json.dumps(bad))
    out = tmp_path / "sdtm"
    code = main(["export", "sdtm", str(cases), "--out", str(out), "--studyid", "NCT04562727"])
    assert code == 1
    err = capsys.readouterr().err
    assert "zz-broken.json" in err and "Traceback" not in err
    for name, columns in (("tu", TU_COLUMNS), ("tr", TR_COLUMNS), ("rs", RS_COLUMNS)):
        table = read_csv(out / f"{name}.csv")
        assert table, name
        assert list(table[0]) == list(columns)
        assert {r["STUDYID"] for r in table} == {"NCT04562727"}
    subjects = {r["USUBJID"] for r in read_csv(out / "rs.csv") if r["RSTESTCD"] == "BESTRESP"}
    assert len(subjects) == n_good
    assert main(["export", "sdtm", str(cases), "--out", str(out)]) == 2  # --studyid missing
