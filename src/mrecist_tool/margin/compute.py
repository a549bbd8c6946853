"""The margin of one treated tumour, end to end: masks (and images) in, MAR-7 report out.

:func:`margin_from_images` takes SimpleITK images: the tumour mask (pre-ablation space), the
ablation-zone mask (post-ablation space), optionally the pre/post images to register and the
liver masks; it registers when asked (:mod:`.registration`), reconstructs the surfaces between
their slices and measures the margin in true millimetres (:mod:`mrecist_tool.geometry.margin`).
:func:`margin_from_files` does the same from paths (NIfTI files or DICOM folders), which is
what ``mrecist margin`` and ``mrecist assess`` call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..geometry.margin import MarginResult, ablative_margin_models, placed_bounds
from ..geometry.mask_values import edges_reached
from ..geometry.surface import reconstruct
from .images import MarginInputError, binary_image, grid_of, load_image
from .registration import MAX_TRE_MM, MIN_LIVER_DICE, Registration, register

#: keys of ``mrecist margin --json`` (issue 10), in order
JSON_KEYS = ("mam_mm", "mam_corrected_mm", "coverage", "fraction_ge_5mm", "fraction_ge_10mm", "q05_mm", "q50_mm",
             "min_location_lps", "registration")


@dataclass(frozen=True)
class MarginReport:
    """The margin (geometry) with the registration it was measured through.

    Attributes
    ----------
    margin : MarginResult
        The minimal ablative margin and its distribution over the tumour surface (MAR-7).
    registration : Registration
        The pre → post registration the tumour was carried through, with its QA.
    mask_flags : tuple of str
        What the masks themselves say about the margin: a tumour or zone mask that reaches the
        edge of its image (``tumour-at-image-edge``, ``zone-at-image-edge``).
    """

    margin: MarginResult
    registration: Registration
    #: what the masks themselves say about the margin (a mask cut by the edge of its image)
    mask_flags: tuple[str, ...] = ()

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(self.mask_flags) + tuple(self.margin.flags) + tuple(self.registration.flags)

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object: the issue's keys first, then tolerance and flags."""
        m = self.margin

        def r(v: float | None, n: int = 2) -> float | None:
            return None if v is None else round(float(v), n)

        return {
            "mam_mm": r(m.mam_mm),
            "mam_corrected_mm": r(m.mam_corrected_mm),
            "coverage": r(m.coverage, 4),
            "fraction_ge_5mm": r(m.fraction_ge_5mm, 4),
            "fraction_ge_10mm": r(m.fraction_ge_10mm, 4),
            "q05_mm": r(m.q05_mm),
            "q50_mm": r(m.q50_mm),
            "min_location_lps": [round(v, 2) for v in m.min_point],
            "registration": self.registration.as_json(),
            "tolerance_mm": r(m.tolerance_mm),
            "capsule_fraction": r(m.capsule_fraction, 4),
            "margin_flags": list(self.flags),
        }


