"""Contrast-phase detection from series names and contrast timing tags."""

from __future__ import annotations

import pytest

from mrecist_tool.dicom import detect_phase
from mrecist_tool.dicom.phase import parse_tm, phase_from_delay


@pytest.mark.parametrize(
    ("description", "phase"),
    [
        ("Abdomen PV 3mm", "portal-venous"),
        ("Portal venous phase", "portal-venous"),
        ("Leber portalvenös 5mm", "portal-venous"),
        ("Phase portale", "portal-venous"),
        ("ART 1.25", "arterial"),
        ("Late arterial", "arterial"),
        ("Fase arteriosa", "arterial"),
        ("Arterial 35s", "arterial"),
        ("T1 VIBE post 70s", "portal-venous"),
        ("Leber nativ", "non-contrast"),
        ("NC abdomen", "non-contrast"),
        ("Sans injection", "non-contrast"),
        ("T1 pre", "non-contrast"),
        ("Delayed 3 min", "delayed"),
        ("Equilibrium", "delayed"),
        ("Spätphase", "delayed"),
        ("Phase tardive", "delayed"),
        ("HBP 20 min", "hepatobiliary"),
        ("Hepatobiliary phase", "hepatobiliary"),
        ("T2 HASTE fs", "other"),
        ("DWI b800", "other"),
        ("Topogram", "other"),
        ("Abd C+ 3mm", "unknown"),
        ("Routine Brain", "unknown"),
        ("", "unknown"),
    ],
)
def test_phase_from_series_description(description, phase):
    guess = detect_phase(series_description=description)
    assert guess.phase == phase
    assert guess.evidence


def test_protocol_name_used_when_the_description_is_silent():
    guess = detect_phase(series_description="Abdomen 1.0 B30f", protocol_name="Liver arterial")
    assert guess.phase == "arterial"
    assert "Protocol Name" in guess.evidence[0]


@pytest.mark.parametrize(
    ("start", "acquired", "phase"),
    [
        ("101500", "101530", "arterial"),
        ("101500.000", "101610.5", "portal-venous"),
        ("101500", "101900", "delayed"),
        ("235950", "000040", "portal-venous"),  # injection before midnight
        ("101500", "101547", "unknown"),  # between the arterial and portal windows
    ],
)
def test_phase_from_contrast_timing(start, acquired, phase):
    guess = detect_phase(contrast_agent="Iomeron", contrast_start_time=start,
                         acquisition_time=acquired)
    assert guess.phase == phase
    assert "Contrast/Bolus Start Time" in " ".join(guess.evidence)


def test_hepatobiliary_agent_and_long_delay_give_hepatobiliary():
    guess = detect_phase(contrast_agent="Primovist", contrast_start_time="100000",
                         acquisition_time="102000")
    assert guess.phase == "hepatobiliary"


def test_name_wins_over_timing_and_the_conflict_is_reported():
    guess = detect_phase(series_description="Arterial", contrast_start_time="100000",
                         acquisition_time="100130")
    assert guess.phase == "arterial"
    assert any("timing suggests portal-venous" in e for e in guess.evidence)


def test_missing_contrast_agent_is_not_taken_as_non_contrast():
    assert detect_phase(series_description="Abdomen 5mm").phase == "unknown"


def test_tm_parsing_and_delay_windows():
    assert parse_tm("101530.5") == pytest.approx(10 * 3600 + 15 * 60 + 30.5)
    assert parse_tm("10:15:30") == pytest.approx(10 * 3600 + 15 * 60 + 30)
    assert parse_tm("") is None and parse_tm("xx") is None
    assert phase_from_delay(30) == "arterial"
    assert phase_from_delay(70) == "portal-venous"
    assert phase_from_delay(200) == "delayed"
    assert phase_from_delay(120) is None
