"""SDTM-style TU, TR and RS tables (issue 5, item 7)."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
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
    finalize,
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
    n1 = rows(tr, TRLNKID="N1")  # a node's short axis: LPERP, as pharmaversesdtm
    assert {(r["TRTESTCD"], r["TRTEST"]) for r in n1} == {("LPERP", "Longest Perpendicular")}
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
#
# The fixture was read from pharmaversesdtm's tu/tr/rs_onco(_recist), dm, ds and supptr_onco and
# from admiralonco's ADRS/ADTR templates; it names the repository, commit and path of every
# value, and lists apart what the project adds for mRECIST and liver trials.

CONVENTIONS = json.loads((Path(__file__).parent / "fixtures" / "pharmaverse_onco_conventions.json")
                         .read_text(encoding="utf-8"))


def _allowed(name: str) -> set[str]:
    """Codelist values pharmaversesdtm uses, with the project's additions."""
    out: set[str] = set()
    for part in ("codelists", "project_additions"):
        entry = CONVENTIONS[part].get(name)
        if entry is None:
            continue
        values = entry["values"]
        if isinstance(values, dict):
            if all(isinstance(v, list) for v in values.values()):
                out.update(x for v in values.values() for x in v)
            else:
                out.update(values)
        else:
            out.update(values)
    return out


