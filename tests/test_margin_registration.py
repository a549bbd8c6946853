"""MAR-2: the margin after registering the pre-ablation CT to the post-ablation CT.

A synthetic liver CT (body, spine, kidney, a textured liver with vessels, a tumour) is rendered
analytically after ablation (the tumour replaced by a larger ablation zone) and before it, moved
by a known rigid transform (≤ 15 mm, ≤ 10°) and, in the second case, also by a known smooth
deformation (≤ 6 mm).  The MAM after registration must be within ±1 mm (rigid) and ±1.5 mm
(deformable) of the MAM measured through the true transform.
"""

from __future__ import annotations

import numpy as np
import pytest
from phantoms import LiverScene, grid_around, render, rotation, sitk_image

from mrecist_tool.geometry.margin import ablative_margin_models, placed_bounds
from mrecist_tool.geometry.surface import reconstruct
from mrecist_tool.margin import margin_from_images
from mrecist_tool.margin.images import grid_of
from mrecist_tool.margin.registration import quality

SCENE = LiverScene()
GRID = (2.5, 2.5, 2.5)


def _bumps(p):
    """A smooth deformation: two Gaussian bumps, up to 5.6 mm."""
    out = np.zeros_like(p)
    for c, a, s in ((np.array([-40.0, 0, 5]), np.array([4.0, -3.0, 2.5]), 30.0),
                    (np.array([-80.0, -20, 0]), np.array([-2.5, 3.0, 2.0]), 25.0)):
        w = np.exp(-((p - c) ** 2).sum(-1) / (2 * s * s))
        out = out + w[..., None] * a
    return out


class Motion:
    """x_post = R (x_pre + v(x_pre)) + t; its inverse by fixed-point iteration."""

    def __init__(self, degrees, shift, deform):
        self.r = rotation("z", degrees[0]) @ rotation("y", degrees[1]) @ rotation("x", degrees[2])
        self.t = np.asarray(shift, float)
        self.deform = deform

    def pre_to_post(self, p):
        q = p + _bumps(p) if self.deform else p
        return q @ self.r.T + self.t

    def post_to_pre(self, q):
        y = (np.asarray(q, float) - self.t) @ self.r
        if not self.deform:
            return y
        x = y.copy()
        for _ in range(40):
            x = y - _bumps(x)
        return x


def _case(motion: Motion):
    S = motion.pre_to_post
    gpost, shp = grid_around(GRID, np.eye(3), (-45, 0, 5), 80)
    gpre, shr = grid_around(GRID, np.eye(3), (-45, 0, 5), 80)
    tumour_pre = motion.post_to_pre(SCENE.tumour_centre[None])[0]
    gt, sht = grid_around((2.5, 0.8, 0.8), np.eye(3), tumour_pre, 14)
    gz, shz = grid_around((2.5, 0.8, 0.8), np.eye(3), SCENE.zone_centre, 20)
    images = {
        "post": sitk_image(render(lambda p: SCENE.ct(p, True), gpost, shp), gpost),
        "pre": sitk_image(render(lambda p: SCENE.ct(S(p), False), gpre, shr), gpre),
        "liver_post": sitk_image(render(lambda p: SCENE.liver.inside(p).astype(np.uint8), gpost, shp), gpost),
        "liver_pre": sitk_image(render(lambda p: SCENE.liver.inside(S(p)).astype(np.uint8), gpre, shr), gpre),
        "tumour": sitk_image(render(lambda p: (((S(p) - SCENE.tumour_centre) ** 2).sum(-1)
                                               <= SCENE.tumour_radius**2).astype(np.uint8), gt, sht), gt),
        "zone": sitk_image(render(lambda p: (((p - SCENE.zone_centre) ** 2).sum(-1)
                                             <= SCENE.zone_radius**2).astype(np.uint8), gz, shz), gz),
    }
    return images


def _true_mam(images, motion: Motion) -> float:
    import SimpleITK as sitk

    tm = reconstruct(sitk.GetArrayFromImage(images["tumour"]) > 0, grid_of(images["tumour"]))
    am = reconstruct(sitk.GetArrayFromImage(images["zone"]) > 0, grid_of(images["zone"]))
    bounds = placed_bounds(tm, am.grid, 5.0, motion.pre_to_post)
    return ablative_margin_models(tm, am, tumour_map=motion.post_to_pre, tumour_bounds=bounds).mam_mm


