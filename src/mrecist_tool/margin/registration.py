"""Registration of the pre-ablation image to the post-ablation image (MAR-2).

Rigid first (a rotation and a translation: Euler angles), then, for ``deformable``, a cubic
B-spline free-form deformation on top of it, both with SimpleITK's registration framework:
Mattes mutual information on a random 5 % (rigid) / 3 % (B-spline) of the voxels,
multi-resolution, on a working copy of both images resampled to :data:`WORK_SPACING_MM`
(cropped to the liver and 20 mm around it when liver masks are given).  Liver masks drive the
registration when given: the rigid stage starts from the liver centroids' offset, and the metric
only looks inside (a band around) the post-ablation liver.

Speed: each scan is read once, into the working grid; everything the optimisation and its
fall-back checks touch (liver masks, metric mask, centroids, intermediate Dice) lives on that
grid, and the final liver Dice of the QA is measured on a :data:`QA_SPACING_MM` grid over the
post liver, a deformable transform applied through its displacement field.  On the
512×512×300 pair of ``benchmarks/margin_bench.py`` this took the CPU time of a deformable
registration from 104 s to 35 s, with the same error against the true transform (0.9 mm)
and the same phantom accuracy.  Coarser B-spline levels (shrink 4, 2) were 3× faster again but
lowered the liver Dice on that pair (the stage fell back to rigid): not used.  Nothing is
written to disk.

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
would add the ITK wheels (~100 MB) for the same B-spline/mutual-information method.  Measured on
the benchmark's pair with the same working grids and masks, each run beside a baseline resample
of its own (load 8-10 on 2 cores): itk-elastix 0.25.4 (default rigid + B-spline maps, 35 mm
grid) took 136 s wall, 17.6× its baseline (importing itk alone took 50 s), liver Dice 0.982,
error against the true transform 0.72 mm; this module 77 s, 7.1× its baseline, Dice 0.994,
0.83 mm.  And elastix's transformix writes
``deformationField.nii`` into the current folder unless told otherwise: a user's folder must not
get stray files.
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
#: the liver Dice of the QA (MAR-2) is measured on a grid of this spacing (mm)
QA_SPACING_MM = 1.0
#: MAR-2 [D]: flag the registration unreliable below this liver Dice ...
MIN_LIVER_DICE = 0.90
#: ... or above this mean landmark TRE (the review range is 2-3 mm; mean TRE 1.62 mm in 29 studies)
MAX_TRE_MM = 2.5
#: the registration methods of ``mrecist margin --registration`` and a procedure's margin inputs
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

    Attributes
    ----------
    method : str
        ``"none"``, ``"rigid"`` or ``"deformable"`` (one of :data:`METHODS`).
    transform : SimpleITK.Transform or None
        Post → pre in LPS millimetres; ``None`` for ``"none"``.
    liver_dice : float or None
        The liver Dice after registration (QA), when both liver masks were given.
    tre_mm : float or None
        The mean target registration error over the landmark pairs, in mm.
    tre_max_mm : float or None
        The largest landmark error, in mm.
    flags : tuple of str
        QA flags (``"unreliable ..."`` below :data:`MIN_LIVER_DICE` or above :data:`MAX_TRE_MM`).
    seconds : float
        Wall time of the registration.
    metric : float or None
        The final value of the registration metric.
    stage_seconds : tuple of (str, float)
        Wall time of each stage (preparation, rigid, deformable, QA), for benchmarks.
    """

    method: str
    transform: Any = field(default=None, repr=False, compare=False)
    liver_dice: float | None = None
    tre_mm: float | None = None
    tre_max_mm: float | None = None
    flags: tuple[str, ...] = ()
    seconds: float = 0.0
    metric: float | None = None
    #: wall time of each stage (preparation, rigid, deformable, QA), for benchmarks
    stage_seconds: tuple[tuple[str, float], ...] = ()

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


