"""The synthetic subjects: anatomy, lesions and what happens to them at each visit.

Three CT subjects (and an MR follow-up) cover the situations the response rules must tell
apart after thermal ablation of liver metastases:

* ``SYN-001`` -- two targets (an arterially enhancing one and a rim-enhancing colorectal-like
  one), both ablated completely: complete response at the first CT follow-up, confirmed on a
  contrast MR three months later.
* ``SYN-002`` -- one ablated target with **residual tumour**: a nodular enhancing focus
  contiguous with the ablation zone at the first follow-up, growing at the second; plus a small
  non-target metastasis that is not treated.
* ``SYN-003`` -- one ablated colorectal-like target with a clean first follow-up, then **local
  tumour progression**: an enhancing nodule a few millimetres from the zone's edge, and a **new
  distant intrahepatic lesion** in another segment.

Everything lives in patient space (LPS mm, the liver's centre near the origin); a seed jitters
the lesions' positions and sizes slightly and drives the image noise and the UIDs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from .shapes import Capsule, Cylinder, Ellipsoid, Shape

Jitter = Callable[[tuple[float, float, float], float], Ellipsoid]


@dataclass(frozen=True)
class Layer:
    """A shape painted with a tissue's enhancement; later layers cover earlier ones."""

    shape: Shape
    tissue: str


@dataclass(frozen=True)
class LesionAtVisit:
    """Ground truth of one lesion at one visit."""

    lesion: str
    viable: tuple[Ellipsoid, ...] = ()  # enhancing tumour (union = the viable mask)
    zone: Ellipsoid | None = None  # ablation zone
    benign_rim: bool = False  # thin periablational hyperaemia (early follow-up)
    kind: str = "hypervascular"  # enhancement pattern of the tumour tissue
    status: str = "measured"  # case-file status when viable tissue is present
    near_zone: bool = False  # viable focus at or near the zone: record its gap


@dataclass(frozen=True)
class Visit:
    tp: str
    date: date
    modality: str  # "CT" or "MR"
    lesions: tuple[LesionAtVisit, ...]
    baseline: bool = False


@dataclass(frozen=True)
class SubjectPlan:
    id: str
    summary: str
    lesions: tuple[dict[str, object], ...]
    procedures: tuple[dict[str, object], ...]
    visits: tuple[Visit, ...]
    kinds: dict[str, str] = field(default_factory=dict)  # lesion id -> enhancement pattern


def anatomy() -> list[Layer]:
    """Body wall, viscera, spine, great vessels, kidneys, spleen and a liver with its vessels."""
    L = Layer
    layers = [
        L(Cylinder((0, 0), (165, 118)), "fat"),
        L(Cylinder((0, 2), (152, 106)), "muscle"),
        L(Cylinder((0, 4), (143, 98)), "visceral"),
        L(Ellipsoid((45, -55, -70), (32, 22, 28)), "bowel"),
        L(Ellipsoid((-35, -62, -78), (26, 18, 22)), "bowel"),
        L(Ellipsoid((60, -20, -20), (25, 30, 22), 25), "bowel"),
        L(Ellipsoid((-72, 58, -62), (26, 22, 48), -20), "kidney"),
        L(Ellipsoid((74, 58, -52), (26, 22, 48), 20), "kidney"),
        L(Ellipsoid((95, 38, 25), (30, 48, 55), 35), "spleen"),
        # liver: right lobe and left lobe
        L(Ellipsoid((-55, 0, 5), (80, 78, 75)), "liver"),
        L(Ellipsoid((15, -35, 15), (55, 38, 45), -15), "liver"),
        # portal venous tree
        L(Capsule((-10, 20, -35), (-40, 10, -5), 7), "portal"),
        L(Capsule((-40, 10, -5), (-75, 6, 4), 5.5), "portal"),
        L(Capsule((-75, 6, 4), (-105, 35, -22), 3.5), "portal"),
        L(Capsule((-75, 6, 4), (-100, -30, 22), 3.5), "portal"),
        L(Capsule((-40, 10, -5), (10, -30, 10), 4.5), "portal"),
        L(Capsule((10, -30, 10), (35, -45, 5), 3), "portal"),
        # hepatic veins draining into the intrahepatic IVC
        L(Capsule((-22, 40, 55), (-115, 20, 20), 5), "hepatic_vein"),
        L(Capsule((-22, 40, 55), (-60, -50, 15), 4.5), "hepatic_vein"),
        L(Capsule((-22, 40, 55), (20, -45, 30), 4), "hepatic_vein"),
        L(Capsule((-22, 45, -100), (-22, 40, 80), 11), "ivc"),
        L(Capsule((16, 56, -100), (14, 50, 100), 11), "aorta"),
        # spine: vertebral body, canal, posterior elements
        L(Cylinder((0, 72), (18, 16)), "bone_cortex"),
        L(Cylinder((0, 72), (15, 13)), "bone"),
        L(Cylinder((0, 96), (7, 7)), "canal"),
        L(Cylinder((0, 108), (6, 4)), "bone_cortex"),
    ]
    return layers


