"""Generate the synthetic sample studies: DICOM series, ground-truth masks and case files.

Layout under ``OUT``::

    OUT/studies/manifest.json                      generator, version, seed, size, subjects
    OUT/studies/<SUBJECT>/<SUBJECT>.json           ground-truth case file (case-format.md)
    OUT/studies/<SUBJECT>/masks/<TP>_<LESION>.nii.gz        viable tumour masks
    OUT/studies/<SUBJECT>/masks/<TP>_<LESION>_zone.nii.gz   ablation zone masks
    OUT/studies/<SUBJECT>/dicom/<date>_<study>/<nnn>_<series>/IMnnnn.dcm

Every diameter and gap in the case files is measured from the ground-truth masks with
:mod:`mrecist_tool.geometry`, exactly as the napari plugin would measure a reader's masks.
The output is a deterministic function of (seed, size, subjects, generator version): two runs
give byte-identical files.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from .. import geometry
from ..atomic import atomic_write_text, recover_folder, staged_folder, write_new_file_with
from .dicom_writer import SeriesInfo, StudyInfo, make_uid, write_series
from .render import AxialGrid, render_slabs, shapes_mask
from .scenarios import LesionAtVisit, SubjectPlan, Visit, anatomy, lesion_layers, plans

GENERATOR = "mrecist-tool sample studies"
GENERATOR_VERSION = 1
MANIFEST = "manifest.json"
DEFAULT_SEED = 0
N_SUBJECTS = 3

# (shape (z, y, x), spacing (z, y, x) mm)
GRIDS: dict[tuple[str, bool], tuple[tuple[int, int, int], tuple[float, float, float]]] = {
    ("CT", False): ((40, 192, 192), (4.0, 2.0, 2.0)),
    ("MR", False): ((32, 160, 160), (5.0, 2.4, 2.4)),
    ("CT", True): ((300, 512, 512), (0.8, 0.78125, 0.78125)),
    ("MR", True): ((120, 384, 384), (2.0, 1.0, 1.0)),
}
CT_SERIES = (("non-contrast", "NC"), ("arterial", "ART"), ("portal-venous", "PV"))
MR_SERIES = (("non-contrast", "t1_vibe_fs_tra_pre"), ("arterial", "t1_vibe_fs_tra_art"),
             ("portal-venous", "t1_vibe_fs_tra_pv"))
# seconds after the bolus start at which each phase is acquired (non-contrast: before it)
DELAY_S = {"CT": {"non-contrast": -50, "arterial": 35, "portal-venous": 70},
           "MR": {"non-contrast": -90, "arterial": 30, "portal-venous": 70}}
VIABILITY_PHASE = {"hypervascular": "arterial", "crlm": "portal-venous"}


@dataclass(frozen=True)
class GenerationResult:
    """What :func:`generate_studies` did."""

    studies_dir: Path
    case_files: tuple[Path, ...]
    n_dicom_files: int
    skipped: bool
    seconds: float


def _hms(seconds: int) -> str:
    return time.strftime("%H%M%S", time.gmtime(seconds))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


def visit_grid(plan_index: int, visit_index: int, modality: str, full_size: bool, seed: int
               ) -> AxialGrid:
    """The acquisition grid of one visit: centred on the liver, table position jittered."""
    shape, spacing = GRIDS[(modality, full_size)]
    rng = np.random.default_rng([seed, plan_index, visit_index, 7])
    shift = rng.uniform(-4.0, 4.0, 3)
    nz, ny, nx = shape
    origin = (
        round(-(nx - 1) / 2 * spacing[2] + float(shift[0]), 3),
        round(-(ny - 1) / 2 * spacing[1] + float(shift[1]), 3),
        round(-(nz - 1) / 2 * spacing[0] + float(shift[2]), 3),
    )
    return AxialGrid(shape, spacing, origin)


def _write_mask(path: Path, mask: np.ndarray, grid: AxialGrid) -> None:
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(mask.astype(np.uint8))
    img.SetSpacing((grid.spacing[2], grid.spacing[1], grid.spacing[0]))
    img.SetOrigin(grid.origin)
    img.SetDirection((1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_new_file_with(path, lambda target: sitk.WriteImage(img, str(target), True))


def _mm(value: float) -> Decimal:
    return Decimal(str(round(value, 1)))


class _SubjectWriter:
    def __init__(self, plan: SubjectPlan, index: int, root: Path, seed: int, full_size: bool):
        self.plan = plan
        self.index = index
        self.root = root
        self.seed = seed
        self.full_size = full_size
        self.n_files = 0
        self.timepoints: list[dict[str, Any]] = []
        self.observations: list[dict[str, Any]] = []
        self.base = anatomy()

    def write(self) -> Path:
        for v, visit in enumerate(self.plan.visits):
            self._visit(v, visit)
        case = {
            "format": "mrecist-case",
            "version": 1,
            "simulated": True,
            "subject": {"id": self.plan.id},
            "reader": "ground-truth",
            "criteria": "mRECIST",
            "timepoints": self.timepoints,
            "procedures": [dict(p) for p in self.plan.procedures],
            "lesions": [dict(les) for les in self.plan.lesions],
            "observations": self.observations,
        }
        path = self.root / f"{self.plan.id}.json"
        _write_case(case, path)
        return path

    # -- one visit ---------------------------------------------------------------------------
    def _visit(self, v: int, visit: Visit) -> None:
        plan, modality = self.plan, visit.modality
        grid = visit_grid(self.index, v, modality, self.full_size, self.seed)
        key = (self.seed, plan.id, visit.tp)
        study_uid = make_uid(*key, "study")
        day = visit.date.isoformat()
        study_desc = "CT ABDOMEN LIVER 3 PHASE" if modality == "CT" else "MR LIVER DYNAMIC T1"
        start = 9 * 3600 + 1800 * self.index + 600 * v  # deterministic clock times
        study = StudyInfo(
            subject=plan.id,
            patient_name=f"SYNTHETIC^S{self.index:03d}",
            study_uid=study_uid,
            frame_of_reference_uid=make_uid(*key, "frame"),
            study_date=visit.date.strftime("%Y%m%d"),
            study_time=_hms(start),
            study_id=f"{visit.tp}",
            accession=f"SYN{self.index:03d}{v:02d}",
            description=study_desc,
            modality=modality,
        )
        study_dir = self.root / "dicom" / f"{day}_{_slug(study_desc)}"
        layers = list(self.base)
        for state in visit.lesions:
            layers.extend(lesion_layers(state))
        phases = [p for p, _ in (CT_SERIES if modality == "CT" else MR_SERIES)]
        bolus = start + 300
        series: dict[str, SeriesInfo] = {}
        thick = f"{grid.spacing[0]:g}mm"
        for n, (phase, name) in enumerate(CT_SERIES if modality == "CT" else MR_SERIES, start=1):
            desc = f"{name} {thick}" if modality == "CT" else name
            series[phase] = SeriesInfo(
                uid=make_uid(*key, "series", phase),
                number=n + 1,
                description=desc,
                phase=phase,
                acquisition_time=_hms(bolus + DELAY_S[modality][phase]),
                contrast=phase != "non-contrast",
                bolus_start_time=_hms(bolus),
            )
        # render slab by slab; write each series' slices as they come
        seed_key = (self.seed, self.index, v)
        for z0, by_phase in render_slabs(grid, layers, modality, phases, seed_key):
            for phase, pixels in by_phase.items():
                s = series[phase]
                folder = study_dir / f"{s.number:03d}_{_slug(s.description)}"
                self.n_files += len(write_series(folder, study, s, grid, [(z0, pixels)]))
        self.timepoints.append({
            "id": visit.tp,
            "date": day,
            **({"baseline": True} if visit.baseline else {}),
            "study_uid": study_uid,
            "series": [{"uid": series[p].uid, "phase": p, "description": series[p].description}
                       for p in phases],
            "slice_thickness_mm": Decimal(f"{grid.spacing[0]:g}"),
        })
        for state in visit.lesions:
            self.observations.append(self._observe(visit, state, grid, series))

    def _observe(self, visit: Visit, state: LesionAtVisit, grid: AxialGrid,
                 series: dict[str, SeriesInfo]) -> dict[str, Any]:
        kind = self.plan.kinds.get(state.lesion, state.kind)
        phase = VIABILITY_PHASE[kind]
        obs: dict[str, Any] = {"lesion": state.lesion, "timepoint": visit.tp}
        geo: dict[str, Any] = {"series_uid": series[phase].uid}
        notes = [f"synthetic ground truth; measured on the {phase} series"]
        viable = shapes_mask(grid, state.viable) if state.viable else None
        zone = shapes_mask(grid, [state.zone]) if state.zone is not None else None
        if viable is not None and viable.any():
            name = f"masks/{visit.tp}_{state.lesion}.nii.gz"
            _write_mask(self.root / name, viable, grid)
            vd = geometry.viable_diameter(viable, grid.spacing, rule="largest",
                                          origin=grid.origin)
            if vd.largest is not None:  # always, for a non-empty mask
                geo["line"] = vd.largest.long_axis.as_line(2)
            geo["mask"] = name
            if state.status == "measured":
                obs["status"] = "measured"
                obs["viable_diameter_mm"] = _mm(vd.diameter_mm)
            else:
                obs["status"] = state.status
                notes.append(f"longest axial diameter {vd.diameter_mm:.1f} mm")
            if kind == "hypervascular" and _role(self.plan, state.lesion) == "new":
                obs["enhancement"] = "typical"  # arterial hyperenhancement with washout
        else:
            obs["status"] = "absent"
            notes.append("no viable tumour at the ablation zone")
        if zone is not None:
            name = f"masks/{visit.tp}_{state.lesion}_zone.nii.gz"
            _write_mask(self.root / name, zone, grid)
            geo["ablation_zone_mask"] = name
            if state.near_zone and viable is not None and viable.any():
                gap = geometry.gap_mm(viable, zone, grid.spacing)
                obs["gap_to_ablation_zone_mm"] = _mm(gap)
                notes.append("viable focus contiguous with the ablation zone" if gap == 0
                             else f"viable focus {gap:.1f} mm from the ablation zone")
        obs["note"] = "; ".join(notes)
        obs["geometry"] = geo
        return obs


def _role(plan: SubjectPlan, lesion: str) -> str:
    for les in plan.lesions:
        if les["id"] == lesion:
            return str(les["role"])
    return ""


def _write_case(case: dict[str, Any], path: Path) -> None:
    """Write through the case-file module (validating the file); plain JSON without it."""
    try:
        from ..casefile import case_from_dict, write_case
    except ImportError:  # pragma: no cover - the case-file module is part of the toolkit
        atomic_write_text(path, json.dumps(case, indent=2, default=str) + "\n")
        return
    write_case(case_from_dict(case, file=path), path)


def _manifest(seed: int, full_size: bool, subjects: Sequence[str]) -> dict[str, Any]:
    return {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "full_size": full_size,
        "subjects": list(subjects),
        "synthetic": True,
    }


def existing_manifest(studies_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((studies_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def generate_studies(
    out_dir: str | Path,
    seed: int = DEFAULT_SEED,
    *,
    full_size: bool = False,
    subjects: int | None = None,
    if_missing: bool = False,
) -> GenerationResult:
    """Write the synthetic sample studies under ``out_dir/studies``.

    Parameters
    ----------
    out_dir : folder that receives ``studies/``
    seed : drives the image noise, the small jitter of lesion positions and sizes, and the UIDs
    full_size : 512×512×300-slice CT series (and 384×384×120 MR) instead of the small default
        (192×192×40 CT, 160×160×32 MR); defaults to one subject unless ``subjects`` is given
    subjects : how many of the subjects (1–3) to write
    if_missing : do nothing when ``studies/`` already holds the same set (same manifest)
    """
    t0 = time.perf_counter()
    all_plans = plans(seed)
    n = subjects if subjects is not None else (1 if full_size else N_SUBJECTS)
    if not 1 <= n <= len(all_plans):
        raise ValueError(f"subjects must be between 1 and {len(all_plans)}, got {n}")
    chosen = all_plans[:n]
    studies_dir = Path(out_dir) / "studies"
    manifest = _manifest(seed, full_size, [p.id for p in chosen])
    if if_missing:
        old = existing_manifest(studies_dir)
        cases = tuple(studies_dir / p.id / f"{p.id}.json" for p in chosen)
        if old is not None and {k: old.get(k) for k in manifest} == manifest and all(
            c.exists() for c in cases
        ):
            return GenerationResult(studies_dir, cases, int(old.get("dicom_files", 0)), True,
                                    time.perf_counter() - t0)
    studies_dir.mkdir(parents=True, exist_ok=True)
    (studies_dir / MANIFEST).unlink(missing_ok=True)  # incomplete until rewritten at the end
    case_files = []
    n_files = 0
    for k, plan in enumerate(chosen, start=1):
        final = studies_dir / plan.id
        recover_folder(final)  # a subject folder left half-built by an interrupted run
        # Built aside and switched in with one rename: never half a subject (not flushed to disk
        # file by file: synthetic data can be generated again).
        with staged_folder(final, durable=False) as stage:
            writer = _SubjectWriter(plan, k, stage.path, seed, full_size)
            case = writer.write()
            n_files += writer.n_files
        case_files.append(final / case.name)
    manifest["dicom_files"] = n_files
    atomic_write_text(studies_dir / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return GenerationResult(studies_dir, tuple(case_files), n_files, False,
                            time.perf_counter() - t0)


def default_cache_dir() -> Path:
    """Where :func:`sample_subject_path` keeps its studies: ``$MRECIST_SAMPLE_DIR``, else
    ``$XDG_CACHE_HOME/mrecist-tool/sample``, else ``~/.cache/mrecist-tool/sample``."""
    env = os.environ.get("MRECIST_SAMPLE_DIR")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mrecist-tool" / "sample"


def sample_subject_path(subject: str = "SYN-003", *, seed: int = DEFAULT_SEED,
                        cache_dir: str | Path | None = None) -> Path:
    """The ground-truth case file of one sample subject, generating the studies if needed.

    For File ▸ Open Sample in the napari plugin: the first call writes the small default set
    (a few seconds) into the cache folder; later calls return at once.  The subject's folder
    (DICOM under ``dicom/``, masks under ``masks/``) is the case file's parent.
    """
    ids = [p.id for p in plans(seed)]
    if subject not in ids:
        raise ValueError(f"unknown sample subject {subject!r}; expected one of {', '.join(ids)}")
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    result = generate_studies(root, seed, if_missing=True)
    return result.studies_dir / subject / f"{subject}.json"


__all__ = [
    "GenerationResult",
    "default_cache_dir",
    "generate_studies",
    "sample_subject_path",
]