@pytest.mark.slow
def test_rigid_registration_recovers_the_margin_mar_2():
    motion = Motion((8.0, -4.0, 3.0), (9.0, -7.0, 6.0), deform=False)  # 12.9 mm, ≤ 10°
    images = _case(motion)
    truth = _true_mam(images, motion)
    # landmarks: vessel branch points, pre and post
    post_pts = np.array([[-50.0, 8, 0], [-30, 30, 40], [-10, 20, -30]])
    landmarks = [(motion.post_to_pre(p[None])[0], p) for p in post_pts]
    rep = margin_from_images(images["tumour"], images["zone"], pre=images["pre"], post=images["post"],
                             liver_pre=images["liver_pre"], liver_post=images["liver_post"], method="rigid",
                             landmarks=landmarks)
    assert rep.margin.mam_mm == pytest.approx(truth, abs=1.0)
    reg = rep.registration
    assert reg.method == "rigid" and reg.liver_dice is not None and reg.liver_dice > 0.95
    assert reg.tre_mm is not None and reg.tre_mm < 1.5
    assert not reg.unreliable
    # without registration the moved tumour is measured where it was drawn: far off
    none = margin_from_images(images["tumour"], images["zone"], method="none")
    assert abs(none.margin.mam_mm - truth) > 2.0


@pytest.mark.slow
def test_deformable_registration_recovers_the_margin_mar_2(tmp_path, monkeypatch):
    motion = Motion((6.0, -4.0, 0.0), (-6.0, 5.0, -4.0), deform=True)
    images = _case(motion)
    truth = _true_mam(images, motion)
    monkeypatch.chdir(tmp_path)  # a registration writes nothing into the user's current folder
    rep = margin_from_images(images["tumour"], images["zone"], pre=images["pre"], post=images["post"],
                             liver_pre=images["liver_pre"], liver_post=images["liver_post"], method="deformable")
    assert rep.registration.method == "deformable"
    assert rep.margin.mam_mm == pytest.approx(truth, abs=1.5)
    assert rep.registration.liver_dice is not None and rep.registration.liver_dice > 0.95
    j = rep.as_json()
    assert list(j)[:9] == ["mam_mm", "mam_corrected_mm", "coverage", "fraction_ge_5mm", "fraction_ge_10mm",
                           "q05_mm", "q50_mm", "min_location_lps", "registration"]
    assert set(j["registration"]) >= {"method", "liver_dice", "flags"}
    assert list(tmp_path.iterdir()) == []


def test_poor_registration_is_flagged_not_hidden_mar_2():
    """Below the MAR-2 thresholds the registration is flagged unreliable; the numbers stay."""
    import SimpleITK as sitk

    motion = Motion((0.0, 0.0, 0.0), (12.0, 0.0, 0.0), deform=False)
    g, sh = grid_around((4.0, 4.0, 4.0), np.eye(3), (-45, 0, 5), 70)
    liver_post = sitk_image(render(lambda p: SCENE.liver.inside(p).astype(np.uint8), g, sh), g)
    liver_pre = sitk_image(render(lambda p: SCENE.liver.inside(motion.pre_to_post(p)).astype(np.uint8), g, sh), g)
    identity = sitk.Transform(3, sitk.sitkIdentity)  # as if the registration had failed
    post_pts = [np.array([-50.0, 8, 0]), np.array([-30.0, 30, 40])]
    landmarks = [(motion.post_to_pre(p[None])[0], p) for p in post_pts]
    dice, tre, tre_max, flags = quality(identity, liver_pre, liver_post, landmarks)
    assert dice is not None and dice < 0.9
    assert tre == pytest.approx(12.0, abs=1e-6) and tre_max == pytest.approx(12.0, abs=1e-6)
    assert any("unreliable" in f and "Dice" in f for f in flags)
    assert any("unreliable" in f and "TRE" in f for f in flags)
    # a good transform is not flagged
    truth = sitk.TranslationTransform(3, (-12.0, 0.0, 0.0))
    dice, tre, _, flags = quality(truth, liver_pre, liver_post, landmarks)
    assert dice is not None and dice > 0.97 and tre == pytest.approx(0.0, abs=1e-6)
    assert not any("unreliable" in f for f in flags)