@dataclass(frozen=True)
class Settings:
    """How the registration works: grids, sampling, iterations (module docstring: why these).

    The defaults meet the time target of ``benchmarks/margin_bench.py`` and the accuracy bounds of
    the registration phantoms (``tests/test_margin_registration.py``).
    """

    #: both images are resampled onto a grid of this spacing (mm), cropped to the liver and
    #: 20 mm around it when liver masks are given
    work_spacing_mm: float = WORK_SPACING_MM
    rigid_sampling: float = 0.05
    rigid_iterations: int = 200
    rigid_shrink: tuple[int, ...] = (4, 2, 1)
    #: B-spline control points this far apart (mm)
    control_spacing_mm: float = BSPLINE_CONTROL_SPACING_MM
    #: fraction of the working grid's voxels the metric samples, per level of the B-spline stage
    bspline_sampling: tuple[float, ...] = (0.03, 0.03)
    bspline_iterations: int = 40
    bspline_shrink: tuple[int, ...] = (2, 1)
    #: threads of the registration (0: SimpleITK's default, every core)
    threads: int = 0


DEFAULT_SETTINGS = Settings()


@dataclass
class _Working:
    """Everything the optimisation touches, on the working grids (a few MB, not the scans)."""

    fixed: Any
    moving: Any
    liver_fixed: Any | None
    liver_moving: Any | None


def _mask_box(mask: Any, margin_mm: float) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    """Index box (x, y, z; lower, size) of a mask's non-zero voxels, ``margin_mm`` wider; one
    pass over the array (LabelShapeStatistics on a 512×512×300 mask takes seconds)."""
    import SimpleITK as sitk

    arr = sitk.GetArrayViewFromImage(mask)
    along_z = np.flatnonzero(arr.any(axis=(1, 2)))
    if along_z.size == 0:
        return None
    sub = arr[along_z[0]: along_z[-1] + 1]
    along_y = np.flatnonzero(sub.any(axis=(0, 2)))
    along_x = np.flatnonzero(sub.any(axis=(0, 1)))
    lo = np.array([along_x[0], along_y[0], along_z[0]])
    hi = np.array([along_x[-1], along_y[-1], along_z[-1]]) + 1
    pad = np.ceil(margin_mm / np.asarray(mask.GetSpacing(), float)).astype(np.int64)
    lo = np.maximum(lo - pad, 0)
    hi = np.minimum(hi + pad, np.asarray(mask.GetSize()))
    return lo, hi - lo


def _grid(ref: Any, spacing: float, box: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None) -> Any:
    """An empty image of ``spacing`` mm in ``ref``'s orientation covering ``box`` of ``ref``
    (or all of it): the first voxel's corner stays where it was."""
    import SimpleITK as sitk

    lo, size = box if box is not None else (np.zeros(3, np.int64), np.asarray(ref.GetSize()))
    sp = np.asarray(ref.GetSpacing(), float)
    d = np.asarray(ref.GetDirection(), float).reshape(3, 3)
    new_size = [max(int(np.ceil(n * s / spacing)), 8) for n, s in zip(size, sp, strict=True)]
    first = np.asarray(ref.TransformContinuousIndexToPhysicalPoint([float(v) for v in lo]), float)
    origin = first - d @ (sp / 2) + d @ (np.full(3, spacing) / 2)
    out = sitk.Image(new_size, sitk.sitkUInt8)
    out.SetOrigin(tuple(float(v) for v in origin))
    out.SetSpacing((spacing,) * 3)
    out.SetDirection(ref.GetDirection())
    return out


def _working_image(image: Any, grid: Any) -> Any:
    """``image`` resampled (linear) onto ``grid``."""
    import SimpleITK as sitk

    return sitk.Resample(image, grid, sitk.Transform(), sitk.sitkLinear, float(_background(image)), sitk.sitkFloat32)


def _mask_on(mask: Any, grid: Any) -> Any:
    """A binary mask resampled onto ``grid`` (linear, then > 0.5), as UInt8."""
    import SimpleITK as sitk

    return sitk.Resample(mask != 0, grid, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32) > 0.5


