"""Registration of the pre-ablation image to the post-ablation image (MAR-2).

Rigid first (a rotation and a translation: Euler angles), then, for ``deformable``, a cubic
B-spline free-form deformation on top of it, both with SimpleITK's registration framework:
Mattes mutual information on a random 5 % of the voxels, multi-resolution, on a working copy of
both images resampled to :data:`WORK_SPACING_MM` (cropped to the liver and 20 mm around it when
liver masks are given).  Liver masks drive the registration when given: the rigid stage starts
from the liver centroids' offset, and the metric only looks inside (a band around) the
post-ablation liver.

The result maps points of the *post* image (the fixed image, where the ablation zone was drawn)
to points of the *pre* image (where the tumour was drawn) -- the direction image registrations
are expressed in -- so the tumour's surface is pulled into the post space by evaluating its
reconstructed signed field at mapped points: a smooth label interpolation rather than
nearest-neighbour voxels (:mod:`mrecist_tool.geometry.margin`).

Quality (MAR-2): the Dice coefficient of the pre-ablation liver mask warped into the post space
(nearest-neighbour label interpolation) with the post-ablation liver mask, and the landmark
target registration error when landmark pairs are given.  Below :data:`MIN_LIVER_DICE` or above
:data:`MAX_TRE_MM` the registration is flagged unreliable -- and the margin is still reported,
with the flag beside it, never hidden.

Why SimpleITK and not itk-elastix: SimpleITK is already a dependency (DICOM, masks), and on this
project's 2-core machines it meets the time target (``benchmarks/margin_bench.py``); elastix
would add the ITK wheels (~100 MB) for the same B-spline/mutual-information method.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

WORK_SPACING_MM = 2.0
#: MAR-2 [D]: flag the registration unreliable below this liver Dice ...
MIN_LIVER_DICE = 0.90
#: ... or above this mean landmark TRE (the review range is 2-3 mm; mean TRE 1.62 mm in 29 studies)
MAX_TRE_MM = 2.5
METHODS = ("none", "rigid", "deformable")
BSPLINE_CONTROL_SPACING_MM = 35.0
#: the ablation zone and this much around it are left out of the metric (the tissue changed)
EXCLUDE_MARGIN_MM = 5.0
#: bound on each B-spline coefficient (mm): the deformation after the rigid stage is small
MAX_BSPLINE_MM = 10.0


@dataclass(frozen=True)
class Registration:
    """A registration pre → post and its quality (MAR-2).

    ``transform`` maps LPS points of the post image to the pre image (``None`` for ``none``).
    """

    method: str
    transform: Any = field(default=None, repr=False, compare=False)
    liver_dice: float | None = None
    tre_mm: float | None = None
    tre_max_mm: float | None = None
    flags: tuple[str, ...] = ()
    seconds: float = 0.0
    metric: float | None = None

    @property
    def unreliable(self) -> bool:
        return any(f.startswith("unreliable") for f in self.flags)

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "liver_dice": _round(self.liver_dice, 4),
            "tre_mm": _round(self.tre_mm, 2),
            "tre_max_mm": _round(self.tre_max_mm, 2),
            "flags": list(self.flags),
        }

    def point_map(self, bounds_lps: tuple[FloatArray, FloatArray] | None = None, spacing_mm: float = 1.0) -> Any:
        """A vectorised map of LPS points (N, 3) post → pre, or ``None`` for no registration.

        A rigid transform is applied exactly; a deformable one through its displacement field
        sampled every ``spacing_mm`` over ``bounds_lps`` (linear interpolation of a cubic
        B-spline's smooth field: far below a tenth of a millimetre off).
        """
        if self.transform is None:
            return None
        rigid = _as_affine(self.transform)
        if rigid is not None:
            m, t = rigid
            return lambda p: np.asarray(p, float) @ m.T + t
        if bounds_lps is None:
            raise ValueError("a deformable registration needs the region where points will be mapped")
        return _DisplacementMap(self.transform, bounds_lps, spacing_mm)

    def inverse_rigid(self) -> Any:
        """The rigid part's inverse (pre → post), for placing the tumour's bounding box."""
        if self.transform is None:
            return None
        rig = _rigid_part(self.transform)
        m, t = _as_affine(rig) or (np.eye(3), np.zeros(3))
        mi = np.linalg.inv(m)
        return lambda p: (np.asarray(p, float) - t) @ mi.T


def _round(v: float | None, n: int) -> float | None:
    return None if v is None else round(float(v), n)


def _rigid_part(tx: Any) -> Any:
    import SimpleITK as sitk

    if tx.GetName() == "CompositeTransform":
        comp = sitk.CompositeTransform(tx)
        for i in range(comp.GetNumberOfTransforms()):
            t = comp.GetNthTransform(i)
            if t.GetName() in ("Euler3DTransform", "AffineTransform", "TranslationTransform", "VersorRigid3DTransform"):
                return t
        return sitk.Transform(3, sitk.sitkIdentity)
    return tx


def _as_affine(tx: Any) -> tuple[FloatArray, FloatArray] | None:
    """(matrix, offset) with T(p) = M p + o, for a rigid/affine transform; else ``None``."""
    import SimpleITK as sitk

    name = tx.GetName()
    if name == "CompositeTransform":
        comp = sitk.CompositeTransform(tx)
        if comp.GetNumberOfTransforms() == 1:
            return _as_affine(comp.GetNthTransform(0))
        return None
    if name == "IdentityTransform":
        return np.eye(3), np.zeros(3)
    if name == "TranslationTransform":
        return np.eye(3), np.asarray(tx.GetOffset(), float)
    if name in ("Euler3DTransform", "AffineTransform", "VersorRigid3DTransform", "Similarity3DTransform"):
        a = sitk.AffineTransform(3)
        # generic: probe the transform at 4 points (exact for affine maps)
        pts = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
        img = np.array([tx.TransformPoint(tuple(p)) for p in pts])
        o = img[0]
        m = (img[1:] - o).T
        del a
        return m, o
    return None


class _DisplacementMap:
    """A deformable transform applied through its displacement field on a regular grid."""

    def __init__(self, tx: Any, bounds_lps: tuple[FloatArray, FloatArray], spacing_mm: float) -> None:
        import SimpleITK as sitk

        lo = np.asarray(bounds_lps[0], float) - 2 * spacing_mm
        hi = np.asarray(bounds_lps[1], float) + 2 * spacing_mm
        size = np.maximum(np.ceil((hi - lo) / spacing_mm).astype(int) + 1, 2)
        ref = sitk.Image([int(v) for v in size], sitk.sitkFloat32)
        ref.SetOrigin(tuple(float(v) for v in lo))
        ref.SetSpacing((spacing_mm,) * 3)
        field_img = sitk.TransformToDisplacementField(tx, sitk.sitkVectorFloat64, ref.GetSize(), ref.GetOrigin(),
                                                      ref.GetSpacing(), ref.GetDirection())
        self.field = sitk.GetArrayFromImage(field_img)  # (z, y, x, 3) displacement in LPS
        self.lo = lo
        self.spacing = spacing_mm
        self.tx = tx

    def __call__(self, p: FloatArray) -> FloatArray:
        from scipy import ndimage

        pts = np.asarray(p, float).reshape(-1, 3)
        idx = (pts - self.lo) / self.spacing  # (x, y, z) index
        coords = idx[:, ::-1].T  # (z, y, x)
        disp = np.stack([ndimage.map_coordinates(self.field[..., k], coords, order=1, mode="nearest")
                         for k in range(3)], axis=-1)
        out = pts + disp
        shape = np.asarray(self.field.shape[2::-1])
        outside = np.any((idx < 0) | (idx > shape - 1), axis=1)
        for i in np.flatnonzero(outside):  # rare: outside the sampled region, exactly
            out[i] = self.tx.TransformPoint(tuple(float(v) for v in pts[i]))
        return out.reshape(np.shape(p))


def _working_image(image: Any, region: Any | None, spacing: float) -> Any:
    """``image`` resampled onto a grid of ``spacing`` mm (in its own orientation) covering
    ``region`` (another image whose extent to cover) or the whole image."""
    import SimpleITK as sitk

    ref = region if region is not None else image
    size = np.array(ref.GetSize(), float)
    sp = np.array(ref.GetSpacing(), float)
    new_size = [max(int(np.ceil(n * s / spacing)), 8) for n, s in zip(size, sp, strict=True)]
    # keep the same physical box: the first voxel's corner stays where it was
    d = np.asarray(ref.GetDirection(), float).reshape(3, 3)
    corner = np.asarray(ref.GetOrigin(), float) - d @ (sp / 2)
    origin = corner + d @ (np.full(3, spacing) / 2)
    out = sitk.Resample(image, new_size, sitk.Transform(), sitk.sitkLinear, tuple(origin), (spacing,) * 3,
                        ref.GetDirection(), float(_background(image)), sitk.sitkFloat32)
    return out


def _background(image: Any) -> float:
    import SimpleITK as sitk

    arr = sitk.GetArrayViewFromImage(image)
    return float(np.percentile(arr[:: max(arr.shape[0] // 8, 1), ::8, ::8], 1))


def _crop_to_mask(image: Any, mask: Any, margin_mm: float) -> Any:
    """The region of ``image`` around ``mask``'s voxels, ``margin_mm`` wider."""
    import SimpleITK as sitk

    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(sitk.Cast(mask > 0, sitk.sitkUInt8))
    if 1 not in stats.GetLabels():
        return image
    x, y, z, nx, ny, nz = stats.GetBoundingBox(1)
    sp = np.array(mask.GetSpacing())
    pad = np.ceil(margin_mm / sp).astype(int)
    lo = np.maximum(np.array([x, y, z]) - pad, 0)
    hi = np.minimum(np.array([x + nx, y + ny, z + nz]) + pad, np.array(mask.GetSize()))
    return sitk.RegionOfInterest(mask, [int(v) for v in hi - lo], [int(v) for v in lo])


def _metric_mask(fixed: Any, liver_post: Any | None, exclude_post: Any | None) -> Any | None:
    """Where the metric looks, on the working fixed image: the post liver and a band around it
    (or everything), less the ablation zone and :data:`EXCLUDE_MARGIN_MM` around it."""
    import SimpleITK as sitk
    from scipy import ndimage

    if liver_post is None and exclude_post is None:
        return None
    if liver_post is not None:
        keep = sitk.Resample(sitk.Cast(liver_post > 0, sitk.sitkUInt8), fixed, sitk.Transform(),
                             sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
        arr = ndimage.binary_dilation(sitk.GetArrayFromImage(keep) > 0, iterations=3)
    else:
        arr = np.ones(sitk.GetArrayViewFromImage(fixed).shape, bool)
    if exclude_post is not None:
        ex = sitk.Resample(sitk.Cast(exclude_post > 0, sitk.sitkUInt8), fixed, sitk.Transform(),
                           sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
        exa = sitk.GetArrayFromImage(ex) > 0
        if exa.any():
            dist = ndimage.distance_transform_edt(~exa, sampling=fixed.GetSpacing()[::-1])
            arr &= dist > EXCLUDE_MARGIN_MM
    out = sitk.GetImageFromArray(arr.astype(np.uint8))
    out.CopyInformation(fixed)
    return out


def _windowed(fixed: Any, moving: Any, mask: Any | None) -> tuple[Any, Any]:
    """Both images clipped to the 1st-99th percentiles of the fixed image where the metric
    looks: air and bone would otherwise take most of the histogram's bins, leaving liver and
    neighbouring soft tissue in one or two."""
    import SimpleITK as sitk

    f = sitk.GetArrayViewFromImage(fixed)
    sel = f[sitk.GetArrayViewFromImage(mask) > 0] if mask is not None else f.ravel()
    if sel.size < 100:
        return fixed, moving
    lo, hi = (float(v) for v in np.percentile(sel, [1, 99]))
    if hi <= lo:
        return fixed, moving
    return sitk.Clamp(fixed, sitk.sitkFloat32, lo, hi), sitk.Clamp(moving, sitk.sitkFloat32, lo, hi)


def _centroid(mask: Any) -> FloatArray | None:
    import SimpleITK as sitk

    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(sitk.Cast(mask > 0, sitk.sitkUInt8))
    if 1 not in stats.GetLabels():
        return None
    return np.asarray(stats.GetCentroid(1), float)


def register(
    pre: Any,
    post: Any,
    *,
    method: str = "deformable",
    liver_pre: Any | None = None,
    liver_post: Any | None = None,
    landmarks: Sequence[tuple[Sequence[float], Sequence[float]]] | None = None,
    exclude_post: Any | None = None,
    min_liver_dice: float = MIN_LIVER_DICE,
    max_tre_mm: float = MAX_TRE_MM,
    seed: int = 20240,
) -> Registration:
    """Register the pre-ablation image to the post-ablation image (MAR-2).

    Parameters
    ----------
    pre, post : SimpleITK images (CT or MR), in LPS millimetres
    method : ``"rigid"`` or ``"deformable"`` (rigid, then a B-spline on top)
    liver_pre, liver_post : liver masks on ``pre`` / ``post`` (drive the registration, give
        the liver Dice)
    landmarks : pairs ``(pre_point, post_point)`` in LPS mm, for the target registration error
    exclude_post : a mask on ``post`` (the ablation zone) whose region, 5 mm wider, the metric
        ignores: the treated tissue changed between the scans, and matching the tumour to the
        zone would warp one into the other
    seed : the metric's random sampling seed (results are reproducible)

    Returns
    -------
    Registration, with its QA and flags.
    """
    import SimpleITK as sitk

    if method not in ("rigid", "deformable"):
        raise ValueError(f"registration method must be 'rigid' or 'deformable', got {method!r}")
    start = time.perf_counter()
    region_fixed = _crop_to_mask(post, liver_post, 20.0) if liver_post is not None else None
    region_moving = _crop_to_mask(pre, liver_pre, 20.0) if liver_pre is not None else None
    fixed = _working_image(post, region_fixed, WORK_SPACING_MM)
    moving = _working_image(pre, region_moving, WORK_SPACING_MM)
    fixed_mask = _metric_mask(fixed, liver_post, exclude_post)
    fixed, moving = _windowed(fixed, moving, fixed_mask)

    # rigid: start from the liver centroids' offset (or the images' centres)
    rigid = sitk.Euler3DTransform()
    c_fixed = _centroid(liver_post) if liver_post is not None else None
    c_moving = _centroid(liver_pre) if liver_pre is not None else None
    if c_fixed is not None and c_moving is not None:
        rigid.SetCenter(tuple(c_fixed))
        rigid.SetTranslation(tuple(c_moving - c_fixed))
    else:
        rigid = sitk.Euler3DTransform(sitk.CenteredTransformInitializer(
            fixed, moving, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.GEOMETRY))

    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(0.05, seed)
    reg.SetInterpolator(sitk.sitkLinear)
    if fixed_mask is not None:
        reg.SetMetricFixedMask(fixed_mask)
    reg.SetOptimizerAsRegularStepGradientDescent(learningRate=2.0, minStep=1e-3, numberOfIterations=200,
                                                 relaxationFactor=0.6, gradientMagnitudeTolerance=1e-6)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([4, 2, 1])
    reg.SetSmoothingSigmasPerLevel([2.0, 1.0, 0.0])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    start_params = rigid.GetParameters()
    reg.SetInitialTransform(rigid, inPlace=True)
    reg.Execute(fixed, moving)
    metric = float(reg.GetMetricValue())
    flags: list[str] = []
    if liver_pre is not None and liver_post is not None:
        # a rigid optimisation that ran away (e.g. across a thin slab) is worse than its start
        initial = sitk.Euler3DTransform(rigid)
        initial.SetParameters(start_params)
        start_dice = liver_dice(initial, liver_pre, liver_post)
        if liver_dice(rigid, liver_pre, liver_post) < start_dice - 0.02:
            flags.append("the rigid optimisation lowered the liver overlap; the liver centroids' alignment is used")
            rigid = initial
    final: Any = rigid

    if method == "deformable":
        domain = fixed
        size = np.array(domain.GetSize()) * np.array(domain.GetSpacing())
        mesh = [max(int(np.rint(s / BSPLINE_CONTROL_SPACING_MM)), 1) for s in size]
        bspline = sitk.BSplineTransformInitializer(domain, mesh, order=3)
        breg = sitk.ImageRegistrationMethod()
        breg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
        breg.SetMetricSamplingStrategy(breg.RANDOM)
        breg.SetMetricSamplingPercentage(0.03, seed + 1)
        breg.SetInterpolator(sitk.sitkLinear)
        if fixed_mask is not None:
            breg.SetMetricFixedMask(fixed_mask)
        breg.SetOptimizerAsLBFGSB(gradientConvergenceTolerance=1e-5, numberOfIterations=80,
                                  maximumNumberOfCorrections=5, maximumNumberOfFunctionEvaluations=200,
                                  costFunctionConvergenceFactor=1e7, lowerBound=-MAX_BSPLINE_MM,
                                  upperBound=MAX_BSPLINE_MM)
        breg.SetShrinkFactorsPerLevel([2, 1])
        breg.SetSmoothingSigmasPerLevel([1.0, 0.0])
        breg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
        breg.SetMovingInitialTransform(rigid)
        breg.SetInitialTransform(bspline, inPlace=True)
        breg.Execute(fixed, moving)
        metric = float(breg.GetMetricValue())
        composite = sitk.CompositeTransform(rigid)
        composite.AddTransform(bspline)
        final = composite

    if method == "deformable" and liver_pre is not None and liver_post is not None:
        rigid_dice = liver_dice(rigid, liver_pre, liver_post)
        deformed_dice = liver_dice(final, liver_pre, liver_post)
        if rigid_dice > deformed_dice + 0.005:  # the B-spline made the overlap worse: keep the rigid result
            flags.append(f"deformable stage lowered the liver Dice ({rigid_dice:.3f} -> {deformed_dice:.3f}); "
                         "the rigid registration is used")
            final = rigid
    dice, tre, tre_max, qa_flags = quality(final, liver_pre, liver_post, landmarks, min_liver_dice, max_tre_mm)
    flags += qa_flags
    return Registration(method, final, dice, tre, tre_max, tuple(flags), time.perf_counter() - start, metric)


def quality(
    transform: Any,
    liver_pre: Any | None,
    liver_post: Any | None,
    landmarks: Sequence[tuple[Sequence[float], Sequence[float]]] | None,
    min_liver_dice: float = MIN_LIVER_DICE,
    max_tre_mm: float = MAX_TRE_MM,
) -> tuple[float | None, float | None, float | None, list[str]]:
    """MAR-2 quality of a transform (post → pre): liver Dice, mean and largest landmark TRE,
    and the flags -- ``unreliable registration: ...`` below the thresholds."""
    flags: list[str] = []
    dice = None
    if liver_pre is not None and liver_post is not None:
        dice = liver_dice(transform, liver_pre, liver_post)
        if dice < min_liver_dice:
            flags.append(f"unreliable registration: liver Dice {dice:.3f} < {min_liver_dice:.2f} (MAR-2)")
    else:
        flags.append("no liver masks: registration quality (liver Dice, MAR-2) not measured")
    tre = tre_max = None
    if landmarks:
        errors = landmark_errors(transform, landmarks)
        tre, tre_max = float(np.mean(errors)), float(np.max(errors))
        if tre > max_tre_mm:
            flags.append(f"unreliable registration: landmark TRE {tre:.1f} mm > {max_tre_mm:g} mm (MAR-2)")
    return dice, tre, tre_max, flags


def liver_dice(transform: Any, liver_pre: Any, liver_post: Any) -> float:
    """Dice of the pre-ablation liver warped into the post space (nearest-neighbour labels)
    with the post-ablation liver, on the post liver's grid (its region, 10 mm wider)."""
    import SimpleITK as sitk

    ref = _crop_to_mask(liver_post, liver_post, 10.0)
    warped = sitk.Resample(sitk.Cast(liver_pre > 0, sitk.sitkUInt8), ref, transform, sitk.sitkNearestNeighbor, 0,
                           sitk.sitkUInt8)
    a = sitk.GetArrayViewFromImage(warped) > 0
    b = sitk.GetArrayViewFromImage(ref) > 0
    total = int(a.sum()) + int(b.sum())
    return float(2 * np.logical_and(a, b).sum() / total) if total else 0.0


def landmark_errors(transform: Any, landmarks: Sequence[tuple[Sequence[float], Sequence[float]]]) -> FloatArray:
    """Target registration error (mm) of each landmark pair (pre point, post point)."""
    out = []
    for pre_pt, post_pt in landmarks:
        mapped = np.asarray(transform.TransformPoint(tuple(float(v) for v in post_pt)), float)
        out.append(float(np.linalg.norm(mapped - np.asarray(pre_pt, float))))
    return np.asarray(out)
