"""Guess the contrast phase of a series from its description and contrast timing tags.

Phases use the case-format names (``non-contrast``, ``arterial``, ``portal-venous``,
``delayed``, ``hepatobiliary``, ``other``) plus ``unknown``.  The guess returns the evidence it
used, so a reader can see why (and correct it in the case file).

Order of evidence: keywords in Series Description, then Protocol Name (what the technologist
named the series -- English, German, French, Spanish, Italian, Dutch and a few common
abbreviations), then the delay between Contrast/Bolus Start Time and the acquisition time
(15–45 s arterial, 50–100 s portal-venous, 150 s – 10 min delayed, ≥ 10 min with a
hepatobiliary agent hepatobiliary).  When the description and the timing disagree the
description wins and the disagreement is part of the evidence.  Nothing usable gives
``unknown``; we never guess ``non-contrast`` from a missing Contrast/Bolus Agent, because many
exports drop that tag.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PHASE_NAMES = ("non-contrast", "arterial", "portal-venous", "delayed", "hepatobiliary", "other",
               "unknown")


@dataclass(frozen=True)
class PhaseGuess:
    """The contrast phase of a series and the evidence it was told from.

    Attributes
    ----------
    phase : str
        One of ``non-contrast``, ``arterial``, ``portal-venous``, ``delayed``, ``hepatobiliary``,
        ``other`` or ``unknown``.
    evidence : tuple of str
        What was used (keywords, timing), so a reader can see why.
    """
    phase: str
    evidence: tuple[str, ...] = ()


# Patterns on a normalised text: lower case, accents removed, separators turned into spaces and
# padded with spaces, so r" art " matches a whole word.  Order matters: first match wins.
_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("hepatobiliary", r" (hbp|hepatobiliary|hepatobiliaer|hepatobiliaire|hepatobiliar|"
                      r"hepatobiliare|hepatospecific|hepatocyte|hepatocytaire|20 ?min|"
                      r"leberspezifisch)"),
    ("non-contrast", r" (non ?contrast|noncontrast|without contrast|w ?o contrast|pre ?contrast|"
                     r"precontrast|pre|nc|unenhanced|native?|nativ|plain|blanco|blank|basale?|"
                     r"sans (injection|contraste|iv)|sin contraste|senza (contrasto|mdc)|"
                     r"zonder contrast|ohne km|ohne kontrast|nat|leer|non enhanced|"
                     r"t1 ?pre|precon|baseline unenhanced)( |$)"),
    ("arterial", r" (art|arterial|arteriell|arterielle|arteriel|arterielle|arteriosa|"
                 r"arterioso|arterieel|arteriele|late arterial|early arterial|lap|eap|"
                 r"ap|hap|hepatic arterial|angio|cta|arterial phase|arteriale|arterielle phase)"
                 r"( |$)"),
    ("portal-venous", r" (pv|pvp|portal|portal venous|portalvenous|portovenous|portal ven|"
                      r"portalvenoes|portalvenose|portalvenos|pvenos|portale|portaal|"
                      r"portovenosa|portoveneuse|portal venosa|venous|venoes|venos|venose|"
                      r"veineux|veineuse|venosa|venoso|veneus|veneuze|vp)( |$)"),
    ("delayed", r" (delay|delayed|delayd|late|equilibrium|equil|eq|transitional|spaet|spat|"
                r"spaetphase|spatphase|tardif|tardive|tardio|tardia|tardiva|ritardata|laat|"
                r"late phase|3 ?min|5 ?min|10 ?min|dp)( |$)"),
    ("other", r" (t2|t2w|haste|dwi|diffusion|adc|b ?\d{2,4}|in ?phase|opp ?phase|out ?phase|"
              r"opposed|dixon|mrcp|localizer|localiser|scout|topogram|survey|dose report|"
              r"perfusion|bolus ?tracking|monitoring|smartprep|care ?bolus|test ?bolus)( |$)"),
)
_COMPILED = tuple((phase, re.compile(pattern)) for phase, pattern in _KEYWORDS)
_HEPATOBILIARY_AGENTS = re.compile(r"(eovist|primovist|gadoxet|gd ?eob|multihance|gadobenat)")


def normalise(text: str) -> str:
    """Lower case, accents stripped, every non-alphanumeric run turned into one space."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    return " " + re.sub(r"[^a-z0-9]+", " ", text).strip() + " "