def _background(image: Any) -> float:
    import SimpleITK as sitk

    arr = sitk.GetArrayViewFromImage(image)
    return float(np.percentile(arr[:: max(arr.shape[0] // 8, 1), ::8, ::8], 1))


def _prepare(pre: Any, post: Any, liver_pre: Any | None, liver_post: Any | None, spacing: float) -> _Working:
    """The working images and liver masks, each scan read once (see :class:`Settings`)."""
    box_fixed = _mask_box(liver_post, 20.0) if liver_post is not None else None
    box_moving = _mask_box(liver_pre, 20.0) if liver_pre is not None else None
    grid_fixed, grid_moving = _grid(post, spacing, box_fixed), _grid(pre, spacing, box_moving)
    return _Working(
        _working_image(post, grid_fixed), _working_image(pre, grid_moving),
        _mask_on(liver_post, grid_fixed) if liver_post is not None else None,
        _mask_on(liver_pre, grid_moving) if liver_pre is not None else None,
    )


def _crop_to_mask(image: Any, mask: Any, margin_mm: float) -> Any:
    """The region of ``image`` around ``mask``'s voxels, ``margin_mm`` wider."""
    import SimpleITK as sitk

    box = _mask_box(mask, margin_mm)
    if box is None:
        return image
    lo, size = box
    return sitk.RegionOfInterest(image, [int(v) for v in size], [int(v) for v in lo])


def _metric_mask(fixed: Any, liver_fixed: Any | None, exclude_post: Any | None) -> Any | None:
    """Where the metric looks, on the working fixed image: the post liver and a band around it
    (or everything), less the ablation zone and :data:`EXCLUDE_MARGIN_MM` around it."""
    import SimpleITK as sitk
    from scipy import ndimage

    if liver_fixed is None and exclude_post is None:
        return None
    if liver_fixed is not None:
        arr = ndimage.binary_dilation(sitk.GetArrayViewFromImage(liver_fixed) > 0, iterations=3)
    else:
        arr = np.ones(sitk.GetArrayViewFromImage(fixed).shape, bool)
    if exclude_post is not None:
        ex = sitk.Resample(sitk.Cast(exclude_post != 0, sitk.sitkUInt8), fixed, sitk.Transform(),
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
    """The physical centroid of a (working-grid) mask's voxels."""
    import SimpleITK as sitk

    arr = sitk.GetArrayViewFromImage(mask)
    idx = np.argwhere(arr > 0)
    if idx.size == 0:
        return None
    mean_xyz = idx.mean(axis=0)[::-1]
    return np.asarray(mask.TransformContinuousIndexToPhysicalPoint([float(v) for v in mean_xyz]), float)


def _dice_on(transform: Any, moving_mask: Any, fixed_mask: Any) -> float:
    """Dice of ``moving_mask`` warped (nearest neighbour) onto ``fixed_mask``'s grid with it."""
    import SimpleITK as sitk

    warped = sitk.Resample(moving_mask, fixed_mask, transform, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    a = sitk.GetArrayViewFromImage(warped) > 0
    b = sitk.GetArrayViewFromImage(fixed_mask) > 0
    total = int(a.sum()) + int(b.sum())
    return float(2 * np.logical_and(a, b).sum() / total) if total else 0.0


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
    settings: Settings = DEFAULT_SETTINGS,
) -> Registration:
    """Register the pre-ablation image to the post-ablation image (MAR-2).

    Parameters
    ----------
    pre : SimpleITK.Image
        The pre-ablation image (CT or MR), in LPS millimetres.
    post : SimpleITK.Image
        The post-ablation image (CT or MR), in LPS millimetres.
    method : str, optional
        ``"rigid"`` or ``"deformable"`` (rigid, then a B-spline on top).
    liver_pre : SimpleITK.Image or None, optional
        The liver mask on ``pre`` (drives the registration, gives the liver Dice).
    liver_post : SimpleITK.Image or None, optional
        The liver mask on ``post``.
    landmarks : Sequence of (point, point) pairs or None, optional
        Pairs ``(pre_point, post_point)`` in LPS mm, for the target registration error.
    exclude_post : SimpleITK.Image or None, optional
        A mask on ``post`` (the ablation zone) whose region, 5 mm wider, the metric ignores: the
        treated tissue changed between the scans, and matching the tumour to the zone would
        warp one into the other.
    min_liver_dice : float, optional
        Flag the registration unreliable below this liver Dice.
    max_tre_mm : float, optional
        Flag the registration unreliable above this mean landmark error in mm.
    seed : int, optional
        The metric's random sampling seed (results are reproducible).
    settings : Settings, optional
        Grids, sampling and iterations.

    Returns
    -------
    Registration
        The registration, with its QA and flags.
    """
    import SimpleITK as sitk

    if method not in ("rigid", "deformable"):
        raise ValueError(f"registration method must be 'rigid' or 'deformable', got {method!r}")
    start = time.perf_counter()
    stages: list[tuple[str, float]] = []

    def lap(name: str) -> None:
        stages.append((name, time.perf_counter() - start - sum(t for _, t in stages)))

    w = _prepare(pre, post, liver_pre, liver_post, settings.work_spacing_mm)
    fixed_mask = _metric_mask(w.fixed, w.liver_fixed, exclude_post)
    fixed, moving = _windowed(w.fixed, w.moving, fixed_mask)
    lap("prepare")
    both_livers = w.liver_fixed is not None and w.liver_moving is not None

    # rigid: start from the liver centroids' offset (or the images' centres)
    rigid = sitk.Euler3DTransform()
    c_fixed = _centroid(w.liver_fixed) if w.liver_fixed is not None else None
    c_moving = _centroid(w.liver_moving) if w.liver_moving is not None else None
    if c_fixed is not None and c_moving is not None:
        rigid.SetCenter(tuple(c_fixed))
        rigid.SetTranslation(tuple(c_moving - c_fixed))
    else:
        rigid = sitk.Euler3DTransform(sitk.CenteredTransformInitializer(
            fixed, moving, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.GEOMETRY))

    reg = sitk.ImageRegistrationMethod()
    if settings.threads:
        reg.SetNumberOfThreads(settings.threads)
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(settings.rigid_sampling, seed)
    reg.SetInterpolator(sitk.sitkLinear)
    if fixed_mask is not None:
        reg.SetMetricFixedMask(fixed_mask)
    reg.SetOptimizerAsRegularStepGradientDescent(learningRate=2.0, minStep=1e-3,
                                                 numberOfIterations=settings.rigid_iterations,
                                                 relaxationFactor=0.6, gradientMagnitudeTolerance=1e-6)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel(list(settings.rigid_shrink))
    reg.SetSmoothingSigmasPerLevel([max(s / 2.0, 0.0) if s > 1 else 0.0 for s in settings.rigid_shrink])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    start_params = rigid.GetParameters()
    reg.SetInitialTransform(rigid, inPlace=True)
    reg.Execute(fixed, moving)
    metric = float(reg.GetMetricValue())
    flags: list[str] = []
    if both_livers:
        # a rigid optimisation that ran away (e.g. across a thin slab) is worse than its start
        initial = sitk.Euler3DTransform(rigid)
        initial.SetParameters(start_params)
        if _dice_on(rigid, w.liver_moving, w.liver_fixed) < _dice_on(initial, w.liver_moving, w.liver_fixed) - 0.02:
            flags.append("the rigid optimisation lowered the liver overlap; the liver centroids' alignment is used")
            rigid = initial
    final: Any = rigid
    lap("rigid")

    if method == "deformable":
        domain = fixed
        size = np.array(domain.GetSize()) * np.array(domain.GetSpacing())
        mesh = [max(int(np.rint(s / settings.control_spacing_mm)), 1) for s in size]
        bspline = sitk.BSplineTransformInitializer(domain, mesh, order=3)
        breg = sitk.ImageRegistrationMethod()
        if settings.threads:
            breg.SetNumberOfThreads(settings.threads)
        breg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
        breg.SetMetricSamplingStrategy(breg.RANDOM)
        breg.SetMetricSamplingPercentagePerLevel(list(settings.bspline_sampling), seed + 1)
        breg.SetInterpolator(sitk.sitkLinear)
        if fixed_mask is not None:
            breg.SetMetricFixedMask(fixed_mask)
        breg.SetOptimizerAsLBFGSB(gradientConvergenceTolerance=1e-5, numberOfIterations=settings.bspline_iterations,
                                  maximumNumberOfCorrections=5,
                                  maximumNumberOfFunctionEvaluations=settings.bspline_iterations * 5 // 2,
                                  costFunctionConvergenceFactor=1e7, lowerBound=-MAX_BSPLINE_MM,
                                  upperBound=MAX_BSPLINE_MM)
        breg.SetShrinkFactorsPerLevel(list(settings.bspline_shrink))
        breg.SetSmoothingSigmasPerLevel([max(s / 2.0, 0.0) if s > 1 else 0.0 for s in settings.bspline_shrink])
        breg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
        breg.SetMovingInitialTransform(rigid)
        breg.SetInitialTransform(bspline, inPlace=True)
        breg.Execute(fixed, moving)
        metric = float(breg.GetMetricValue())
        composite = sitk.CompositeTransform(rigid)
        composite.AddTransform(bspline)
        final = composite
        if both_livers:
            rigid_dice = _dice_on(rigid, w.liver_moving, w.liver_fixed)
            deformed_dice = _dice_on(final, w.liver_moving, w.liver_fixed)
            if rigid_dice > deformed_dice + 0.005:  # the B-spline made the overlap worse: keep the rigid result
                flags.append(f"deformable stage lowered the liver Dice ({rigid_dice:.3f} -> {deformed_dice:.3f}); "
                             "the rigid registration is used")
                final = rigid
        lap("deformable")
    dice, tre, tre_max, qa_flags = quality(final, liver_pre, liver_post, landmarks, min_liver_dice, max_tre_mm)
    flags += qa_flags
    lap("quality")
    return Registration(method, final, dice, tre, tre_max, tuple(flags), time.perf_counter() - start, metric,
                        tuple(stages))


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


def liver_dice(transform: Any, liver_pre: Any, liver_post: Any, spacing_mm: float = QA_SPACING_MM) -> float:
    """Dice of the pre-ablation liver warped into the post space (nearest-neighbour labels)
    with the post-ablation liver, on a grid of ``spacing_mm`` over the post liver's region,
    10 mm wider (1 mm: within 0.005 of the Dice on a 0.7×0.7×1 mm scan's own grid, at a tenth
    of the cost).  A deformable transform is applied through its displacement field sampled
    every :data:`WORK_SPACING_MM` (a cubic B-spline's field is smooth at that scale)."""
    import SimpleITK as sitk

    box = _mask_box(liver_post, 10.0)
    if box is None:
        return 0.0
    grid = _grid(liver_post, spacing_mm, box)
    fixed = _mask_on(liver_post, grid)
    if _as_affine(transform) is None:
        transform = _field_transform(transform, grid, WORK_SPACING_MM)
    warped = sitk.Resample(liver_pre != 0, grid, transform, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    a = sitk.GetArrayViewFromImage(warped) > 0
    b = sitk.GetArrayViewFromImage(fixed) > 0
    total = int(a.sum()) + int(b.sum())
    return float(2 * np.logical_and(a, b).sum() / total) if total else 0.0


def _field_transform(transform: Any, grid: Any, spacing_mm: float) -> Any:
    """``transform`` as a displacement field every ``spacing_mm`` over ``grid``'s extent."""
    import SimpleITK as sitk

    extent = np.asarray(grid.GetSize(), float) * np.asarray(grid.GetSpacing(), float)
    size = [int(np.ceil(e / spacing_mm)) + 2 for e in extent]
    d = np.asarray(grid.GetDirection(), float).reshape(3, 3)
    origin = np.asarray(grid.GetOrigin(), float) - d @ np.full(3, spacing_mm / 2)
    field_img = sitk.TransformToDisplacementField(transform, sitk.sitkVectorFloat64, size,
                                                  tuple(float(v) for v in origin), (spacing_mm,) * 3,
                                                  grid.GetDirection())
    return sitk.DisplacementFieldTransform(field_img)


def landmark_errors(transform: Any, landmarks: Sequence[tuple[Sequence[float], Sequence[float]]]) -> FloatArray:
    """Target registration error (mm) of each landmark pair (pre point, post point)."""
    out = []
    for pre_pt, post_pt in landmarks:
        mapped = np.asarray(transform.TransformPoint(tuple(float(v) for v in post_pt)), float)
        out.append(float(np.linalg.norm(mapped - np.asarray(pre_pt, float))))
    return np.asarray(out)