def margin_from_images(
    tumour: Any,
    zone: Any,
    *,
    pre: Any | None = None,
    post: Any | None = None,
    liver_pre: Any | None = None,
    liver_post: Any | None = None,
    method: str = "none",
    landmarks: Sequence[tuple[Sequence[float], Sequence[float]]] | None = None,
    step_mm: float = 0.5,
    subcapsular_correction: bool = True,
    min_liver_dice: float = MIN_LIVER_DICE,
    max_tre_mm: float = MAX_TRE_MM,
    registration: Registration | None = None,
    names: Mapping[str, str] | None = None,
) -> MarginReport:
    """MAM and the MAR-7 report for one tumour (see the module docstring).

    ``method`` is ``"none"`` (the tumour mask already lies in the zone's physical space; a
    different grid is fine), ``"rigid"`` or ``"deformable"`` (``pre`` and ``post`` needed).
    A ready ``registration`` (e.g. from a cache) is used instead of registering again.

    Parameters
    ----------
    tumour : SimpleITK.Image
        The tumour mask (non-zero inside) in the pre-ablation space.
    zone : SimpleITK.Image
        The ablation-zone mask (non-zero inside) in the post-ablation space.
    pre : SimpleITK.Image or None, optional
        The pre-ablation image to register (needed unless ``method`` is ``"none"``).
    post : SimpleITK.Image or None, optional
        The post-ablation image to register (needed unless ``method`` is ``"none"``).
    liver_pre : SimpleITK.Image or None, optional
        The liver mask in the pre-ablation space (registration QA: liver Dice).
    liver_post : SimpleITK.Image or None, optional
        The liver mask in the post-ablation space (registration QA and the subcapsular
        correction).
    method : str, optional
        ``"none"``, ``"rigid"`` or ``"deformable"`` (one of :data:`METHODS`).
    landmarks : Sequence of (point, point) pairs or None, optional
        Corresponding pre/post landmarks in millimetres (LPS), for the TRE of the QA.
    step_mm : float, optional
        The sampling step of the tumour surface in millimetres.
    subcapsular_correction : bool, optional
        Whether to report the margin corrected for the liver capsule (needs ``liver_post``).
    min_liver_dice : float, optional
        The registration is flagged below this liver Dice.
    max_tre_mm : float, optional
        The registration is flagged above this mean landmark TRE in millimetres.
    registration : Registration or None, optional
        A ready registration to use instead of registering again.
    names : Mapping of str to str, or None, optional
        How messages name the masks (keys ``tumour``, ``zone``, ``liver_pre``, ``liver_post``),
        e.g. ``{"tumour": "--tumour t.nii.gz"}``; callers that read files pass the file names so
        that the one value check of each mask names its file.

    Returns
    -------
    MarginReport
        The margin with the registration it was measured through.

    Raises
    ------
    MarginInputError
        When a mask is empty or the images to register are missing.
    """
    import SimpleITK as sitk

    # Images from callers are checked too: "non-zero is inside" on a non-binary mask would give a
    # silently wrong margin (geometry.mask_values).
    label = {"tumour": "the tumour mask", "zone": "the ablation-zone mask",
             "liver_pre": "the pre-ablation liver mask", "liver_post": "the post-ablation liver mask",
             **(names or {})}
    tumour, zone = binary_image(tumour, label["tumour"]), binary_image(zone, label["zone"])
    if liver_pre is not None:
        liver_pre = binary_image(liver_pre, label["liver_pre"])
    if liver_post is not None:
        liver_post = binary_image(liver_post, label["liver_post"])
    t = sitk.GetArrayViewFromImage(tumour) != 0
    a = sitk.GetArrayViewFromImage(zone) != 0
    if not t.any():
        raise MarginInputError("the tumour mask is empty")
    if not a.any():
        raise MarginInputError("the ablation-zone mask is empty")
    mask_flags = _edge_flags(np.asarray(t), np.asarray(a))
    t_model = reconstruct(np.asarray(t), grid_of(tumour))
    a_model = reconstruct(np.asarray(a), grid_of(zone))
    l_model = None
    if liver_post is not None and subcapsular_correction:
        lp = sitk.GetArrayViewFromImage(liver_post) != 0
        if lp.any():
            l_model = reconstruct(np.asarray(lp), grid_of(liver_post))

    if registration is None:
        if method == "none":
            registration = Registration("none", flags=())
        else:
            if pre is None or post is None:
                raise MarginInputError(f"--registration {method} needs the pre- and post-ablation images")
            registration = register(pre, post, method=method, liver_pre=liver_pre, liver_post=liver_post,
                                    landmarks=landmarks, exclude_post=zone, min_liver_dice=min_liver_dice,
                                    max_tre_mm=max_tre_mm)
    if registration.transform is None:
        m = ablative_margin_models(t_model, a_model, liver=l_model, step_mm=step_mm,
                                   subcapsular_correction=subcapsular_correction)
        return MarginReport(m, registration, mask_flags)
    # where the tumour lands in the post space: its box through the rigid part's inverse, with
    # room for the deformation; then the map post -> pre over that region
    frame = a_model.grid
    lo, hi = placed_bounds(t_model, frame, 15.0, registration.inverse_rigid())
    corners = np.array([[z, y, x] for z in (lo[0], hi[0]) for y in (lo[1], hi[1]) for x in (lo[2], hi[2])])
    pts = frame.index_to_point(corners)
    point_map = registration.point_map((pts.min(axis=0), pts.max(axis=0)))
    m = ablative_margin_models(t_model, a_model, liver=l_model, tumour_map=point_map, tumour_bounds=(lo, hi),
                               step_mm=step_mm, subcapsular_correction=subcapsular_correction)
    return MarginReport(m, registration, mask_flags)


