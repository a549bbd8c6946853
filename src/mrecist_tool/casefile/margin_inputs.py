"""The added optional ``margin`` field of a procedure: what its ablative margins are measured
from (MAR-1, MAR-2).  Read, checked and written here, apart from the rest of the format::

    "procedures": [{"id": "ABL1", "type": "ablation", "date": "2021-03-30", "lesions": ["L1"],
      "margin": {
        "pre_image": "images/pre",            # DICOM folder or NIfTI file, for registration
        "post_image": "images/post",
        "liver_pre": "masks/liver_pre.nii.gz",  # optional: drive the registration, liver Dice
        "liver_post": "masks/liver_post.nii.gz",  # optional: also the subcapsular correction
        "registration": "deformable",         # none | rigid | deformable
        "landmarks": [{"pre": [x, y, z], "post": [x, y, z]}],  # optional, LPS mm: TRE
        "lesions": {"L1": {"tumour": "masks/L1_tumour.nii.gz", "zone": "masks/L1_zone.nii.gz"},
                    "L2": {"mam_mm": 3.5, "mam_corrected_mm": 4.0}}   # recorded, measured elsewhere
      }}]

A lesion gives either its two masks or a recorded ``mam_mm`` (a margin measured in another tool
or by a core lab; optional ``mam_corrected_mm``, MAR-6), never both: the margin columns of
``ablations.csv`` then carry the recorded value, flagged ``recorded``.

Paths are relative to the case file's folder and may not leave it, like every mask path.
Without images the tumour mask must already lie in the zone's space (``registration`` none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import model as m

MARGIN_KEYS = frozenset({"pre_image", "post_image", "liver_pre", "liver_post", "registration", "landmarks", "lesions"})
LESION_MARGIN_KEYS = frozenset({"tumour", "zone", "mam_mm", "mam_corrected_mm"})
#: a recorded MAM beyond this (mm) is taken for a unit slip
MAX_RECORDED_MAM_MM = 100
REGISTRATIONS = ("none", "rigid", "deformable")
_PATH_KEYS = ("pre_image", "post_image", "liver_pre", "liver_post")


def build_margin_inputs(ck: Any, value: Any, path: str, treated: tuple[str, ...]) -> m.MarginInputs | None:
    """Check and build a procedure's ``margin`` object (``ck`` is the case-file checker)."""
    from .checks import mask_path

    d = ck.obj(value, path, "the margin inputs (images, liver masks and per-lesion tumour and zone masks)")
    if d is None:
        return None
    extra = ck.keys(d, path, MARGIN_KEYS, ("lesions",), "the margin inputs")
    ok = True
    paths: dict[str, str | None] = {}
    for key in _PATH_KEYS:
        if key in d:
            paths[key] = mask_path(ck, d[key], f"{path}.{key}")
            ok = ok and paths[key] is not None
    registration = None
    if "registration" in d:
        registration = ck.enum(d["registration"], path + ".registration", REGISTRATIONS)
        ok = ok and registration is not None
    if registration in ("rigid", "deformable") and not (paths.get("pre_image") and paths.get("post_image")):
        ck.error(path + ".registration", f"{registration} registration needs \"pre_image\" and \"post_image\"")
        ok = False
    landmarks = _landmarks(ck, d["landmarks"], path + ".landmarks") if "landmarks" in d else ()
    ok = ok and landmarks is not None
    lesions: list[tuple[str, m.LesionMargin]] = []
    if "lesions" in d:
        raw = d["lesions"]
        if not isinstance(raw, dict) or not raw:
            ck.wrong(path + ".lesions", raw, "an object from lesion id to {\"tumour\": ..., \"zone\": ...}")
            ok = False
        else:
            for lid, item in raw.items():
                where = f"{path}.lesions.{lid}"
                if ck.id(lid, where) is None:
                    ok = False
                    continue
                if treated and lid not in treated:
                    ck.error(where, f"lesion {lid!r} is not among the lesions this procedure treated "
                                    f"({', '.join(treated)})")
                    ok = False
                built = _lesion_margin(ck, item, where)
                if built is None:
                    ok = False
                else:
                    lesions.append((lid, built))
    if not ok:
        return None
    return m.MarginInputs(tuple(lesions), paths.get("pre_image"), paths.get("post_image"), paths.get("liver_pre"),
                          paths.get("liver_post"), registration, landmarks or (), extra)


