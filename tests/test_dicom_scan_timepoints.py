"""Discovery of a multi-study patient, pseudonyms, and the mapping to case-file timepoints."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from mrecist_tool import model
from mrecist_tool.cli.main import main
from mrecist_tool.dicom import pseudonym, scan, studies_to_timepoints
from mrecist_tool.dicom.testing import write_series
from mrecist_tool.errors import DicomError

NAME, PID, BIRTH = "Doe^Jane", "HOSP-778899", "19550412"


@pytest.fixture(scope="module")
def patient_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("patient")
    who = {"patient_name": NAME, "patient_id": PID, "birth_date": BIRTH}
    studies = {}
    for date, label in (("20240110", "bl"), ("20240405", "fu1"), ("20240702", "fu2")):
        uid = f"1.2.826.0.1.3680043.10.999.{date}"
        studies[label] = uid
        write_series(root / label / "art", n_slices=4, spacing=2.5, study_uid=uid,
                     study_date=date, description="Arterial", series_number=2, **who)
        write_series(root / label / "pv", n_slices=4, spacing=5.0, study_uid=uid,
                     study_date=date, description="Portal venous", series_number=3, **who)
        write_series(root / label / "scout", n_slices=1, study_uid=uid, study_date=date,
                     description="Topogram", series_number=1,
                     extra={"ImageType": ["ORIGINAL", "PRIMARY", "LOCALIZER"]}, **who)
    # A same-day chest study exported separately, with a thin series of unknown phase.
    chest = "1.2.826.0.1.3680043.10.999.20240405.2"
    write_series(root / "fu1_chest", n_slices=3, spacing=1.0, study_uid=chest,
                 study_date="20240405", description="Thorax 1mm", series_number=5, **who)
    studies["fu1_chest"] = chest
    return root, studies


def test_scan_groups_one_patient_three_dates_and_flags_the_scout(patient_folder):
    root, studies = patient_folder
    result = scan(root)
    assert len(result.patients) == 1
    patient = result.patients[0]
    assert patient.pseudonym.startswith("PAT-") and len(patient.pseudonym) == 12
    assert patient.patient_id is None and patient.name is None
    assert [s.date for s in patient.studies][:1] == [dt.date(2024, 1, 10)]
    bl = next(s for s in patient.studies if s.study_uid == studies["bl"])
    kinds = {s.description: (s.kind, s.loadable, s.phase) for s in bl.series}
    assert kinds["Arterial"] == ("volume", True, "arterial")
    assert kinds["Portal venous"] == ("volume", True, "portal-venous")
    assert kinds["Topogram"][0] == "localizer" and not kinds["Topogram"][1]
    pv = next(s for s in bl.series if s.description == "Portal venous")
    assert pv.spacing == pytest.approx((5.0, 0.75, 0.5))
    assert pv.orientation == "axial" and pv.slice_thickness == 5.0


def test_identity_never_appears_unless_asked(patient_folder, capsys):
    root, _ = patient_folder
    hidden = json.dumps(scan(root).to_dict())
    for secret in (NAME, PID, BIRTH, "Doe"):
        assert secret not in hidden
    shown = scan(root, reveal_identity=True).to_dict()
    assert shown["patients"][0]["patient_id"] == PID
    assert main(["scan", str(root)]) == 0
    out = capsys.readouterr().out
    assert PID not in out and "Doe" not in out and "PAT-" in out
    assert main(["scan", str(root), "--show-identity", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["patients"][0]["name"] == NAME


def test_pseudonyms_are_salted_and_stable_within_a_salt():
    a = pseudonym(PID, NAME, BIRTH, salt="s1")
    assert a == pseudonym(PID, NAME, BIRTH, salt="s1")
    assert a != pseudonym(PID, NAME, BIRTH, salt="s2")
    assert a != pseudonym("HOSP-778898", NAME, BIRTH, salt="s1")


def test_studies_map_to_bl_fu_timepoints_with_phases(patient_folder):
    root, studies = patient_folder
    tps = studies_to_timepoints(scan(root))
    assert [t.id for t in tps] == ["BL", "FU1", "FU2"]
    assert [t.baseline for t in tps] == [True, False, False]
    assert tps[0].date == dt.date(2024, 1, 10) and tps[0].study_uid == studies["bl"]
    assert tps[0].phases == frozenset({"arterial", "portal-venous"})
    assert tps[0].slice_thickness_mm == Decimal("2.5")
    assert all(isinstance(s, model.Series) for s in tps[0].series or ())
    # Same-day chest study merged into FU1; its unknown phase recorded as "other".
    fu1 = tps[1]
    assert fu1.study_uid == studies["fu1"]
    assert fu1.extra["other_study_uids"] == [studies["fu1_chest"]]
    assert "other" in (fu1.phases or set())
    assert fu1.slice_thickness_mm == Decimal("1")
    # All series are CT: the timepoints record it (SDTM --METHOD CT SCAN, issue 14).
    assert [t.modality for t in tps] == ["CT", "CT", "CT"]


def test_a_study_of_mixed_modalities_records_none(tmp_path):
    for date, modality in (("20240110", "MR"), ("20240405", "MR"), ("20240405", "CT")):
        write_series(tmp_path / f"{date}-{modality}", n_slices=3, study_date=date,
                     study_uid=f"1.2.826.0.1.3680043.10.999.7.{date}", modality=modality,
                     description=f"{modality} liver", patient_id=PID)
    tps = studies_to_timepoints(scan(tmp_path))
    assert [(t.id, t.modality) for t in tps] == [("BL", "MR"), ("FU1", None)]


def test_baseline_choice_drops_earlier_studies(patient_folder):
    root, studies = patient_folder
    tps = studies_to_timepoints(scan(root), baseline_study_uid=studies["fu1"])
    assert [t.id for t in tps] == ["BL", "FU1"]
    assert tps[0].study_uid == studies["fu1"] and tps[0].baseline
    with pytest.raises(DicomError, match="no study"):
        studies_to_timepoints(scan(root), baseline_study_uid="1.2.3")


def test_several_patients_need_a_choice(tmp_path):
    write_series(tmp_path / "a", n_slices=2, patient_id="A1")
    write_series(tmp_path / "b", n_slices=2, patient_id="B2")
    result = scan(tmp_path, salt="x")
    with pytest.raises(DicomError, match="2 patients"):
        studies_to_timepoints(result)
    chosen = studies_to_timepoints(result, patient=result.patients[0].pseudonym)
    assert len(chosen) == 1