def _names(name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in ("codelists", "project_additions"):
        entry = CONVENTIONS[part].get(name)
        if entry is not None and isinstance(entry["values"], dict):
            out.update(entry["values"])
    return out


def test_the_fixture_names_a_source_for_every_value():
    sources = CONVENTIONS["sources"]
    for part in ("codelists", "project_additions"):
        for name, entry in CONVENTIONS[part].items():
            if name.startswith("_"):
                continue
            for source in ([entry["source"]] if isinstance(entry["source"], str) else entry["source"]):
                assert source in sources, (part, name, source)
            if part == "project_additions":
                assert entry["why"], name
    for spec in CONVENTIONS["variables"].values():
        if isinstance(spec, dict):
            assert spec["source"] in sources and set(spec["label_sources"]) <= set(sources)
            assert set(spec["labels"]) == set(spec["order"])
    for src in sources.values():
        if src["repo"].startswith("pharmaverse/"):
            assert len(src["commit"]) == 40 and src["paths"]


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


def _tables(out: Path) -> dict[str, list[dict[str, str]]]:
    return {name: read_csv(out / f"{name.lower()}.csv")
            for name in ("DM", "DS", "TU", "SUPPTU", "TR", "RS")}


def test_variables_their_order_and_labels_are_pharmaversesdtms(tmp_path: Path):
    import pyreadstat

    out = _export(tmp_path, _cohort_cases(3))
    for domain, spec in CONVENTIONS["variables"].items():
        if domain.startswith("_"):
            continue
        header = list(read_csv(out / f"{domain.lower()}.csv")[0]) if domain != "SUPPTU" else \
            (out / "supptu.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
        # pharmaversesdtm's variables in its order; nothing else but the listed additions.
        assert [v for v in header if v in spec["order"]] == spec["order"], domain
        assert set(header) - set(spec["order"]) == set(spec["added"]), domain
        _, meta = pyreadstat.read_xport(str(out / f"{domain.lower()}.xpt"), metadataonly=True)
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        for variable, text in spec["labels"].items():
            assert labels[variable] == text, (domain, variable)


def test_codelist_values_are_pharmaversesdtms_or_the_listed_additions(tmp_path: Path):
    cases = _cohort_cases()
    cases[0]["timepoints"][1]["imaging"] = "not-done"  # RSSTAT / RSREASND
    for tp in cases[1]["timepoints"]:
        tp["modality"] = "MR"
    cases[2]["lesions"].append({"id": "N9", "role": "non-target", "kind": "node",
                                "organ": "lymph node", "site": "hepatoduodenal ligament"})
    cases[2]["observations"].append({"lesion": "N9", "timepoint": "BL", "status": "present"})
    out = _export(tmp_path, cases)
    tables = _tables(out)
    tu, tr, rs = tables["TU"], tables["TR"], tables["RS"]
    assert {r["TUTESTCD"] for r in tu} <= _allowed("TUTESTCD")
    assert {r["TUTEST"] for r in tu} <= set(_names("TUTESTCD").values())
    assert {r["TUSTRESC"] for r in tu} <= _allowed("TUSTRESC")
    assert {r["TULOC"] for r in tu} <= _allowed("TULOC")
    assert {r["TRTESTCD"] for r in tr} <= _allowed("TRTESTCD")
    assert {(r["TRTESTCD"], r["TRTEST"]) for r in tr} <= set(_names("TRTESTCD").items())
    assert {r["TRORRESU"] for r in tr} <= _allowed("TRORRESU")
    assert {r["TRGRPID"] for r in tr} <= _allowed("TRGRPID")
    assert {r["TRSTRESC"] for r in tr if r["TRTESTCD"] == "TUMSTATE"} <= _allowed("TUMSTATE") | {""}
    assert {r["TRSTAT"] for r in tr} <= _allowed("TRSTAT")
    assert {r["RSTESTCD"] for r in rs} <= _allowed("RSTESTCD")
    assert {(r["RSTESTCD"], r["RSTEST"]) for r in rs} <= set(_names("RSTESTCD").items())
    assert {r["RSCAT"] for r in rs} <= _allowed("RSCAT")
    assert {r["RSSTRESC"] for r in rs} <= _allowed("RSSTRESC") | _allowed("NEWLIND")
    assert {r["RSORRES"] for r in rs} <= (_allowed("RSSTRESC") | _allowed("NEWLIND")
                                         | _allowed("RSORRES_ONLY"))
    assert {r["RSORRES"] for r in rs if r["RSTESTCD"] == "NEWLIND"} <= _allowed("NEWLIND")
    assert {r["RSORRES"] for r in rs if r["RSTESTCD"] == "NEWLPROG"} <= _allowed("NEWLPROG")
    assert {r["RSSTAT"] for r in rs} <= _allowed("RSSTAT")
    assert {r["ARMNRS"] for r in tables["DM"]} <= _allowed("ARMNRS")
    assert {r["QNAM"] for r in tables["SUPPTU"]} <= _allowed("QNAM_SUPP")
    assert {r["DSCAT"] for r in tables["DS"]} <= _allowed("DSCAT")
    assert {r["DSDECOD"] for r in tables["DS"]} <= _allowed("DSDECOD")
    for name in ("TU", "TR", "RS"):
        table = tables[name]
        assert {r[f"{name}EVAL"] for r in table} <= _allowed("EVAL")
        assert {r[f"{name}ACPTFL"] for r in table} <= _allowed("ACPTFL")
        assert {r["EPOCH"] for r in table} <= _allowed("EPOCH")
        # One investigator read per subject: no EVALID and no accepted flag (pharmaversesdtm).
        assert {(r[f"{name}EVALID"], r[f"{name}ACPTFL"]) for r in table} == {("", "")}
        if name != "RS":
            assert {r[f"{name}METHOD"] for r in table} <= _allowed("METHOD") | {""}
    # The default baseline VISIT is the one the templates' filters name.
    assert {r["VISIT"] for r in tu if r["VISITNUM"] == "1"} == {"SCREENING"}
    assert "MRI" in {r["TRMETHOD"] for r in tr}
    not_done = [r for r in rs if r["RSSTAT"] == "NOT DONE"]
    assert not_done and {r["RSREASND"] for r in not_done} <= _allowed("RSREASND")
    # A node is LYMPH NODE (the ADTR template's nodal test), its site kept in SUPPTU.
    node = next(r for r in tu if r["TULNKID"] == "N9")
    assert node["TULOC"] == "LYMPH NODE"
    supp = [s for s in tables["SUPPTU"] if s["USUBJID"] == node["USUBJID"]
            and s["IDVARVAL"] == node["TUSEQ"]]
    assert [(s["IDVAR"], s["QNAM"], s["QVAL"]) for s in supp] == [
        ("TUSEQ", "TULOCDTL", "hepatoduodenal ligament")]
    # Study days from randomisation, no day 0; links between TR and RS by visit.
    assert all(r["TRDY"] not in ("", "0") for r in tr)
    assert {r["TRLNKGRP"] for r in tr} >= {r["RSLNKGRP"] for r in rs if r["RSLNKGRP"]}
    assert len(tables["DM"]) == len(cases)


def test_newlprog_follows_the_new_lesion_call_as_rs_onco():
    """rs_onco writes NEWLPROG (UNEQUIVOCAL / EQUIVOCAL) only at visits with a new finding."""
    case = build(
        tps=[("BL", "2021-01-05"), ("FU1", "2021-03-02"), ("FU2", "2021-05-04"),
             ("FU3", "2021-07-06")],
        lesions={"L1": "target", "NEW1": "new"},
        obs={("L1", "BL"): 30, ("L1", "FU1"): 20, ("L1", "FU2"): 20, ("L1", "FU3"): 20,
             ("NEW1", "FU2"): {"status": "present", "equivocal": True, "enhancement": "typical"}},
        settings={"new_lesion_rule_liver": "recist_unequivocal"},
    )
    a = assess_case(case)
    rs = sdtm_tables([a], "S")["RS"]
    newlprog = {r["RSLNKGRP"]: r["RSORRES"] for r in rows(rs, RSTESTCD="NEWLPROG")}
    newlind = {r["RSLNKGRP"]: r["RSORRES"] for r in rows(rs, RSTESTCD="NEWLIND")}
    expected = {"yes": "UNEQUIVOCAL", "equivocal": "EQUIVOCAL"}
    assert newlprog == {t.timepoint: expected[t.new_lesions.category] for t in a.timepoints
                        if t.new_lesions.category in expected}
    assert newlind["FU1"] == "N" and "FU1" not in newlprog


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
        # As pharmaversesdtm: the investigator has no EVALID and no flag; the independent
        # readers are RADIOLOGIST 1 and 2, the accepted one flagged Y.
        investigator = {(r[f"{prefix}EVALID"], r[f"{prefix}ACPTFL"]) for r in table
                        if r[f"{prefix}EVAL"] == "INVESTIGATOR"}
        assert investigator == {("", "")}
        irc = {(r[f"{prefix}EVALID"], r[f"{prefix}ACPTFL"]) for r in table
               if r[f"{prefix}EVAL"] == "INDEPENDENT ASSESSOR"}
        assert irc == {("RADIOLOGIST 1", ""), ("RADIOLOGIST 2", "Y")}
        pattern = CONVENTIONS["codelists"]["EVALID"]["pattern_independent"]
        assert all(re.fullmatch(pattern, evalid) for evalid, _ in irc)
        if prefix != "TU":
            # Each reader's TR and RS records link to each other only (R<n>- as pharmaversesdtm).
            groups = {(r[f"{prefix}EVALID"], r[f"{prefix}LNKGRP"].split("-")[0])
                      for r in table if r[f"{prefix}LNKGRP"]}
            assert ("RADIOLOGIST 1", "R1") in groups and ("RADIOLOGIST 2", "R2") in groups
    key = read_csv(out / "evaluators.csv")
    assert [(k["EVAL"], k["EVALID"], k["READER"]) for k in key] == [
        ("INDEPENDENT ASSESSOR", "RADIOLOGIST 1", "IRC1"),
        ("INDEPENDENT ASSESSOR", "RADIOLOGIST 2", "IRC2")]


def test_a_subjects_only_independent_read_is_the_accepted_one():
    case = mrecist_case()
    tables = finalize(sdtm_tables([assess_case(case)], "S", evaluator="INDEPENDENT ASSESSOR"))
    assert {(r["RSEVALID"], r["RSACPTFL"]) for r in tables["RS"]} == {("RADIOLOGIST 1", "Y")}


def test_admiralonco_templates_find_what_they_select(tmp_path: Path):
    """The filters of admiralonco's ADRS and ADTR templates (read from inst/templates; R with
    admiral cannot be installed from Debian here, so they are applied in Python) find the
    records they need in the default export: investigator overall responses on or after
    randomisation with a date and a response the template codes, the measurable-disease step's
    SCREENING targets, and the ADTR target diameters with their location."""
    from datetime import date

    cases = _cohort_cases(6)
    recist = json.loads(json.dumps(cases[0]))
    recist["criteria"], recist["subject"]["id"] = "RECIST1.1", "RECIST-1"
    recist.pop("profile", None)
    for o in recist["observations"]:
        if "viable_diameter_mm" in o:
            o["longest_diameter_mm"] = o.pop("viable_diameter_mm")
    out = _export(tmp_path, [*cases, recist])
    tables = _tables(out)
    adrs = CONVENTIONS["admiralonco_templates"]["ad_adrs"]
    adtr = CONVENTIONS["admiralonco_templates"]["ad_adtr"]
    rand = {r["USUBJID"]: date.fromisoformat(r["RFSTDTC"]) for r in tables["DM"]}

    def select(table: list[dict[str, str]], where: dict[str, object]) -> list[dict[str, str]]:
        return [r for r in table if all(r[k] in (v if isinstance(v, list) else [v])
                                        for k, v in where.items())]

    ovr = select(tables["RS"], adrs["rs_filter"])
    assert {r["USUBJID"] for r in ovr} == set(rand)
    coded = [r for r in ovr if r[adrs["avalc"]]]
    assert coded and {r[adrs["avalc"]] for r in coded} <= set(adrs["aval_resp_domain"])
    assert all(date.fromisoformat(r["RSDTC"]) >= rand[r["USUBJID"]] for r in coded)
    assert all(r["RSSEQ"].isdigit() for r in ovr)
    mdis = select(tables["TU"], adrs["mdis_tu_filter"])
    with_targets = {r["USUBJID"] for r in tables["TU"] if r["TUSTRESC"] == "TARGET"}
    assert with_targets and {r["USUBJID"] for r in mdis} == with_targets
    # ADTR: RECIST 1.1 target diameters (LDIAM, a node's LPERP) merge with TU's location.
    diam = select(tables["TR"], adtr["tr_filter"])
    assert {r["USUBJID"] for r in diam} == {"NCT04562727-RECIST-1"}
    tu = {(r["USUBJID"], r["TULNKID"]): r for r in select(tables["TU"], adtr["tu_filter"])}
    assert all((r["USUBJID"], r["TRLNKID"]) in tu for r in diam)
    assert adtr["baseline_visit"] in {r["VISIT"] for r in diam}
    assert all(r["TRDTC"] and r["TRSTRESN"] for r in diam if r["TRSTAT"] != "NOT DONE")


def test_tuloc_maps_what_readers_write_and_reports_the_rest(tmp_path: Path, capsys):
    from mrecist_tool.exchange.sdtm_terms import LOC_TERMS, lesion_location, loc_term
    from mrecist_tool.model import Lesion

    assert _allowed("TULOC") >= LOC_TERMS
    for text, term in (("liver", "LIVER"), ("Hepatic", "LIVER"), ("lungs", "LUNG"),
                       ("lymph node", "LYMPH NODE"), ("peritoneum", "PERITONEUM"),
                       ("pleural", "PLEURA"), ("bone", "BONE"), ("adrenal", "ADRENAL GLAND"),
                       ("LIVER", "LIVER"), ("somewhere odd", "")):
        assert loc_term(text) == term, text
    where = lesion_location(Lesion("N1", "target", kind="porta-hepatis-node", organ="liver",
                                   site="12p"))
    assert (where.term, where.detail) == ("LYMPH NODE", "porta hepatis node, liver, 12p")
    where = lesion_location(Lesion("L1", "target", organ="liver", site="segment VII"))
    assert (where.term, where.detail) == ("LIVER", "segment VII")
    cases = _cohort_cases(1)
    cases[0]["lesions"].append({"id": "X1", "role": "non-target", "organ": "somewhere odd"})
    cases[0]["observations"].append({"lesion": "X1", "timepoint": "BL", "status": "present"})
    out = _export(tmp_path, cases)
    err = capsys.readouterr().err
    assert "lesion X1" in err and "'somewhere odd' has no CDISC LOC term" in err
    x1 = next(r for r in read_csv(out / "tu.csv") if r["TULNKID"] == "X1")
    assert x1["TULOC"] == ""  # never guessed
    assert any(s["QVAL"] == "somewhere odd" and s["IDVARVAL"] == x1["TUSEQ"]
               for s in read_csv(out / "supptu.csv"))


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
    for name in ("dm", "ds", "tu", "supptu", "tr", "rs"):
        xpt = pd.read_sas(out / f"{name}.xpt", format="xport", encoding="utf-8")
        csv_rows = read_csv(out / f"{name}.csv")
        assert len(xpt) == len(csv_rows) and list(xpt.columns) == list(csv_rows[0])
        for path in (out / f"{name}.csv", out / f"{name}.xpt"):
            assert path.stat().st_mode & 0o040, f"{path} not readable by the group"


def test_ds_records_randomisation_and_how_participation_ended(tmp_path: Path):
    """DS as pharmaversesdtm's: RANDOMIZED (PROTOCOL MILESTONE), then the DISPOSITION EVENT from
    subject.end_of_study (withdrawn -> WITHDRAWAL BY SUBJECT, ...) or a death; DM's RFPENDTC."""
    cases = _cohort_cases(4)
    ends = [("withdrawn", None), ("lost-to-follow-up", None), ("other", "moved abroad"), None]
    for case, end in zip(cases, ends, strict=True):
        case["subject"].pop("death", None)
        case["subject"].pop("end_of_study", None)
        if end is not None:
            case["subject"]["end_of_study"] = {"date": case["subject"]["last_known_alive"],
                                               "reason": end[0], **({"note": end[1]} if end[1] else {})}
    copy = json.loads(json.dumps(cases[0]))  # a second read of the first subject: DS once
    copy["reader"], copy["evaluator"] = "IRC1", "INDEPENDENT ASSESSOR"
    out = _export(tmp_path, [*cases, copy])
    ds = read_csv(out / "ds.csv")
    dm = {r["USUBJID"]: r for r in read_csv(out / "dm.csv")}
    by_subject: dict[str, list[tuple[str, str, str, str]]] = {}
    for r in ds:
        by_subject.setdefault(r["USUBJID"], []).append(
            (r["DSSEQ"], r["DSCAT"], r["DSDECOD"], r["DSTERM"]))
    expected = [("WITHDRAWAL BY SUBJECT", "WITHDRAWAL BY SUBJECT"),
                ("LOST TO FOLLOW-UP", "LOST TO FOLLOW-UP"), ("OTHER", "MOVED ABROAD"), None]
    for case, want in zip(cases, expected, strict=True):
        usubjid = f"NCT04562727-{case['subject']['id']}"
        records = by_subject[usubjid]
        assert records[0] == ("1", "PROTOCOL MILESTONE", "RANDOMIZED", "RANDOMIZED")
        if want is None:
            assert len(records) == 1 and dm[usubjid]["RFPENDTC"] == ""
        else:
            assert records[1] == ("2", "DISPOSITION EVENT", *want)
            assert dm[usubjid]["RFPENDTC"] == case["subject"]["last_known_alive"]
