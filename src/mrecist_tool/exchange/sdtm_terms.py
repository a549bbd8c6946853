"""CDISC terms of the SDTM export that are mapped from a case file's free text.

``TULOC`` takes a term of the CDISC Anatomical Location codelist (``LOC``).  A case file's
``organ`` is free text (``"liver"``, ``"lung"``, ``"lymph node"``, ``"peritoneum"`` ...), so the
export maps the words readers of liver trials write to the LOC submission value, keeps what the
reader wrote (organ words that are not the term itself, and the ``site``) as ``TULOCDTL`` in
SUPPTU, and leaves ``TULOC`` empty -- reported, never guessed -- when a word has no term here.

The terms are the LOC submission values that occur in pharmaversesdtm's oncology TU data
(``tu_onco``, ``tu_onco_recist``) plus the sites of colorectal liver metastases and their
spread that those data lack (peritoneum, pleura, spleen, ...); ``tests/fixtures/
pharmaverse_onco_conventions.json`` lists each term with where it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ..model import Lesion

# LOC submission values the export writes.
LOC_TERMS: frozenset[str] = frozenset({
    # in pharmaversesdtm tu_onco / tu_onco_recist
    "ABDOMINAL CAVITY", "ADRENAL GLAND", "ANUS", "BILE DUCT", "BLADDER", "BONE", "BRAIN",
    "BREAST", "CHEST", "COLON", "ESOPHAGUS", "GALL BLADDER", "HEART", "KIDNEY", "LIVER",
    "LUNG", "LYMPH NODE", "MEDIASTINUM", "PROSTATE GLAND", "SOFT TISSUE",
    # sites of colorectal liver metastases and their spread, not in pharmaversesdtm
    "PERITONEUM", "PLEURA", "SPLEEN", "PANCREAS", "PORTAL VEIN", "OVARY", "RECTUM",
    "ABDOMINAL WALL", "DIAPHRAGM", "STOMACH", "SMALL INTESTINE", "SKIN",
})

# What readers write (lower case, words separated by single spaces) -> LOC term.
_WORDS: dict[str, str] = {
    "liver": "LIVER", "hepatic": "LIVER", "intrahepatic": "LIVER",
    "lung": "LUNG", "lungs": "LUNG", "pulmonary": "LUNG",
    "lymph node": "LYMPH NODE", "lymph nodes": "LYMPH NODE", "node": "LYMPH NODE",
    "nodes": "LYMPH NODE", "nodal": "LYMPH NODE", "lymphnode": "LYMPH NODE",
    "peritoneum": "PERITONEUM", "peritoneal": "PERITONEUM", "omentum": "PERITONEUM",
    "pleura": "PLEURA", "pleural": "PLEURA",
    "bone": "BONE", "bones": "BONE", "skeletal": "BONE", "osseous": "BONE",
    "adrenal": "ADRENAL GLAND", "adrenal gland": "ADRENAL GLAND",
    "brain": "BRAIN", "cerebral": "BRAIN",
    "spleen": "SPLEEN", "splenic": "SPLEEN",
    "pancreas": "PANCREAS", "pancreatic": "PANCREAS",
    "portal vein": "PORTAL VEIN",
    "ovary": "OVARY", "ovarian": "OVARY",
    "colon": "COLON", "rectum": "RECTUM", "rectal": "RECTUM",
    "abdominal wall": "ABDOMINAL WALL", "diaphragm": "DIAPHRAGM", "stomach": "STOMACH",
    "small intestine": "SMALL INTESTINE", "small bowel": "SMALL INTESTINE",
    "kidney": "KIDNEY", "renal": "KIDNEY", "bile duct": "BILE DUCT",
    "gall bladder": "GALL BLADDER", "gallbladder": "GALL BLADDER",
    "mediastinum": "MEDIASTINUM", "mediastinal": "MEDIASTINUM",
    "soft tissue": "SOFT TISSUE", "skin": "SKIN", "subcutaneous": "SOFT TISSUE",
    "breast": "BREAST", "heart": "HEART", "esophagus": "ESOPHAGUS",
    "oesophagus": "ESOPHAGUS", "bladder": "BLADDER", "anus": "ANUS",
    "abdominal cavity": "ABDOMINAL CAVITY", "chest": "CHEST",
    "prostate": "PROSTATE GLAND", "prostate gland": "PROSTATE GLAND",
}
# Kinds of lesion whose location follows from the kind (case-format.md ``kind``).
_KIND_TERMS = {"node": "LYMPH NODE", "porta-hepatis-node": "LYMPH NODE",
               "portal-vein-thrombus": "PORTAL VEIN"}


@dataclass(frozen=True)
class Location:
    """``TULOC`` (empty when no term fits) and the reader's own words (``TULOCDTL``)."""

    term: str
    detail: str
    organ: str  # the case file's organ, as written

    @property
    def mapped(self) -> bool:
        return bool(self.term)


def _words(text: str) -> str:
    return re.sub(r"[\s_-]+", " ", text.strip().lower())


def loc_term(organ: str) -> str:
    """The LOC term of an organ as readers write it, or ``""`` when there is none here."""
    words = _words(organ)
    if words.upper() in LOC_TERMS:
        return words.upper()
    return _WORDS.get(words, "")


def lesion_location(lesion: Lesion) -> Location:
    """``TULOC`` and ``TULOCDTL`` of a lesion.

    A node (``kind`` node or porta-hepatis-node) is ``LYMPH NODE`` whatever its organ says, as
    the admiralonco ADTR template tells nodal from non-nodal lesions by ``TULOC``; a portal-vein
    thrombus is ``PORTAL VEIN``.  The detail keeps the organ when it is not the term's own word
    (``"hepatic"``), the kind when it says more (``"porta hepatis node"``, ``"effusion"``) and
    the site (``"segment VII"``), joined by ``", "``.
    """
    organ = lesion.organ or ""
    term = _KIND_TERMS.get(lesion.kind) or loc_term(organ)
    parts = []
    if lesion.kind in ("porta-hepatis-node", "effusion"):
        parts.append(lesion.kind.replace("-", " "))
    if organ.strip() and _words(organ).upper() != term:
        parts.append(organ.strip())
    if lesion.site and lesion.site.strip():
        parts.append(lesion.site.strip())
    return Location(term, ", ".join(parts), organ)


# A case file's end_of_study reason -> DS DSDECOD (terms of pharmaversesdtm's ds, with OTHER).
DSDECOD = {"completed": "COMPLETED", "withdrawn": "WITHDRAWAL BY SUBJECT",
           "lost-to-follow-up": "LOST TO FOLLOW-UP", "death": "DEATH", "other": "OTHER"}


def end_of_participation(reason: str | None, ended: date | None,
                         death: date | None) -> tuple[str, date] | None:
    """The standardized disposition term and date that ended a subject's participation: the
    recorded end of study, else a death (which ends it); ``None`` while still followed."""
    if reason and ended is not None:
        return DSDECOD.get(reason, "OTHER"), ended
    if death is not None:
        return "DEATH", death
    return None
