"""The ablative margin as per-case image work of the pipeline (``mrecist assess``).

For every ablation procedure that carries margin inputs (``procedures[].margin``,
:mod:`mrecist_tool.casefile.margin_inputs`), each treated lesion's margin is measured -- with
the registration the procedure asks for, the lattice step ``margin_isotropic_spacing_mm`` and
``margin_subcapsular_correction`` of the case's settings -- and kept in
``work.outputs["margins"]`` as the columns ``ablations.csv`` adds (:data:`MARGIN_COLUMNS`).
Results come from the content-addressed cache (:mod:`.cache`) when the inputs have not changed,
so a re-assessment does not register again.  A margin that cannot be measured (a missing or
unreadable mask) leaves the numbers empty, says why in ``margin_flags`` and adds a warning to
the case; it never refuses the case.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import LesionMargin, MarginInputs
    from ..pipeline.case import CaseWork

#: columns added to ablations.csv (issue 10)
MARGIN_COLUMNS = ("mam_mm", "mam_corrected_mm", "coverage", "fraction_ge_5mm", "fraction_ge_10mm", "registration",
                  "liver_dice", "margin_flags")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else str(v)
    return str(v)


def columns_of(doc: dict[str, Any]) -> dict[str, str]:
    """The ablations.csv cells of one margin report (``MarginReport.as_json``)."""
    reg = doc.get("registration") or {}
    return {
        "mam_mm": _cell(doc.get("mam_mm")),
        "mam_corrected_mm": _cell(doc.get("mam_corrected_mm")),
        "coverage": _cell(doc.get("coverage")),
        "fraction_ge_5mm": _cell(doc.get("fraction_ge_5mm")),
        "fraction_ge_10mm": _cell(doc.get("fraction_ge_10mm")),
        "registration": _cell(reg.get("method")),
        "liver_dice": _cell(reg.get("liver_dice")),
        "margin_flags": "; ".join(doc.get("margin_flags") or ()),
    }


def _inside(folder: Path, rel: str | None) -> Path | None:
    from ..safe_files import resolve_inside

    if rel is None:
        return None
    path = Path(resolve_inside(folder, rel))
    if not path.exists():
        raise FileNotFoundError(f"{rel!r} does not exist in the case file's folder")
    return path


def procedure_margins(mi: MarginInputs, folder: Path, *, step_mm: float = 0.5, subcapsular: bool = True,
                      use_cache: bool = True) -> dict[str, dict[str, Any]]:
    """Margin reports (``as_json``) of every lesion of one procedure, by lesion id; a lesion
    whose margin cannot be measured gets ``{"error": why}``."""
    if all(lm.recorded for _, lm in mi.lesions):  # nothing to measure: no imaging library loaded
        return {lid: recorded_margin(lm) for lid, lm in mi.lesions}
    from . import cache
    from .compute import margin_from_images
    from .images import MarginInputError, load_image, load_mask_image

    method = mi.registration or ("deformable" if mi.pre_image and mi.post_image else "none")
    landmarks = [([float(v) for v in pre], [float(v) for v in post]) for pre, post in mi.landmarks] or None
    params = {"method": method, "step_mm": step_mm, "subcapsular": subcapsular, "landmarks": landmarks}
    out: dict[str, dict[str, Any]] = {}
    try:
        shared = {k: _inside(folder, getattr(mi, k)) for k in ("pre_image", "post_image", "liver_pre", "liver_post")}
    except (OSError, ValueError) as exc:
        return {lid: {"error": f"margin inputs: {exc}"} for lid, _ in mi.lesions}
    todo: list[tuple[str, Path, Path, str]] = []
    for lid, lm in mi.lesions:
        if lm.recorded:
            out[lid] = recorded_margin(lm)
            continue
        try:
            t, z = _inside(folder, lm.tumour), _inside(folder, lm.zone)
        except (OSError, ValueError) as exc:
            out[lid] = {"error": f"margin of {lid}: {exc}"}
            continue
        assert t is not None and z is not None
        inputs = [("tumour", t), ("zone", z)] + [(k, v if (method != "none" or k.startswith("liver")) else None)
                                                 for k, v in shared.items()]
        key = cache.cache_key(inputs, params) if use_cache else ""
        hit = cache.load(key) if use_cache else None
        if hit is not None:
            out[lid] = hit
        else:
            todo.append((lid, t, z, key))
    if not todo:
        return out
    try:
        images = {k: ((load_mask_image if k.startswith("liver") else load_image)(v, k)
                      if v is not None and (method != "none" or k.startswith("liver")) else None)
                  for k, v in shared.items()}
    except (MarginInputError, OSError, ValueError) as exc:
        for lid, *_ in todo:
            out[lid] = {"error": f"margin of {lid}: {exc}"}
        return out
    registration = None
    for lid, t, z, key in todo:
        try:
            # margin_from_images checks each mask's values once, naming its file; only a zone
            # that a registration will exclude is checked before, as the registration is reused.
            registering = registration is None and method != "none"
            tumour = load_image(t, "tumour")
            zone = (load_mask_image if registering else load_image)(z, "zone")
            if registering:
                from .registration import register

                registration = register(images["pre_image"], images["post_image"], method=method,
                                        liver_pre=images["liver_pre"], liver_post=images["liver_post"],
                                        landmarks=landmarks, exclude_post=zone)
            report = margin_from_images(tumour, zone, liver_post=images["liver_post"], method=method,
                                        step_mm=step_mm, subcapsular_correction=subcapsular,
                                        registration=registration,
                                        names={"tumour": f"tumour {t}", "zone": f"zone {z}"})
        except (MarginInputError, OSError, ValueError, RuntimeError) as exc:
            out[lid] = {"error": f"margin of {lid}: {exc}"}
            continue
        doc = report.as_json()
        out[lid] = doc
        if use_cache:
            cache.store(key, doc)
    return out


RECORDED_FLAG = "recorded: the MAM as recorded in the case file (measured elsewhere), not from images"


def recorded_margin(lm: LesionMargin) -> dict[str, Any]:
    """The margin report of a lesion whose MAM was recorded rather than measured: the recorded
    numbers, nothing else (coverage and fractions are unknown), flagged as recorded."""
    assert lm.mam_mm is not None
    return {"mam_mm": float(lm.mam_mm),
            "mam_corrected_mm": None if lm.mam_corrected_mm is None else float(lm.mam_corrected_mm),
            "registration": {}, "margin_flags": [RECORDED_FLAG]}


def margin_step(work: CaseWork) -> None:
    """Pipeline image work: the margins of the case's ablated lesions (see the module docstring)."""
    procs = [p for p in work.case.procedures if p.type == "ablation" and p.margin is not None]
    if not procs:
        return
    from ..rules.results import Finding

    step_mm = float(getattr(work.settings, "margin_isotropic_spacing_mm", 0.5) or 0.5)
    subcapsular = bool(getattr(work.settings, "margin_subcapsular_correction", True))
    cells: dict[str, dict[str, str]] = {}
    findings = []
    for p in procs:
        assert p.margin is not None
        for lid, doc in procedure_margins(p.margin, work.folder, step_mm=step_mm, subcapsular=subcapsular).items():
            if "error" in doc:
                cells[lid] = {**dict.fromkeys(MARGIN_COLUMNS, ""), "margin_flags": f"not computed: {doc['error']}"}
                findings.append(Finding("MAR-1", f"ablative margin not computed: {doc['error']}", lid, None))
                continue
            cells[lid] = columns_of(doc)
            if any(f.startswith("unreliable") for f in doc.get("margin_flags", ())):
                findings.append(Finding("MAR-2", f"{lid}: registration flagged unreliable; its margin "
                                                 f"({doc.get('mam_mm')} mm) needs review", lid, None))
    work.outputs["margins"] = cells
    work.add_findings(findings)
