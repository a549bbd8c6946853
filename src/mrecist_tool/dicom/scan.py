"""Discovery: turn a folder of DICOM files into patients → studies → series, headers only.

Every file under the folder is looked at (a DICOMDIR is not needed, and is listed among the
skipped files when present).  Each series gets the same verdict :func:`read_series` would act
on (loadable, or why not), a phase guess with its evidence, its slice geometry and whether its
pixels carry burned-in annotation.  Patients appear as pseudonyms (:mod:`.privacy`) unless
``reveal_identity=True``.  Study and series descriptions are kept in memory (the viewer shows
them) but the printable forms (``to_dict``) leave them, and the folders of skipped files, out
unless ``show_descriptions=True``: such free text often holds names or hospital numbers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from .. import model
from ..errors import DicomError
from .header import FileHeader
from .phase import PhaseGuess, detect_phase
from .privacy import hide_quoted, pseudonym
from .series import (
    PathLike,
    Skipped,
    image_problem,
    list_files,
    read_headers,
    series_parts,
    slice_refs,
)
from .stack import orientation_label, plan_stack


@dataclass(frozen=True)
class PartInfo:
    """One volume of a series that holds several (load it with ``read_series(part=...)``).

    Attributes
    ----------
    part : str
        Its name, e.g. ``"temporal=2"``, ``"acquisition=1"`` or ``"echo=2"``.
    n_slices : int
        Number of slices.
    spacing : tuple of float or None
        (z, y, x) mm when loadable.
    phase : str
        The contrast phase detected (:func:`detect_phase`).
    phase_evidence : tuple of str
        What the phase was told from.
    loadable : bool
        Whether it can be loaded as one regular volume.
    reason : str or None
        Why not, when it cannot.
    """

    part: str  # e.g. "temporal=2"
    n_slices: int
    spacing: tuple[float, float, float] | None
    phase: str
    phase_evidence: tuple[str, ...]
    loadable: bool
    reason: str | None

    def to_dict(self, hide: tuple[str, ...] = ()) -> dict[str, Any]:
        return {
            "part": self.part,
            "slices": self.n_slices,
            "spacing_mm": list(self.spacing) if self.spacing else None,
            "phase": self.phase,
            "phase_evidence": [hide_quoted(e, hide) for e in self.phase_evidence],
            "loadable": self.loadable,
            "reason": hide_quoted(self.reason, hide) if self.reason else None,
        }


@dataclass(frozen=True)
class SeriesInfo:
    """One series as discovery sees it.

    Attributes
    ----------
    series_uid : str
        Series Instance UID.
    study_uid : str
        Study Instance UID.
    modality : str
        E.g. ``"CT"``, ``"MR"``.
    description : str
        Series Description (free text: hidden from printed forms unless asked).
    series_number : int or None
        Series Number.
    n_files : int
        Files of the series.
    n_slices : int
        Slices of its volume.
    rows : int
        Rows of its images.
    columns : int
        Columns of its images.
    slice_thickness : float or None
        Slice Thickness, mm.
    spacing : tuple of float or None
        (z, y, x) mm when loadable.
    orientation : str
        ``"axial"``, ``"coronal"``, ``"sagittal"``, ``"oblique"``, ``"mixed"`` or ``"none"``.
    phase : str
        The contrast phase detected (:func:`detect_phase`).
    phase_evidence : tuple of str
        What the phase was told from.
    kind : str
        ``"volume"``, ``"multi-volume"``, ``"localizer"``, ``"non-image"``, ``"no-pixels"`` or
        ``"image"``.
    loadable : bool
        Whether :func:`read_series` can load it.
    reason : str or None
        Why not, when it cannot.
    warnings : tuple of str
        What a reader should know before measuring on it.
    transfer_syntax : str
        Transfer Syntax UID of its files.
    files : tuple of Path
        Its files.
    parts : tuple of PartInfo
        Several volumes in one series (kind ``"multi-volume"``): each loadable on its own.
    burned_in_annotation : bool or None
        True: some file says Burned In Annotation YES (the pixels may show the patient's name or
        ID); False: every file says NO; None: not declared by every file.
    free_text : tuple of str
        Series Description and Protocol Name as found, hidden from printable forms.
    """

    series_uid: str
    study_uid: str
    modality: str
    description: str
    series_number: int | None
    n_files: int
    n_slices: int
    rows: int
    columns: int
    slice_thickness: float | None
    spacing: tuple[float, float, float] | None  # (z, y, x) mm when loadable
    orientation: str  # axial / coronal / sagittal / oblique / mixed / none
    phase: str
    phase_evidence: tuple[str, ...]
    kind: str  # volume / localizer / non-image / no-pixels / image
    loadable: bool
    reason: str | None  # why not loadable
    warnings: tuple[str, ...]
    transfer_syntax: str
    files: tuple[Path, ...] = field(repr=False, default=())
    # Several volumes in one series (kind "multi-volume"): each loadable on its own.
    parts: tuple[PartInfo, ...] = ()
    # True: some file says Burned In Annotation YES (the pixels may show the patient's name or
    # ID); False: every file says NO; None: not declared by every file.
    burned_in_annotation: bool | None = None
    # Series Description and Protocol Name as found: free text hidden from printable forms.
    free_text: tuple[str, ...] = field(default=(), repr=False)

    def text_to_hide(self, show_descriptions: bool) -> tuple[str, ...]:
        return () if show_descriptions else (*self.free_text, self.description)

    def to_dict(self, show_descriptions: bool = False) -> dict[str, Any]:
        """The series as plain data; descriptions left out unless ``show_descriptions``."""
        hide = self.text_to_hide(show_descriptions)
        return {
            "parts": [p.to_dict(hide) for p in self.parts],
            "series_uid": self.series_uid,
            "series_number": self.series_number,
            "modality": self.modality,
            "description": self.description if show_descriptions else None,
            "files": self.n_files,
            "slices": self.n_slices,
            "rows": self.rows,
            "columns": self.columns,
            "slice_thickness_mm": self.slice_thickness,
            "spacing_mm": list(self.spacing) if self.spacing else None,
            "orientation": self.orientation,
            "phase": self.phase,
            "phase_evidence": [hide_quoted(e, hide) for e in self.phase_evidence],
            "kind": self.kind,
            "loadable": self.loadable,
            "reason": hide_quoted(self.reason, hide) if self.reason else None,
            "warnings": [hide_quoted(w, hide) for w in self.warnings],
            "burned_in_annotation": self.burned_in_annotation,
            "transfer_syntax": self.transfer_syntax,
        }


@dataclass(frozen=True)
class StudyInfo:
    """One study: its date and its series.

    Attributes
    ----------
    study_uid : str
        Study Instance UID.
    date : date or None
        Study Date.
    time : str
        Study Time, as written.
    description : str
        Study Description (free text: hidden from printed forms unless asked).
    series : tuple of SeriesInfo
        Its series.
    """
    study_uid: str
    date: dt.date | None
    time: str
    description: str
    series: tuple[SeriesInfo, ...]

    @property
    def loadable_series(self) -> tuple[SeriesInfo, ...]:
        return tuple(s for s in self.series if s.loadable)

    def to_dict(self, show_descriptions: bool = False) -> dict[str, Any]:
        return {
            "study_uid": self.study_uid,
            "date": self.date.isoformat() if self.date else None,
            "time": self.time,
            "description": self.description if show_descriptions else None,
            "series": [s.to_dict(show_descriptions) for s in self.series],
        }


@dataclass(frozen=True)
class PatientInfo:
    """One patient, as a pseudonym unless the identity was asked for.

    Attributes
    ----------
    pseudonym : str
        ``PAT-xxxxxxxx`` (:func:`pseudonym`).
    studies : tuple of StudyInfo
        The patient's studies.
    patient_id : str or None
        Patient ID, only with ``scan(reveal_identity=True)``.
    name : str or None
        Patient's Name, only with ``reveal_identity=True``.
    birth_date : str or None
        Patient's Birth Date, only with ``reveal_identity=True``.
    """
    pseudonym: str
    studies: tuple[StudyInfo, ...]
    # Filled only with reveal_identity=True.
    patient_id: str | None = field(default=None, repr=False)
    name: str | None = field(default=None, repr=False)
    birth_date: str | None = field(default=None, repr=False)

    def to_dict(self, show_descriptions: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"pseudonym": self.pseudonym}
        if self.patient_id is not None:
            d.update(patient_id=self.patient_id, name=self.name, birth_date=self.birth_date)
        d["studies"] = [s.to_dict(show_descriptions) for s in self.studies]
        return d


@dataclass(frozen=True)
class ScanResult:
    """What :func:`scan` found: patients (with studies and series) and the files skipped.

    Attributes
    ----------
    root : str
        What was scanned.
    patients : tuple of PatientInfo
        The patients found.
    skipped : tuple of Skipped
        Files left out, each with the reason.
    n_files : int
        Files looked at.
    """

    root: str
    patients: tuple[PatientInfo, ...]
    skipped: tuple[Skipped, ...]
    n_files: int

    @property
    def studies(self) -> tuple[StudyInfo, ...]:
        return tuple(st for p in self.patients for st in p.studies)

    @property
    def series(self) -> tuple[SeriesInfo, ...]:
        return tuple(se for st in self.studies for se in st.series)

    @property
    def loadable_series(self) -> tuple[SeriesInfo, ...]:
        return tuple(s for s in self.series if s.loadable)

    def series_by_uid(self, uid: str) -> SeriesInfo:
        for s in self.series:
            if s.series_uid == uid:
                return s
        raise KeyError(uid)

    @property
    def burned_in_series(self) -> tuple[SeriesInfo, ...]:
        """Series whose pixels may show identifiers (Burned In Annotation YES)."""
        return tuple(s for s in self.series if s.burned_in_annotation)

    def skipped_file(self, item: Skipped, show_descriptions: bool = False) -> str | None:
        """How a skipped file is shown: its path with ``show_descriptions``, else None (folder
        and file names in exports are free text, often a patient's name or number)."""
        return str(item.path) if show_descriptions else None

    def skipped_reason(self, item: Skipped, show_descriptions: bool = False) -> str:
        """Why a file was skipped, without its path unless ``show_descriptions``."""
        if show_descriptions:
            return item.reason
        return hide_quoted(item.reason, (str(item.path), str(item.path.parent)))

    def to_dict(self, show_descriptions: bool = False) -> dict[str, Any]:
        """The scan as plain data (what ``mrecist scan --json`` prints).

        Study and series descriptions, protocol names quoted in the phase evidence and the
        folders of skipped files are left out unless ``show_descriptions``.
        """
        return {
            "root": self.root,
            "files": self.n_files,
            "patients": [p.to_dict(show_descriptions) for p in self.patients],
            "skipped": [{"file": self.skipped_file(s, show_descriptions),
                         "reason": self.skipped_reason(s, show_descriptions)}
                        for s in self.skipped],
        }


def scan(
    folder: PathLike | Iterable[PathLike],
    *,
    reveal_identity: bool = False,
    salt: str | None = None,
    workers: int | None = None,
) -> ScanResult:
    """List the patients, studies and series under ``folder`` (headers only).

    Parameters
    ----------
    folder : str, Path or iterable of them
        A folder (searched recursively) or a list of files.
    reveal_identity : bool
        Include patient ID, name and birth date; by default patients are ``PAT-xxxxxxxx``
        pseudonyms and identities are not kept anywhere in the result.
    salt : str, optional
        Pseudonym salt (see :mod:`mrecist_tool.dicom.privacy`).
    workers : int, optional
        Threads for reading headers.

    Returns
    -------
    ScanResult
        Never raises for a bad file: such files are listed in ``skipped`` with the reason.
    """
    paths, _ = list_files(folder)
    headers, skipped = read_headers(paths, workers)
    kept: list[FileHeader] = []
    for h in headers:
        kind = h.non_image_kind
        if kind and kind.startswith("DICOMDIR"):
            skipped.append(Skipped(h.path, "DICOMDIR (media index; the folder is scanned "
                                           "directly)"))
        elif not h.series_uid or not h.study_uid:
            missing = "Series" if not h.series_uid else "Study"
            skipped.append(Skipped(h.path, f"no {missing} Instance UID"))
        else:
            kept.append(h)

    by_patient: dict[str, list[FileHeader]] = defaultdict(list)
    identity: dict[str, tuple[str, str, str]] = {}
    for h in kept:
        key = pseudonym(h.patient_id, h.patient_name, h.patient_birth_date, salt)
        by_patient[key].append(h)
        identity[key] = (h.patient_id, h.patient_name, h.patient_birth_date)

    patients = []
    for pid, hs in sorted(by_patient.items()):
        studies = []
        by_study: dict[str, list[FileHeader]] = defaultdict(list)
        for h in hs:
            by_study[h.study_uid].append(h)
        for study_uid, shs in by_study.items():
            by_series: dict[str, list[FileHeader]] = defaultdict(list)
            for h in shs:
                by_series[h.series_uid].append(h)
            series = sorted(
                (_series_info(uid, files) for uid, files in by_series.items()),
                key=lambda s: (s.series_number if s.series_number is not None else 1 << 30,
                               s.description),
            )
            first = shs[0]
            studies.append(StudyInfo(
                study_uid=study_uid,
                date=_parse_date(first.study_date),
                time=first.study_time,
                description=first.study_description,
                series=tuple(series),
            ))
        studies.sort(key=lambda s: (s.date or dt.date.min, s.time))
        ident = identity[pid] if reveal_identity else (None, None, None)
        patients.append(PatientInfo(pid, tuple(studies), *ident))
    return ScanResult(
        root=str(folder) if isinstance(folder, (str, Path)) else f"{len(paths)} files",
        patients=tuple(patients),
        skipped=tuple(sorted(skipped, key=lambda s: str(s.path))),
        n_files=len(paths),
    )


def _parse_date(text: str) -> dt.date | None:
    text = text.strip().replace("-", "").replace(".", "")
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        return None


def _phase_of(h: FileHeader) -> PhaseGuess:
    return detect_phase(
        series_description=h.series_description, protocol_name=h.protocol_name,
        contrast_agent=h.contrast_agent, contrast_start_time=h.contrast_start_time,
        acquisition_time=h.acquisition_time, series_time=h.series_time,
        content_time=h.content_time,
    )


def _part_info(part: str, headers: list[FileHeader]) -> PartInfo:
    guess = _phase_of(headers[0])
    try:
        refs, _ = slice_refs(headers)
        plan = plan_stack(refs, label="")
    except DicomError as exc:
        return PartInfo(part, len(headers), None, guess.phase, guess.evidence, False,
                        str(exc).removeprefix(": "))
    return PartInfo(part, plan.n_slices, plan.spacing, guess.phase, guess.evidence, True, None)


def _series_info(uid: str, headers: list[FileHeader]) -> SeriesInfo:
    headers = sorted(headers, key=lambda h: (h.instance_number or 0, h.path.name))
    h = headers[0]
    guess = _phase_of(h)
    parts: tuple[PartInfo, ...] = ()
    images = [x for x in headers if image_problem(x) is None]
    n_slices = sum(len(x.frames) if x.frames is not None else x.number_of_frames for x in images)
    spacing = None
    warnings: tuple[str, ...] = ()
    reason: str | None = None
    orients = {_orientation(x) for x in images}
    orientation = orients.pop() if len(orients) == 1 else ("mixed" if orients else "none")
    if not images:
        problems = sorted({image_problem(x) or "" for x in headers})
        reason = problems[0]
        kind = "non-image" if h.non_image_kind else "no-pixels"
    elif all(x.is_localizer for x in images):
        kind, reason = "localizer", "localizer (scout) images"
    else:
        kind = "volume"
        try:
            refs, dup_warnings = slice_refs(images)
            plan = plan_stack(refs, label="")
            spacing = plan.spacing
            n_slices = plan.n_slices
            orientation = plan.orientation_label
            warnings = (*dup_warnings, *plan.warnings)
            if len(images) < len(headers):
                warnings += (f"{len(headers) - len(images)} non-image object(s) in the series",)
        except DicomError as exc:
            reason = str(exc).removeprefix(": ")
            kind = "image"
            split = series_parts(images)
            if split:
                parts = tuple(_part_info(key, hs) for key, hs in split.items())
                kind = "multi-volume"
                field_name = next(iter(split)).split("=")[0]
                reason = (f"holds {len(split)} volumes ({field_name} "
                          f"{', '.join(k.split('=')[1] for k in split)}); load one with "
                          f"read_series(..., part='{next(iter(split))}') and so on")
    thickness = h.slice_thickness
    if thickness is None and h.frames:
        thickness = h.frames[0].slice_thickness
    burned = {x.burned_in_annotation for x in headers}
    burned_in = True if "YES" in burned else (False if burned == {"NO"} else None)
    return SeriesInfo(
        series_uid=uid,
        study_uid=h.study_uid,
        modality=h.modality,
        description=h.series_description or h.protocol_name,
        series_number=h.series_number,
        n_files=len(headers),
        n_slices=n_slices,
        rows=h.rows,
        columns=h.columns,
        slice_thickness=thickness,
        spacing=spacing,
        orientation=orientation,
        phase=guess.phase,
        phase_evidence=guess.evidence,
        kind=kind,
        loadable=reason is None,
        reason=reason,
        warnings=warnings,
        transfer_syntax=h.transfer_syntax,
        files=tuple(x.path for x in headers),
        parts=parts,
        burned_in_annotation=burned_in,
        free_text=tuple(t for t in {x.series_description for x in headers}
                        | {x.protocol_name for x in headers} if t),
    )


def _orientation(h: FileHeader) -> str:
    o = h.orientation or (h.frames[0].orientation if h.frames else None)
    if not o:
        return "none"
    return orientation_label(np.cross(o[:3], o[3:]))


def studies_to_timepoints(
    scan_result: ScanResult,
    baseline_study_uid: str | None = None,
    *,
    patient: str | None = None,
    descriptions: bool = False,
) -> list[model.Timepoint]:
    """Case-file timepoints (``BL``, ``FU1``, …, by date) from the studies of one patient.

    Each timepoint carries the study's date and ``study_uid``, its loadable image series with
    their phases (a series holding several volumes, such as a dynamic contrast MR, gives one
    entry per loadable volume with ``extra["part"]`` naming it; a phase that cannot be told is
    recorded as ``other``, with the series description, for the reader to correct) and the
    thinnest slice thickness among them (used by the measurability floor, REC-M1), and the
    modality (``CT`` or ``MR``) when all its image series have that one (SDTM ``--METHOD``).
    Studies on the same date (e.g. chest and abdomen exported as two studies) become one
    timepoint: the study with the most loadable series gives the ``study_uid``, the others are
    listed in ``extra["other_study_uids"]``.  Studies dated before ``baseline_study_uid`` are
    left out, since a case file's baseline must be its earliest timepoint.

    Parameters
    ----------
    scan_result : ScanResult
        What :func:`scan` found.
    baseline_study_uid : str, optional
        The baseline study; default: the earliest.
    patient : str, optional
        The patient's pseudonym, when the scan holds several patients.
    descriptions : bool
        Copy series descriptions (free text that may name the patient) into the timepoints'
        series.

    Returns
    -------
    list of Timepoint
        In date order, the first being the baseline.

    Raises
    ------
    DicomError
        The scan holds several patients and ``patient`` (a pseudonym) does not choose one; no
        dated study; ``baseline_study_uid`` not found.
    """
    patients = scan_result.patients
    if patient is not None:
        patients = tuple(p for p in patients if p.pseudonym == patient)
        if not patients:
            raise DicomError(f"{scan_result.root}: no patient {patient!r} in the scan")
    if len(patients) != 1:
        names = ", ".join(p.pseudonym for p in scan_result.patients) or "none"
        raise DicomError(f"{scan_result.root}: {len(scan_result.patients)} patients ({names}); "
                         "pass patient= one pseudonym")
    studies = [s for s in patients[0].studies if s.date is not None]
    undated = len(patients[0].studies) - len(studies)
    if not studies:
        raise DicomError(f"{scan_result.root}: no study with a Study Date")
    by_date: dict[dt.date, list[StudyInfo]] = defaultdict(list)
    for s in studies:
        assert s.date is not None
        by_date[s.date].append(s)
    dates = sorted(by_date)
    if baseline_study_uid is not None:
        match = [s for s in studies if s.study_uid == baseline_study_uid]
        if not match:
            raise DicomError(f"{scan_result.root}: no study {baseline_study_uid}")
        assert match[0].date is not None
        dates = [d for d in dates if d >= match[0].date]
    timepoints = []
    for i, day in enumerate(dates):
        group = sorted(by_date[day], key=lambda s: -len(s.loadable_series))
        main = group[0]
        if baseline_study_uid is not None and i == 0:
            main = next((s for s in group if s.study_uid == baseline_study_uid), main)
        series = [se for s in group for se in s.loadable_series]
        parts = [(se, part) for s in group for se in s.series for part in se.parts
                 if part.loadable]
        thickness = [se.slice_thickness for se in series if se.slice_thickness]
        thickness += [se.slice_thickness for se, _ in parts if se.slice_thickness]
        # The study's modality when all its image series agree (CT or MR): SDTM --METHOD.
        modalities = {se.modality for se in series} | {se.modality for se, _ in parts}
        modality = modalities.pop() if len(modalities) == 1 else None
        extra: dict[str, Any] = {}
        others = [s.study_uid for s in group if s is not main]
        if others:
            extra["other_study_uids"] = others
        if undated and i == 0:
            extra["undated_studies_left_out"] = undated
        timepoints.append(model.Timepoint(
            id="BL" if i == 0 else f"FU{i}",
            date=day,
            baseline=i == 0,
            study_uid=main.study_uid,
            series=tuple(
                model.Series(uid=se.series_uid,
                             phase=se.phase if se.phase in model.PHASES else "other",
                             description=(se.description or None) if descriptions else None)
                for se in series
            ) + tuple(
                # One entry per volume of a multi-volume series (e.g. each DCE time point),
                # told apart by extra["part"]: read_series(..., part=extra["part"]).
                model.Series(uid=se.series_uid,
                             phase=part.phase if part.phase in model.PHASES else "other",
                             description=(f"{se.description} [{part.part}]".strip()
                                          if descriptions else None),
                             extra={"part": part.part})
                for se, part in parts
            ),
            slice_thickness_mm=Decimal(str(min(thickness))) if thickness else None,
            extra=extra,
            modality=modality if modality in model.MODALITIES else None,
        ))
    return timepoints
