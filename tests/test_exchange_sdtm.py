"""SDTM-style TU, TR and RS tables (issue 5, item 7)."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from casebuilder import build

from mrecist_tool.cli.main import main
from mrecist_tool.exchange.sdtm import (
    DM_COLUMNS,
    RS_COLUMNS,
    TR_COLUMNS,
    TU_COLUMNS,
    sdtm_tables,
)
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
    # The baseline visit is SCREENING (pharmaversesdtm), or BASELINE when asked.
    assert rows(tu, TULNKID="L1")[0]["VISIT"] == "SCREENING"
    tu = sdtm_tables([assess_case(case)], "S", baseline_visit="BASELINE")["TU"]
    assert rows(tu, TULNKID="L1")[0]["VISIT"] == "BASELINE"
    assert rows(tu, TULNKID="N1")[0]["TULOC"] == "LYMPH NODE"


def test_tr_uses_viable_diameter_under_mrecist_and_short_axis_for_nodes():
    """MR-V5 / REC-S2: 'too small' counts 5 mm; a disappeared lesion 0 mm."""
    tr = sdtm_tables([assess_case(mrecist_case())], "NCT04562727")["TR"]
    l1 = {r["TRLNKGRP"]: r for r in rows(tr, TRLNKID="L1")}
    assert {r["TRTESTCD"] for r in l1.values()} == {"VDIAM"}
    assert l1["BL"]["TRTEST"] == "Viable Tumor Diameter"
    assert (l1["BL"]["TRORRES"], l1["BL"]["TRORRESU"], l1["BL"]["TRSTRESN"]) == ("30", "mm", "30")
    assert l1["FU1"]["TRORRES"] == "TOO SMALL TO MEASURE"
    assert l1["FU1"]["TRSTRESN"] == "5"
    assert (l1["FU2"]["TRORRES"], l1["FU2"]["TRSTRESN"]) == ("0", "0")
    n1 = rows(tr, TRLNKID="N1")
    assert {r["TRTESTCD"] for r in n1} == {"SAXIS"}
    nt = rows(tr, TRLNKID="NT1")
    assert {(r["TRTESTCD"], r["TRORRES"]) for r in nt} == {("TUMSTATE", "PRESENT")}
    sums = {r["TRLNKGRP"]: r["TRSTRESN"] for r in rows(tr, TRTESTCD="SUMVDIAM")}
    assert sums == {"BL": "48", "FU1": "14", "FU2": "8"}
    assert [r["TRSEQ"] for r in tr] == list(range(1, len(tr) + 1))
    assert [r["VISITNUM"] for r in tr] == sorted(r["VISITNUM"] for r in tr)


def test_rs_carries_the_engines_categories_and_best_response():
    case = mrecist_case()
    a = assess_case(case)
    rs = sdtm_tables([a], "NCT04562727")["RS"]
    assert {r["RSCAT"] for r in rs} == {"MRECIST LENCIONI LIVER CANCER 2010"}
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
    assert fu2_new["RSORRES"] == {"yes": "Y", "no": "N"}.get(
        a.timepoint("FU2").new_lesions.category, "U"
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
    for name, columns in (("dm", DM_COLUMNS), ("tu", TU_COLUMNS), ("tr", TR_COLUMNS),
                          ("rs", RS_COLUMNS)):
        table = read_csv(out / f"{name}.csv")
        assert table, name
        assert list(table[0]) == list(columns)
        assert {r["STUDYID"] for r in table} == {"NCT04562727"}
    subjects = {r["USUBJID"] for r in read_csv(out / "rs.csv") if r["RSTESTCD"] == "BESTRESP"}
    assert len(subjects) == n_good
    assert main(["export", "sdtm", str(cases), "--out", str(out)]) == 2  # --studyid missing


# -- pharmaverse conventions (issue 14) ------------------------------------------------------------

CONVENTIONS = json.loads((Path(__file__).parent / "fixtures" / "pharmaverse_onco_conventions.json")
                         .read_text(encoding="utf-8"))


def _export(tmp_path: Path, cases: list, *extra: str) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir(exist_ok=True)
    for i, case in enumerate(cases):
        (folder / f"case{i}.json").write_text(json.dumps(case), encoding="utf-8")
    out = tmp_path / "sdtm"
    assert main(["export", "sdtm", str(folder), "--out", str(out), "--studyid", "NCT04562727",
                 *extra]) == 0
    return out


def _cohort_cases(n: int = 6) -> list:
    from mrecist_tool.sample.cohort import generate_cohort

    return generate_cohort(n, seed=8)


def test_variables_and_codelists_follow_the_pharmaverse_conventions(tmp_path: Path):
    cases = _cohort_cases()
    cases[0]["timepoints"][1]["imaging"] = "not-done"  # RSSTAT / RSREASND
    for tp in cases[1]["timepoints"]:
        tp["modality"] = "MR"
    out = _export(tmp_path, cases)
    cl = CONVENTIONS["codelists"]
    tables = {name: read_csv(out / f"{name.lower()}.csv") for name in ("DM", "TU", "TR", "RS")}
    for name, required in CONVENTIONS["required"].items():
        assert set(required) <= set(tables[name][0]), name
    tu, tr, rs = tables["TU"], tables["TR"], tables["RS"]
    assert {r["TUTESTCD"] for r in tu} <= set(cl["TUTESTCD"])
    assert {r["TUSTRESC"] for r in tu} <= set(cl["TUSTRESC"])
    assert {r["TRTESTCD"] for r in tr} <= set(cl["TRTESTCD"])
    assert {r["TRSTRESC"] for r in tr if r["TRTESTCD"] == "TUMSTATE"} <= set(cl["TUMSTATE"]) | {""}
    assert {r["RSTESTCD"] for r in rs} <= set(cl["RSTESTCD"])
    assert {r["RSCAT"] for r in rs} <= set(cl["RSCAT"])
    assert {r["RSSTRESC"] for r in rs} <= set(cl["RSSTRESC"])
    assert {r["RSORRES"] for r in rs if r["RSTESTCD"] == "NEWLIND"} <= set(cl["NEWLIND"])
    for name, prefix in (("TU", "TU"), ("TR", "TR"), ("RS", "RS")):
        table = tables[name]
        assert {r[f"{prefix}EVAL"] for r in table} <= set(cl["EVAL"])
        assert {r[f"{prefix}ACPTFL"] for r in table} <= set(cl["ACPTFL"])
        assert {r["EPOCH"] for r in table} <= set(cl["EPOCH"])
        if prefix != "RS":
            assert {r[f"{prefix}METHOD"] for r in table} <= set(cl["METHOD"])
    assert {r["VISIT"] for r in tu if r["VISITNUM"] == "1"} == set(cl["BASELINE_VISIT"])
    assert "MRI" in {r["TRMETHOD"] for r in tr}
    not_done = [r for r in rs if r["RSSTAT"] == "NOT DONE"]
    assert not_done and {r["RSREASND"] for r in not_done} == {"IMAGING NOT DONE"}
    # Study days from randomisation, no day 0; links between TR and RS by visit.
    assert all(r["TRDY"] not in ("", "0") for r in tr)
    assert {r["TRLNKGRP"] for r in tr} >= {r["RSLNKGRP"] for r in rs if r["RSLNKGRP"]} - {""}
    assert len(tables["DM"]) == len(cases)


def test_two_reads_and_two_evaluators_give_unique_keys_and_an_accepted_read(tmp_path: Path):
    base = _cohort_cases(2)
    reads = []
    for case in base:
        for evaluator, reader in (("INVESTIGATOR", "INV1"), ("INDEPENDENT ASSESSOR", "IRC1"),
                                  ("INDEPENDENT ASSESSOR", "IRC2")):
            copy = json.loads(json.dumps(case))
            copy["reader"], copy["evaluator"] = reader, evaluator
            if reader == "IRC2":
                copy["accepted"] = True
            reads.append(copy)
    out = _export(tmp_path, reads)
    for name, prefix in (("tu", "TU"), ("tr", "TR"), ("rs", "RS")):
        table = read_csv(out / f"{name}.csv")
        keys = [(r["USUBJID"], r[f"{prefix}SEQ"]) for r in table]
        assert len(keys) == len(set(keys)), name
        assert {r[f"{prefix}EVAL"] for r in table} == {"INVESTIGATOR", "INDEPENDENT ASSESSOR"}
        investigator = {r[f"{prefix}ACPTFL"] for r in table if r[f"{prefix}EVAL"] == "INVESTIGATOR"}
        assert investigator == {"Y"}  # one investigator read per subject: accepted
        irc = {(r[f"{prefix}EVALID"] or "?", r[f"{prefix}ACPTFL"]) for r in table
               if r[f"{prefix}EVAL"] == "INDEPENDENT ASSESSOR" and name == "rs"}
        if irc:
            assert ("IRC2", "Y") in irc and ("IRC1", "") in irc
    rs = read_csv(out / "rs.csv")
    assert any(r["RSEVAL"] == "INVESTIGATOR" and r["RSTESTCD"] == "BESTRESP" for r in rs)


def test_back_dated_new_lesion_is_not_equivocal_beside_newlind_y_rec_n3():
    case = build(
        tps=[("BL", "2021-01-05"), ("FU1", "2021-03-02"), ("FU2", "2021-05-04")],
        lesions={"L1": "target", "NEW1": "new"},
        obs={("L1", "BL"): 30, ("L1", "FU1"): 20, ("L1", "FU2"): 20,
             ("NEW1", "FU1"): {"status": "present", "equivocal": True, "enhancement": "typical"},
             ("NEW1", "FU2"): {"status": "present", "enhancement": "typical"}},
        settings={"new_lesion_rule_liver": "recist_unequivocal"},
    )
    a = assess_case(case)
    tables = sdtm_tables([a], "S")
    newlind = rows(tables["RS"], RSTESTCD="NEWLIND", RSLNKGRP="FU1")[0]["RSORRES"]
    state = rows(tables["TR"], TRLNKID="NEW1", TRLNKGRP="FU1")[0]["TRORRES"]
    # Confirmed at FU2, the finding is dated back to FU1 (REC-N3, MR-SP5): both tables say so.
    assert a.timepoint("FU1").new_lesions.category == "yes"
    assert newlind == "Y" and state == "UNEQUIVOCAL"
    # Before confirmation (FU2 not yet read) it is EQUIVOCAL in TR and U in RS.
    early = dataclasses.replace(case, timepoints=case.timepoints[:2],
                                observations=tuple(o for o in case.observations
                                                   if o.timepoint != "FU2"))
    tables = sdtm_tables([assess_case(early)], "S")
    assert rows(tables["TR"], TRLNKID="NEW1", TRLNKGRP="FU1")[0]["TRORRES"] == "EQUIVOCAL"
    assert rows(tables["RS"], RSTESTCD="NEWLIND", RSLNKGRP="FU1")[0]["RSORRES"] == "U"


def test_xpt_files_read_back_with_pandas_and_are_group_readable(tmp_path: Path):
    import pandas as pd

    out = _export(tmp_path, _cohort_cases(3))
    for name in ("dm", "tu", "tr", "rs"):
        xpt = pd.read_sas(out / f"{name}.xpt", format="xport", encoding="utf-8")
        csv_rows = read_csv(out / f"{name}.csv")
        assert len(xpt) == len(csv_rows) and list(xpt.columns) == list(csv_rows[0])
        for path in (out / f"{name}.csv", out / f"{name}.xpt"):
            assert path.stat().st_mode & 0o040, f"{path} not readable by the group"