def _lesion_margin(ck: Any, value: Any, path: str) -> m.LesionMargin | None:
    from .checks import mask_path

    d = ck.obj(value, path, "the lesion's masks {\"tumour\": ..., \"zone\": ...} or a recorded {\"mam_mm\": ...}")
    if d is None:
        return None
    if "mam_mm" in d or "mam_corrected_mm" in d:
        extra = ck.keys(d, path, LESION_MARGIN_KEYS, ("mam_mm",), "a recorded margin")
        if "tumour" in d or "zone" in d:
            ck.error(path, "give either the masks (\"tumour\", \"zone\") or a recorded \"mam_mm\", not both: "
                           "which one is the margin would be ambiguous")
            return None
        values = [_signed_mm(ck, d[k], f"{path}.{k}") if k in d else None for k in ("mam_mm", "mam_corrected_mm")]
        if values[0] is None or ("mam_corrected_mm" in d and values[1] is None):
            return None
        return m.LesionMargin(None, None, extra, values[0], values[1])
    extra = ck.keys(d, path, LESION_MARGIN_KEYS, ("tumour", "zone"), "the lesion's margin masks")
    tumour = mask_path(ck, d["tumour"], path + ".tumour") if "tumour" in d else None
    zone = mask_path(ck, d["zone"], path + ".zone") if "zone" in d else None
    if tumour is None or zone is None:
        return None
    return m.LesionMargin(tumour, zone, extra)


def _signed_mm(ck: Any, value: Any, path: str) -> Any:
    """A recorded margin in mm: any finite number (negative when the tumour is not covered)."""
    number = ck.number(value)
    if number is None:
        ck.wrong(path, value, "a number of millimetres (negative when the zone does not cover the tumour), "
                              "e.g. 3.5")
        return None
    if abs(number) > MAX_RECORDED_MAM_MM:
        ck.error(path, f"found {value} mm, expected a margin within ±{MAX_RECORDED_MAM_MM} mm; check the unit")
        return None
    return number


def _landmarks(ck: Any, value: Any, path: str) -> tuple[Any, ...] | None:
    if not isinstance(value, list):
        ck.wrong(path, value, "a list of {\"pre\": [x, y, z], \"post\": [x, y, z]} (LPS mm)")
        return None
    out = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(item, dict) or set(item) != {"pre", "post"}:
            ck.wrong(where, item, "{\"pre\": [x, y, z], \"post\": [x, y, z]} (LPS mm)")
            return None
        pair = []
        for key in ("pre", "post"):
            pt = item[key]
            coords = [ck.coordinate(c) for c in pt] if isinstance(pt, list) and len(pt) == 3 else None
            if coords is None or any(c is None for c in coords):
                ck.wrong(f"{where}.{key}", pt, "a point of three numbers [x, y, z] (mm)")
                return None
            pair.append((coords[0], coords[1], coords[2]))
        out.append((pair[0], pair[1]))
    return tuple(out)


def margin_dict(mi: m.MarginInputs) -> dict[str, Any]:
    """The case-file form of :class:`~mrecist_tool.model.MarginInputs` (for writing)."""
    out: dict[str, Any] = {}
    for key in _PATH_KEYS:
        v = getattr(mi, key)
        if v is not None:
            out[key] = v
    if mi.registration is not None:
        out["registration"] = mi.registration
    if mi.landmarks:
        out["landmarks"] = [{"pre": list(pre), "post": list(post)} for pre, post in mi.landmarks]
    out["lesions"] = {lid: _lesion_dict(lm) for lid, lm in mi.lesions}
    out.update(dict(mi.extra))
    return out


def _lesion_dict(lm: m.LesionMargin) -> dict[str, Any]:
    if lm.recorded:
        out: dict[str, Any] = {"mam_mm": lm.mam_mm}
        if lm.mam_corrected_mm is not None:
            out["mam_corrected_mm"] = lm.mam_corrected_mm
    else:
        out = {"tumour": lm.tumour, "zone": lm.zone}
    return {**out, **dict(lm.extra)}


def margin_files(mi: m.MarginInputs) -> list[tuple[str, str]]:
    """(JSON path suffix, relative path) of every file or folder the inputs name."""
    out = [(key, getattr(mi, key)) for key in _PATH_KEYS if getattr(mi, key) is not None]
    for lid, lm in mi.lesions:
        if lm.tumour is not None and lm.zone is not None:
            out += [(f"lesions.{lid}.tumour", lm.tumour), (f"lesions.{lid}.zone", lm.zone)]
    return out


def check_margin_files(ck: Any, mi: m.MarginInputs, path: str, case_dir: Path) -> None:
    """Each named file or folder is inside the case folder (an error when a link leads out);
    a missing one is a warning, like a missing mask: the margin is then not computed."""
    from ..safe_files import OutsideFolderError, resolve_inside

    for suffix, rel in margin_files(mi):
        where = f"{path}.{suffix}"
        try:
            target = resolve_inside(case_dir, rel)
        except OutsideFolderError as exc:
            ck.error(where, f"{rel!r} leads outside the case file's folder through a symbolic link (it "
                            f"resolves to {exc.real}); margin inputs must be inside the case folder")
            continue
        except (OSError, ValueError) as exc:
            ck.warn(where, f"{rel!r} cannot be looked up ({exc})")
            continue
        if not Path(target).exists():
            ck.warn(where, f"{rel!r} does not exist in the case file's folder ({case_dir}); the margin "
                           "will not be computed")