def tumour_layers(kind: str, e: Ellipsoid) -> list[Layer]:
    """An arterially enhancing tumour, or a colorectal-like one with an enhancing rim."""
    if kind == "hypervascular":
        return [Layer(e, "hypervascular")]
    rim = 2.5
    if min(e.radii) <= rim + 1.5:
        return [Layer(e, "crlm_rim")]
    return [Layer(e, "crlm_rim"), Layer(e.grown(-rim), "crlm_core")]


def lesion_layers(state: LesionAtVisit) -> list[Layer]:
    out: list[Layer] = []
    if state.zone is not None:
        if state.benign_rim:
            out.append(Layer(state.zone.grown(1.8), "ablation_rim"))
        out.append(Layer(state.zone, "ablation"))
    for e in state.viable:
        out.extend(tumour_layers(state.kind, e))
    return out


def _unit(v: tuple[float, float, float]) -> tuple[float, float, float]:
    a = np.asarray(v, dtype=float)
    a = a / np.linalg.norm(a)
    return (float(a[0]), float(a[1]), float(a[2]))


def _nodule_at(zone: Ellipsoid, direction: tuple[float, float, float], radius: float,
               gap: float) -> Ellipsoid:
    """A spherical nodule outside ``zone`` in ``direction``, its surface ``gap`` mm away
    (negative: overlapping the zone's edge by that much)."""
    d = np.asarray(_unit(direction))
    surface = zone.surface_point(_unit(direction))
    c = surface + d * (radius + gap)
    return Ellipsoid((float(c[0]), float(c[1]), float(c[2])), (radius, radius, radius))


def _zone_around(t: Ellipsoid, margin: float, yaw: float, shift: tuple[float, float, float]
                 ) -> Ellipsoid:
    c = tuple(a + b for a, b in zip(t.centre, shift, strict=True))
    r = max(t.radii)
    return Ellipsoid(c, (r + margin + 1.0, r + margin, r + margin - 0.5), yaw)  # type: ignore[arg-type]


def plans(seed: int) -> list[SubjectPlan]:
    """The synthetic subjects, slightly different for each seed."""
    out = []
    for k, make in enumerate((_subject_1, _subject_2, _subject_3), start=1):
        rng = np.random.default_rng([seed, k])

        def jitter(c: tuple[float, float, float], r: float, rng: np.random.Generator = rng
                   ) -> Ellipsoid:
            dc = rng.uniform(-2.0, 2.0, 3)
            rr = r * float(rng.uniform(0.93, 1.07))
            return Ellipsoid(tuple(float(a + b) for a, b in zip(c, dc, strict=True)),  # type: ignore[arg-type]
                             (rr, rr * 0.95, rr * 0.9), float(rng.uniform(0, 180)))

        out.append(make(jitter))
    return out


def _subject_1(jitter: Jitter) -> SubjectPlan:
    l1 = jitter((-100.0, 30.0, -30.0), 12.5)
    l2 = jitter((-30.0, -45.0, 35.0), 9.5)
    z1 = _zone_around(l1, 6.0, 20, (1.0, -1.0, 0.5))
    z2 = _zone_around(l2, 5.5, 110, (-1.0, 0.5, 0.0))
    return SubjectPlan(
        id="SYN-001",
        summary="two targets ablated completely: complete response (CT), confirmed on MR",
        lesions=(
            {"id": "L1", "role": "target", "organ": "liver", "site": "segment VI"},
            {"id": "L2", "role": "target", "organ": "liver", "site": "segment IVa"},
        ),
        procedures=({"id": "ABL1", "type": "ablation", "date": "2021-03-22",
                     "lesions": ["L1", "L2"], "technique": "MWA"},),
        kinds={"L1": "hypervascular", "L2": "crlm"},
        visits=(
            Visit("BL", date(2021, 3, 1), "CT", (
                LesionAtVisit("L1", (l1,), kind="hypervascular"),
                LesionAtVisit("L2", (l2,), kind="crlm"),
            ), baseline=True),
            Visit("FU1", date(2021, 5, 3), "CT", (
                LesionAtVisit("L1", zone=z1, benign_rim=True, status="absent"),
                LesionAtVisit("L2", zone=z2, benign_rim=True, status="absent", kind="crlm"),
            )),
            Visit("FU2", date(2021, 8, 2), "MR", (
                LesionAtVisit("L1", zone=z1.scaled(0.85), status="absent"),
                LesionAtVisit("L2", zone=z2.scaled(0.85), status="absent", kind="crlm"),
            )),
        ),
    )


