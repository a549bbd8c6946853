"""Margin inputs in the case file and the margin columns of ``mrecist assess`` (issue 10, MAR-7).

A procedure carries its margin inputs (``procedures[].margin``); ``mrecist assess`` adds
``mam_mm, mam_corrected_mm, coverage, fraction_ge_5mm, fraction_ge_10mm, registration,
liver_dice, margin_flags`` to ablations.csv, from a content-addressed cache when nothing changed.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from phantoms import GRIDS, Ellipsoid, grid_around, render, sitk_image, sphere_margin

from mrecist_tool.casefile import read_case, validate_file, write_case
from mrecist_tool.cli.main import main

MARGIN_COLUMNS = ["mam_mm", "mam_corrected_mm", "coverage", "fraction_ge_5mm", "fraction_ge_10mm", "registration",
                  "liver_dice", "margin_flags"]


def _case(margin: dict) -> dict:
    return {
        "format": "mrecist-case", "version": 1,
        "subject": {"id": "MAR-001"},
        "timepoints": [{"id": "BL", "date": "2021-02-25", "baseline": True}, {"id": "FU1", "date": "2021-04-20"}],
        "procedures": [{"id": "ABL1", "type": "ablation", "date": "2021-03-30", "lesions": ["L1"], "margin": margin}],
        "lesions": [{"id": "L1", "role": "target"}],
        "observations": [{"lesion": "L1", "timepoint": "BL", "status": "measured", "viable_diameter_mm": 12},
                         {"lesion": "L1", "timepoint": "FU1", "status": "absent"}],
    }


@pytest.fixture()
def case_dir(tmp_path, monkeypatch):
    import SimpleITK as sitk

    monkeypatch.setenv("MRECIST_MARGIN_CACHE", str(tmp_path / "cache"))
    (tmp_path / "masks").mkdir()
    zone = Ellipsoid.sphere((0, 0, 0), 11.0)
    tumour = Ellipsoid.sphere((2.0, 1.0, -1.0), 5.0)
    g, shape = grid_around(GRIDS["0.8x0.8x2.5"], np.eye(3), (0, 0, 0), 14)
    for name, shp in (("L1_tumour", tumour), ("L1_zone", zone)):
        sitk.WriteImage(sitk_image(render(shp.inside, g, shape).astype(np.uint8), g), str(tmp_path / "masks" / f"{name}.nii.gz"))
    margin = {"registration": "none", "lesions": {"L1": {"tumour": "masks/L1_tumour.nii.gz", "zone": "masks/L1_zone.nii.gz"}}}
    (tmp_path / "case.json").write_text(json.dumps(_case(margin)))
    return tmp_path, sphere_margin(tumour, zone)[0]


def _ablations(out) -> list[dict[str, str]]:
    with (out / "ablations.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_assess_adds_the_margin_columns_and_caches_them(case_dir):
    folder, exact = case_dir
    out = folder / "out"
    assert main(["assess", str(folder / "case.json"), "--out", str(out), "--print", "never"]) == 0
    rows = _ablations(out)
    assert set(MARGIN_COLUMNS) <= set(rows[0])
    row = rows[0]
    assert float(row["mam_mm"]) == pytest.approx(exact, abs=1.2)
    assert row["mam_corrected_mm"] == ""  # no liver mask
    assert row["registration"] == "none" and row["liver_dice"] == ""
    assert float(row["coverage"]) == 1.0
    assert "subcapsular" in row["margin_flags"] and "thick-slices" not in row["margin_flags"]
    # the second assessment reads the cache: prove it by planting a value in the entry
    entries = list((folder / "cache").rglob("*.json"))
    assert len(entries) == 1
    data = json.loads(entries[0].read_text())
    data["mam_mm"] = 42.0
    entries[0].write_text(json.dumps(data))
    assert main(["assess", str(folder / "case.json"), "--out", str(out), "--print", "never"]) == 0
    assert _ablations(out)[0]["mam_mm"] == "42"
    # a changed mask is a new entry (content-keyed), measured again
    import SimpleITK as sitk

    img = sitk.ReadImage(str(folder / "masks" / "L1_zone.nii.gz"))
    arr = sitk.GetArrayFromImage(img)
    arr[arr.shape[0] // 2, 0, 0] = 1
    new = sitk.GetImageFromArray(arr)
    new.CopyInformation(img)
    sitk.WriteImage(new, str(folder / "masks" / "L1_zone.nii.gz"))
    assert main(["assess", str(folder / "case.json"), "--out", str(out), "--print", "never"]) == 0
    assert float(_ablations(out)[0]["mam_mm"]) == pytest.approx(exact, abs=1.2)
    assert len(list((folder / "cache").rglob("*.json"))) == 2


def test_missing_mask_leaves_the_margin_empty_with_a_reason(case_dir):
    folder, _ = case_dir
    (folder / "masks" / "L1_zone.nii.gz").unlink()
    out = folder / "out"
    assert main(["assess", str(folder / "case.json"), "--out", str(out), "--print", "never"]) == 0
    row = _ablations(out)[0]
    assert row["mam_mm"] == "" and "not computed" in row["margin_flags"]
    warnings = [p for p in validate_file(folder / "case.json") if p.severity != "error"]
    assert any(p.path == "$.procedures[0].margin.lesions.L1.zone" and "L1_zone.nii.gz" in p.message for p in warnings)


def test_margin_inputs_round_trip_and_are_checked(tmp_path):
    margin = {"pre_image": "images/pre", "post_image": "images/post", "liver_post": "masks/liver.nii.gz",
              "registration": "deformable", "landmarks": [{"pre": [1, 2, 3], "post": [1.5, 2, 3]}],
              "lesions": {"L1": {"tumour": "masks/t.nii.gz", "zone": "masks/z.nii.gz"}}}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(_case(margin)))
    case = read_case(path)
    mi = case.procedures[0].margin
    assert mi is not None and mi.registration == "deformable" and mi.lesion("L1") is not None
    write_case(case, tmp_path / "again.json")
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["procedures"][0]["margin"] == margin

    bad = dict(margin, registration="rigid", lesions={"L9": {"tumour": "/abs/t.nii.gz", "zone": "z.nii.gz"}})
    del bad["pre_image"]
    path.write_text(json.dumps(_case(bad)))
    problems = {p.path: p.message for p in validate_file(path) if p.severity == "error"}
    assert "$.procedures[0].margin.registration" in problems  # rigid needs both images
    assert "$.procedures[0].margin.lesions.L9" in problems  # not a treated lesion
    assert "$.procedures[0].margin.lesions.L9.tumour" in problems  # absolute path


def test_a_recorded_mam_is_read_written_and_carried_to_ablations_csv(tmp_path):
    """A MAM measured elsewhere (another tool, a core lab) is recorded per lesion instead of the
    masks: it round-trips, goes to ablations.csv flagged ``recorded``, with no image read."""
    margin = {"lesions": {"L1": {"mam_mm": -1.5, "mam_corrected_mm": 2.0}}}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(_case(margin)))
    lm = read_case(path).procedures[0].margin.lesion("L1")  # type: ignore[union-attr]
    assert lm is not None and lm.recorded and lm.tumour is None and str(lm.mam_mm) == "-1.5"
    write_case(read_case(path), tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text())["procedures"][0]["margin"] == margin
    assert not [p for p in validate_file(path) if p.severity == "error"]
    out = tmp_path / "out"
    assert main(["assess", str(path), "--out", str(out), "--print", "never"]) == 0
    (row,) = _ablations(out)
    assert row["mam_mm"] == "-1.5" and row["mam_corrected_mm"] == "2"
    assert row["coverage"] == "" and row["registration"] == "" and row["margin_flags"].startswith("recorded")


@pytest.mark.parametrize(("lesion", "where", "says"), [
    ({"mam_mm": 3.0, "tumour": "masks/t.nii.gz", "zone": "masks/z.nii.gz"}, "", "not both"),
    ({"mam_mm": "3 mm"}, ".mam_mm", "number of millimetres"),
    ({"mam_mm": 350}, ".mam_mm", "check the unit"),
    ({"mam_corrected_mm": 2.0}, ".mam_mm", "missing"),
])
def test_a_recorded_mam_is_checked_with_a_located_error(tmp_path, lesion, where, says):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(_case({"lesions": {"L1": lesion}})))
    problems = {p.path: p.message for p in validate_file(path) if p.severity == "error"}
    key = "$.procedures[0].margin.lesions.L1" + where
    assert key in problems and says in problems[key], problems


def test_simulated_cohort_records_margins_that_follow_ltp(tmp_path):
    """The simulated cohort records a MAM for every ablated tumour (MAR-7): LTP tumours near 0 mm,
    the others 4-5 mm (odds of LTP × 0.45 per mm), negative for residual tumour; assessed and
    analysed, the report's margin section shows LTP falling with the margin."""
    from mrecist_tool.sample.cohort import generate_cohort, write_cohort

    cases = generate_cohort(120, seed=4)
    for case in cases:
        abl1 = next(p for p in case["procedures"] if p["id"] == "ABL1")
        assert set(abl1["margin"]["lesions"]) == set(abl1["lesions"])
    assert generate_cohort(120, seed=4) == cases  # deterministic
    write_cohort(tmp_path / "cases", 240, seed=4)
    assert main(["assess", str(tmp_path / "cases"), "--out", str(tmp_path / "res"), "--print", "never",
                 "--progress", "never"]) == 0
    rows = _ablations(tmp_path / "res")
    assert all(r["mam_mm"] != "" and r["margin_flags"].startswith("recorded") for r in rows)
    ltp = [float(r["mam_mm"]) for r in rows if r["ltp_date"]]
    other = [float(r["mam_mm"]) for r in rows if not r["ltp_date"] and not r["residual_date"]]
    assert np.mean(ltp) < 1.5 < 3.5 < np.mean(other)
    assert all(float(r["mam_mm"]) < 0 for r in rows if r["residual_date"])
    from mrecist_tool.analysis.dataset import from_results_dir
    from mrecist_tool.analysis.margin_ltp import margin_ltp_table, margin_section

    data = from_results_dir(tmp_path / "res")
    table = margin_ltp_table(data.endpoints, data.ablations)
    cox = table[table["analysis"].str.startswith("Cox")].iloc[0]
    assert cox["ci_high"] < 0.85 and cox["p_value"] < 1e-4
    at24 = table[table["time_months"] == 24.0].set_index("band")["estimate"]
    assert at24["< 0 mm"] > at24["0–5 mm"] > at24["5–10 mm"]
    assert "sec-margin" in margin_section(table)