def phase_from_text(text: str) -> tuple[str, str] | None:
    """The phase named in a description, with the matched words, or None."""
    norm = normalise(text)
    if not norm.strip():
        return None
    # A delay written in the name ("T1 post 70s", "Arterial 35 sec") is the strongest hint.
    m = re.search(r" (\d{2,3}) ?(s|sec|secs|seconds?|sek|seg)( |$)", norm)
    if m:
        phase = phase_from_delay(float(m.group(1)))
        if phase is not None and phase != "non-contrast":
            return phase, f"'{m.group(0).strip()}' in the name"
    for phase, pattern in _COMPILED:
        m2 = pattern.search(norm)
        if m2:
            return phase, f"'{m2.group(0).strip()}' in the name"
    return None


def phase_from_delay(seconds: float) -> str | None:
    """Phase implied by the delay (s) from the start of the contrast injection, or None."""
    if seconds < 0:
        return "non-contrast"
    if 15 <= seconds <= 45:
        return "arterial"
    if 50 <= seconds <= 100:
        return "portal-venous"
    if 150 <= seconds < 600:
        return "delayed"
    return None


def parse_tm(tm: str) -> float | None:
    """DICOM TM ``HHMMSS.FFFFFF`` (or ``HH:MM:SS``) → seconds after midnight, or None."""
    tm = tm.strip().replace(":", "")
    if len(tm) < 2 or not tm[:2].isdigit():
        return None
    try:
        hours = int(tm[:2])
        minutes = int(tm[2:4]) if len(tm) >= 4 else 0
        seconds = float(tm[4:]) if len(tm) > 4 else 0.0
    except ValueError:
        return None
    return hours * 3600 + minutes * 60 + seconds


def detect_phase(
    *,
    series_description: str = "",
    protocol_name: str = "",
    contrast_agent: str = "",
    contrast_start_time: str = "",
    acquisition_time: str = "",
    series_time: str = "",
    content_time: str = "",
) -> PhaseGuess:
    """Guess the phase of a series; see the module docstring for the rules.

    Parameters
    ----------
    series_description : str
        Series Description.
    protocol_name : str
        Protocol Name.
    contrast_agent : str
        Contrast/Bolus Agent.
    contrast_start_time : str
        Contrast/Bolus Start Time (HHMMSS).
    acquisition_time : str
        Acquisition Time.
    series_time : str
        Series Time (used when Acquisition Time is missing).
    content_time : str
        Content Time (used when both are missing).

    Returns
    -------
    PhaseGuess
        The phase and the evidence used.

    Examples
    --------
    >>> detect_phase(series_description="Abdomen PV 3mm").phase
    'portal-venous'
    >>> detect_phase(contrast_agent="Iomeron", contrast_start_time="101500",
    ...              acquisition_time="101530").phase
    'arterial'
    """
    evidence: list[str] = []
    named: tuple[str, str] | None = None
    for field_name, text in (("Series Description", series_description),
                             ("Protocol Name", protocol_name)):
        if text:
            found = phase_from_text(text)
            if found is not None:
                named = (found[0], f"{field_name} {text!r}: {found[1]}")
                break
    timed: tuple[str, str] | None = None
    start = parse_tm(contrast_start_time) if contrast_start_time else None
    if start is not None:
        for field_name, value in (("Acquisition Time", acquisition_time),
                                  ("Content Time", content_time),
                                  ("Series Time", series_time)):
            t = parse_tm(value) if value else None
            if t is None:
                continue
            delay = t - start
            if delay < -12 * 3600:
                delay += 24 * 3600  # injection before midnight, scan after
            phase = phase_from_delay(delay)
            if phase == "delayed" and delay >= 600:
                phase = None
            if delay >= 600 and _HEPATOBILIARY_AGENTS.search(normalise(contrast_agent)):
                phase = "hepatobiliary"
            text = (f"{field_name} {delay:.0f} s after Contrast/Bolus Start Time"
                    + (f" ({contrast_agent})" if contrast_agent else ""))
            timed = (phase, text) if phase else None
            if timed is None:
                evidence.append(text + ": between phase windows")
            break
    if named is not None:
        evidence.insert(0, named[1])
        if timed is not None and timed[0] != named[0]:
            evidence.append(f"timing suggests {timed[0]} ({timed[1]}); the name was preferred")
        elif timed is not None:
            evidence.append(timed[1])
        return PhaseGuess(named[0], tuple(evidence))
    if timed is not None:
        return PhaseGuess(timed[0], (timed[1], *evidence))
    if contrast_agent:
        evidence.append(f"Contrast/Bolus Agent {contrast_agent!r} but no usable timing")
    return PhaseGuess("unknown", tuple(evidence) or ("no phase keyword and no contrast timing",))