def _edge_flags(tumour: np.ndarray, zone: np.ndarray) -> tuple[str, ...]:
    """Flags for a tumour or zone mask cut by the edge of its image.

    The surface reconstructed there is the image's edge, not the structure's: the margin is
    measured from a tumour surface that may not be the tumour's, or to a zone wall that may not
    be the zone's (a margin that looks smaller, or larger, than it is).
    """
    flags: list[str] = []
    for name, inside in (("tumour", tumour), ("zone", zone)):
        edges = edges_reached(inside)
        if edges:
            flags.append(f"{name}-at-image-edge: the {name} mask reaches the edge of its image "
                         f"({', '.join(edges)}); the surface there is the image's edge, MAM uncertain")
    return tuple(flags)


def margin_from_files(
    tumour: str | Path,
    zone: str | Path,
    *,
    pre_image: str | Path | None = None,
    post_image: str | Path | None = None,
    liver_pre: str | Path | None = None,
    liver_post: str | Path | None = None,
    method: str = "none",
    **options: Any,
) -> MarginReport:
    """:func:`margin_from_images` from paths (NIfTI files or DICOM series folders).

    This is what ``mrecist margin`` and ``mrecist assess`` call.

    Parameters
    ----------
    tumour : str or pathlib.Path
        The tumour mask (pre-ablation space).
    zone : str or pathlib.Path
        The ablation-zone mask (post-ablation space).
    pre_image : str, pathlib.Path or None, optional
        The pre-ablation image (needed unless ``method`` is ``"none"``).
    post_image : str, pathlib.Path or None, optional
        The post-ablation image (needed unless ``method`` is ``"none"``).
    liver_pre : str, pathlib.Path or None, optional
        The liver mask in the pre-ablation space.
    liver_post : str, pathlib.Path or None, optional
        The liver mask in the post-ablation space.
    method : str, optional
        ``"none"``, ``"rigid"`` or ``"deformable"``.
    **options : Any
        Passed on to :func:`margin_from_images` (``step_mm``, ``landmarks``, …).

    Returns
    -------
    MarginReport
        The margin with the registration it was measured through.

    Raises
    ------
    MarginInputError
        When a file cannot be read as a 3-D image, a mask is empty or the images to register
        are missing.
    """
    if method != "none" and (pre_image is None or post_image is None):
        raise MarginInputError(f"--registration {method} needs --pre-image and --post-image")

    def opt(path: str | Path | None, what: str) -> Any:
        return None if path is None else load_image(path, what)

    # The masks are read unchecked here: margin_from_images checks each one once (a full pass
    # over the volume), naming its file.
    paths = {"tumour": ("--tumour", tumour), "zone": ("--zone", zone),
             "liver_pre": ("--liver-pre", liver_pre), "liver_post": ("--liver-post", liver_post)}
    names = {k: f"{flag} {p}" for k, (flag, p) in paths.items() if p is not None}
    return margin_from_images(
        load_image(tumour, "--tumour"), load_image(zone, "--zone"),
        pre=opt(pre_image, "--pre-image") if method != "none" else None,
        post=opt(post_image, "--post-image") if method != "none" else None,
        liver_pre=opt(liver_pre, "--liver-pre"), liver_post=opt(liver_post, "--liver-post"),
        method=method, names=names, **options,
    )
