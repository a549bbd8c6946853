"""The case-file domain model (``../shared/spec/case-format.md``), as frozen dataclasses.

A :class:`Case` holds one reader's observations of one subject and **no derived categories**:
responses are recomputed from it every time.  Lengths are :class:`decimal.Decimal` millimetres
(rule GEN-1) so thresholds are decided exactly.  Fields the format does not define are kept in
``extra`` mappings so that reading and writing a file never loses anything a user or another tool
put there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

FORMAT_NAME = "mrecist-case"
FORMAT_VERSION = 1

Criteria = Literal["mRECIST", "RECIST1.1"]
CRITERIA: tuple[str, ...] = ("mRECIST", "RECIST1.1")
ROLES: tuple[str, ...] = ("target", "non-target", "new")
KINDS: tuple[str, ...] = ("tumor", "node", "porta-hepatis-node", "portal-vein-thrombus", "effusion")
STATUSES: tuple[str, ...] = (
    "measured",
    "absent",
    "too-small",
    "present",
    "progressed",
    "not-evaluable",
)
PHASES: tuple[str, ...] = (
    "non-contrast",
    "arterial",
    "portal-venous",
    "delayed",
    "hepatobiliary",
    "other",
)
PROCEDURE_TYPES: tuple[str, ...] = ("ablation", "resection", "systemic-therapy")
DEATH_CAUSES: tuple[str, ...] = ("cancer", "other", "unknown")
# Added optional field subject.end_of_study: why a subject's participation ended.
END_OF_STUDY_REASONS: tuple[str, ...] = ("completed", "withdrawn", "lost-to-follow-up", "death",
                                         "other")
LOCATIONS: tuple[str, ...] = ("intrahepatic", "extrahepatic")
# Added optional fields: a study's modality (DICOM Modality of its images) and who read a case.
MODALITIES: tuple[str, ...] = ("CT", "MR")
EVALUATORS: tuple[str, ...] = ("INVESTIGATOR", "INDEPENDENT ASSESSOR")
ENHANCEMENTS: tuple[str, ...] = ("typical", "atypical")
CYTOLOGY: tuple[str, ...] = ("positive", "negative", "not-done")

NODE_KINDS: frozenset[str] = frozenset({"node", "porta-hepatis-node"})
LIVER_ORGANS: frozenset[str] = frozenset({"liver", "hepatic"})

Extra = Mapping[str, Any]


def _no_extra() -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Death:
    date: date
    cause: str = "unknown"  # one of DEATH_CAUSES
    extra: Extra = field(default_factory=_no_extra, compare=False)


@dataclass(frozen=True)
class EndOfStudy:
    """When and why a subject's participation in the trial ended (an added optional field):
    ``completed`` the planned follow-up, ``withdrawn`` (consent withdrawn), ``lost-to-follow-up``,
    ``death`` or ``other`` (``note`` says what)."""

    date: date
    reason: str  # one of END_OF_STUDY_REASONS
    note: str | None = None
    extra: Extra = field(default_factory=_no_extra, compare=False)


@dataclass(frozen=True)
class Subject:
    id: str
    arm: str | None = None
    randomization_date: date | None = None
    last_known_alive: date | None = None
    death: Death | None = None
    # Randomisation strata for stratified log-rank / Cox (STAT-3); an added optional field.
    strata: Mapping[str, str] = field(default_factory=dict)
    extra: Extra = field(default_factory=_no_extra, compare=False)
    # Added optional field: end of participation (tells withdrawn from lost to follow-up).
    end_of_study: EndOfStudy | None = None


@dataclass(frozen=True)
class Series:
    uid: str
    phase: str = "other"  # one of PHASES
    description: str | None = None
    extra: Extra = field(default_factory=_no_extra, compare=False)


@dataclass(frozen=True)
class Timepoint:
    id: str
    date: date
    baseline: bool = False
    imaging: str = "done"  # "done" | "not-done"
    new_lesion_search: str = "complete"  # "complete" | "incomplete"
    study_uid: str | None = None
    series: tuple[Series, ...] | None = None  # None: phases not recorded
    slice_thickness_mm: Decimal | None = None
    extra: Extra = field(default_factory=_no_extra, compare=False)
    # Added optional field: "CT" or "MR", the DICOM Modality of the study's images (SDTM
    # --METHOD CT SCAN / MRI); None when not recorded.
    modality: str | None = None

    @property
    def imaging_done(self) -> bool:
        return self.imaging != "not-done"

    @property
    def phases(self) -> frozenset[str] | None:
        """The phases recorded for this study, or ``None`` when none were recorded."""
        if self.series is None:
            return None
        return frozenset(s.phase for s in self.series)


@dataclass(frozen=True)
class LesionMargin:
    """One treated lesion's ablative margin (MAR-1): either its masks -- the tumour on the
    pre-ablation image, the ablation zone on the post-ablation image (paths relative to the case
    file's folder; NIfTI files or DICOM folders) -- or a MAM recorded as measured elsewhere
    (another tool, a core lab; mm, negative when the tumour is not covered)."""

    tumour: str | None
    zone: str | None
    extra: Extra = field(default_factory=_no_extra, compare=False)
    mam_mm: Decimal | None = None
    mam_corrected_mm: Decimal | None = None

    @property
    def recorded(self) -> bool:
        """The MAM was recorded, not measured from masks."""
        return self.mam_mm is not None


@dataclass(frozen=True)
class MarginInputs:
    """Added optional field of a procedure: what its ablative margins are measured from
    (MAR-1, MAR-2).  ``registration`` is ``none``, ``rigid`` or ``deformable``; ``None`` means
    deformable when both images are given, else none."""

    lesions: tuple[tuple[str, LesionMargin], ...]
    pre_image: str | None = None
    post_image: str | None = None
    liver_pre: str | None = None
    liver_post: str | None = None
    registration: str | None = None
    landmarks: tuple[tuple[tuple[Decimal, Decimal, Decimal], tuple[Decimal, Decimal, Decimal]], ...] = ()
    extra: Extra = field(default_factory=_no_extra, compare=False)

    def lesion(self, lesion_id: str) -> LesionMargin | None:
        return dict(self.lesions).get(lesion_id)


@dataclass(frozen=True)
class Procedure:
    id: str
    type: str  # one of PROCEDURE_TYPES
    date: date
    lesions: tuple[str, ...] = ()
    technique: str | None = None
    extra: Extra = field(default_factory=_no_extra, compare=False)
    # Added optional field: a systemic therapy that is part of the trial's treatment (e.g. the
    # perioperative chemotherapy arm), so not a "new anticancer therapy" for REC-C2.
    protocol: bool = False
    # Added optional field: the images and masks its ablative margins are measured from (MAR).
    margin: MarginInputs | None = None


@dataclass(frozen=True)
class Lesion:
    id: str
    role: str  # one of ROLES
    kind: str = "tumor"  # one of KINDS
    organ: str = "liver"
    site: str | None = None
    location: str | None = None  # "intrahepatic" | "extrahepatic"; None: derived from organ
    extra: Extra = field(default_factory=_no_extra, compare=False)

    @property
    def is_node(self) -> bool:
        return self.kind in NODE_KINDS

    @property
    def is_intrahepatic(self) -> bool:
        if self.location is not None:
            return self.location == "intrahepatic"
        return self.organ.strip().lower() in LIVER_ORGANS


@dataclass(frozen=True)
class Geometry:
    """Where a measurement was made: a line in patient coordinates (LPS, mm) and/or a mask file.

    ``ablation_zone_mask`` is an added optional field: the ablation zone drawn at this timepoint,
    from which the plugin computes ``gap_to_ablation_zone_mm``.
    """

    series_uid: str | None = None
    line: tuple[tuple[Decimal, Decimal, Decimal], tuple[Decimal, Decimal, Decimal]] | None = None
    mask: str | None = None
    ablation_zone_mask: str | None = None
    extra: Extra = field(default_factory=_no_extra, compare=False)


@dataclass(frozen=True)
class Observation:
    lesion: str
    timepoint: str
    status: str  # one of STATUSES
    viable_diameter_mm: Decimal | None = None
    longest_diameter_mm: Decimal | None = None
    short_axis_mm: Decimal | None = None
    enhancement: str | None = None
    equivocal: bool = False
    cytology: str | None = None
    near_lesion: str | None = None
    gap_to_ablation_zone_mm: Decimal | None = None
    reader: str | None = None
    recorded_at: str | None = None
    note: str | None = None
    geometry: Geometry | None = None
    extra: Extra = field(default_factory=_no_extra, compare=False)


@dataclass(frozen=True)
class Case:
    subject: Subject
    timepoints: tuple[Timepoint, ...]
    lesions: tuple[Lesion, ...] = ()
    observations: tuple[Observation, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    criteria: str | None = None  # None: the settings' default (mRECIST)
    settings: Mapping[str, Any] = field(default_factory=dict)
    profile: str | None = None  # an added optional field: a named settings profile
    reader: str | None = None
    version: int = FORMAT_VERSION
    extra: Extra = field(default_factory=_no_extra, compare=False)
    source: Path | None = field(default=None, compare=False)

    # -- lookups ---------------------------------------------------------------------------
    @property
    def baseline(self) -> Timepoint:
        for tp in self.timepoints:
            if tp.baseline:
                return tp
        # A validated case always has a baseline; an unvalidated one falls back to the earliest.
        return min(self.timepoints, key=lambda t: t.date)

    def timepoint(self, tp_id: str) -> Timepoint:
        for tp in self.timepoints:
            if tp.id == tp_id:
                return tp
        raise KeyError(tp_id)

    def lesion(self, lesion_id: str) -> Lesion:
        for lesion in self.lesions:
            if lesion.id == lesion_id:
                return lesion
        raise KeyError(lesion_id)

    def sorted_timepoints(self) -> tuple[Timepoint, ...]:
        return tuple(sorted(self.timepoints, key=lambda t: t.date))

    def observation_index(self) -> dict[tuple[str, str], Observation]:
        return {(o.lesion, o.timepoint): o for o in self.observations}

    @property
    def origin_date(self) -> date:
        """Origin of the time-to-event endpoints: randomisation, else the baseline date."""
        return self.subject.randomization_date or self.baseline.date