def _subject_2(jitter: Jitter) -> SubjectPlan:
    l1 = jitter((-85.0, -30.0, -10.0), 15.0)
    l2 = jitter((40.0, -25.0, 25.0), 6.5)
    z1 = _zone_around(l1, 5.0, 60, (2.0, 1.0, 0.0))
    d = (0.55, -0.8, 0.15)
    res1 = _nodule_at(z1, d, 5.5, -2.0)
    z1b = z1.scaled(0.88)
    res2 = _nodule_at(z1b, d, 8.5, -2.5)
    return SubjectPlan(
        id="SYN-002",
        summary="residual tumour at the ablation zone's edge at the first follow-up, growing",
        lesions=(
            {"id": "L1", "role": "target", "organ": "liver", "site": "segment V"},
            {"id": "L2", "role": "non-target", "organ": "liver", "site": "segment III"},
        ),
        procedures=({"id": "ABL1", "type": "ablation", "date": "2021-05-03",
                     "lesions": ["L1"], "technique": "MWA"},),
        kinds={"L1": "hypervascular", "L2": "crlm"},
        visits=(
            Visit("BL", date(2021, 4, 12), "CT", (
                LesionAtVisit("L1", (l1,)),
                LesionAtVisit("L2", (l2,), kind="crlm", status="present"),
            ), baseline=True),
            Visit("FU1", date(2021, 6, 14), "CT", (
                LesionAtVisit("L1", (res1,), zone=z1, benign_rim=True, near_zone=True),
                LesionAtVisit("L2", (l2,), kind="crlm", status="present"),
            )),
            Visit("FU2", date(2021, 9, 13), "CT", (
                LesionAtVisit("L1", (res2,), zone=z1b, near_zone=True),
                LesionAtVisit("L2", (l2.scaled(1.05),), kind="crlm", status="present"),
            )),
        ),
    )


def _subject_3(jitter: Jitter) -> SubjectPlan:
    l1 = jitter((-65.0, -5.0, 45.0), 11.0)
    n1 = jitter((-95.0, -10.0, -35.0), 7.5)
    z1 = _zone_around(l1, 6.0, 150, (0.0, 1.0, -1.0))
    z1b = z1.scaled(0.85)
    ltp = _nodule_at(z1b, (-0.9, 0.35, -0.25), 6.0, 3.0)
    return SubjectPlan(
        id="SYN-003",
        summary=("clean first follow-up, then local tumour progression next to the zone "
                 "and a new distant intrahepatic lesion"),
        lesions=(
            {"id": "L1", "role": "target", "organ": "liver", "site": "segment VIII"},
            {"id": "N1", "role": "new", "organ": "liver", "site": "segment VI",
             "location": "intrahepatic"},
        ),
        procedures=({"id": "ABL1", "type": "ablation", "date": "2021-05-31",
                     "lesions": ["L1"], "technique": "RFA"},),
        kinds={"L1": "crlm", "N1": "hypervascular"},
        visits=(
            Visit("BL", date(2021, 5, 10), "CT", (
                LesionAtVisit("L1", (l1,), kind="crlm"),
            ), baseline=True),
            Visit("FU1", date(2021, 7, 12), "CT", (
                LesionAtVisit("L1", zone=z1, benign_rim=True, kind="crlm", status="absent"),
            )),
            Visit("FU2", date(2021, 10, 11), "CT", (
                LesionAtVisit("L1", (ltp,), zone=z1b, kind="crlm", near_zone=True),
                LesionAtVisit("N1", (n1,), kind="hypervascular"),
            )),
        ),
    )
