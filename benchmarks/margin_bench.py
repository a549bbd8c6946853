"""Benchmark: one deformable registration of a 512×512×300 CT pair and one margin on 0.5 mm grids.

The post-ablation CT is the synthetic abdomen of ``mrecist sample-data`` (body, viscera, a liver
with its vessels; 512×512×300 at 0.7×0.7×1 mm) with an ablation zone; the pre-ablation CT is the
same anatomy moved by a known rigid transform (8 mm, 6°) with its tumour.  Each timed step runs
in its own fresh subprocess, so its peak resident memory (``VmHWM``) is its own:

* baseline: one plain SimpleITK linear resample of the 512×512×300 volume (the same transform);
* registration: ``mrecist_tool.margin.register(..., method="deformable")`` with liver masks
  (rigid, then B-spline) -- target < 60 s on 2 cores;
* margin: ``mrecist_tool.geometry.ablative_margin`` of a 12 mm tumour in a 20 mm zone on a
  0.5 mm isotropic grid (the surfaces reconstructed and meshed, exact distances) -- target < 5 s.

Each is printed with its wall time, peak memory and its ratio to the baseline resample.
Run: ``.venv/bin/python benchmarks/margin_bench.py [--workdir DIR] [--slices 300]``; say how loaded
the machine was (``uptime``) when you quote the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
step, folder = sys.argv[1], sys.argv[2]
import numpy as np
import SimpleITK as sitk
def read(name):
    return sitk.ReadImage(f"{folder}/{name}.mha")
if step == "resample":
    pre = read("pre")
    post = read("post")
    tx = sitk.ReadTransform(f"{folder}/truth.tfm")
    c0, t0 = time.process_time(), time.perf_counter()
    out = sitk.Resample(pre, post, tx, sitk.sitkLinear, -1000.0, sitk.sitkFloat32)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    extra = {}
elif step == "register":
    from mrecist_tool.margin import register
    pre, post, lpre, lpost = read("pre"), read("post"), read("liver_pre"), read("liver_post")
    c0, t0 = time.process_time(), time.perf_counter()
    reg = register(pre, post, method="deformable", liver_pre=lpre, liver_post=lpost)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    truth = sitk.ReadTransform(f"{folder}/truth.tfm")
    pts = [(-60.0, 0.0, 10.0), (-30.0, 30.0, 40.0), (-90.0, -20.0, -10.0)]
    err = [float(np.linalg.norm(np.subtract(reg.transform.TransformPoint(p), truth.TransformPoint(p)))) for p in pts]
    extra = {"liver_dice": reg.liver_dice, "flags": list(reg.flags), "error_vs_truth_mm": max(err),
             "stages": " ".join(f"{k} {v:.1f}" for k, v in getattr(reg, "stage_seconds", ()))}
elif step == "margin":
    from mrecist_tool.geometry import ablative_margin
    sp = 0.5
    n = 120
    ax = (np.arange(n) - n / 2) * sp
    z, y, x = np.meshgrid(ax, ax, ax, indexing="ij")
    zone = x * x + y * y + z * z <= 20.0 ** 2
    tumour = (x - 3.0) ** 2 + (y + 2.0) ** 2 + (z - 1.0) ** 2 <= 12.0 ** 2
    c0, t0 = time.process_time(), time.perf_counter()
    m = ablative_margin(tumour, zone, (sp, sp, sp))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    extra = {"mam_mm": round(m.mam_mm, 3), "exact_mm": round(20.0 - float(np.sqrt(9 + 4 + 1)) - 12.0, 3)}
def hwm():
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's over exec)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
peak = hwm()
print(json.dumps({"wall": wall, "cpu": cpu, "peak": peak, **extra}))
"""


def _build(folder: Path, slices: int) -> None:
    """The pair, the liver masks and the true transform, as MHA files."""
    import numpy as np
    import SimpleITK as sitk

    from mrecist_tool.sample.render import AxialGrid, render_slabs, shapes_mask
    from mrecist_tool.sample.scenarios import Layer, anatomy
    from mrecist_tool.sample.shapes import Ellipsoid

    grid = AxialGrid((slices, 512, 512), (1.0, 0.7, 0.7), (-179.0, -179.0, -slices / 2))
    layers = anatomy()
    tumour = Ellipsoid((-60.0, 0.0, 10.0), (12.0, 12.0, 12.0))
    zone = Ellipsoid((-58.0, 1.0, 10.0), (20.0, 20.0, 20.0))

    def render(extra: list[Layer]) -> sitk.Image:
        vol = np.empty(grid.shape, dtype=np.float32)
        for z0, out in render_slabs(grid, layers + extra, "CT", ["portal-venous"], (7,)):
            slab = out["portal-venous"].astype(np.float32) - 1024.0
            vol[z0 : z0 + slab.shape[0]] = slab
        img = sitk.GetImageFromArray(vol)
        img.SetSpacing((0.7, 0.7, 1.0))
        img.SetOrigin(grid.origin)
        return img

    post = render([Layer(zone, "ablation")])
    pre_fixed_anatomy = render([Layer(tumour, "crlm_core")])
    liver = [layer.shape for layer in layers if layer.tissue == "liver"]
    liver_mask = sitk.GetImageFromArray(shapes_mask(grid, liver).astype(np.uint8))
    liver_mask.CopyInformation(post)
    truth = sitk.Euler3DTransform((-60.0, 0.0, 10.0), np.deg2rad(4.0), np.deg2rad(-3.0), np.deg2rad(3.0), (6.0, -4.0, 3.0))
    # the pre image: the anatomy seen through the true transform (post point -> pre point)
    inverse = truth.GetInverse()
    pre = sitk.Resample(pre_fixed_anatomy, post, inverse, sitk.sitkLinear, -1000.0, sitk.sitkFloat32)
    liver_pre = sitk.Resample(liver_mask, post, inverse, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    for name, img in (("post", post), ("pre", pre), ("liver_post", liver_mask), ("liver_pre", liver_pre)):
        sitk.WriteImage(img, str(folder / f"{name}.mha"))
    sitk.WriteTransform(truth, str(folder / "truth.tfm"))


def _run(step: str, folder: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, step, str(folder)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{step} failed:\n{out.stderr}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--slices", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        _build(folder, args.slices)
        print(f"built the 512x512x{args.slices} pair in {time.perf_counter() - t0:.1f} s; load {os.getloadavg()}")
        base = _run("resample", folder)
        reg = _run("register", folder)
        mar = _run("margin", folder)
    mb = 1024 * 1024
    print("wall s, CPU s (user+system, all threads: less sensitive to other load), peak memory, ratio to the baseline")
    print(f"baseline SimpleITK resample:  {base['wall']:7.2f} s  cpu {base['cpu']:6.2f} s  peak {base['peak'] / mb:6.0f} MB")
    print(f"deformable registration:      {reg['wall']:7.2f} s  cpu {reg['cpu']:6.2f} s  peak {reg['peak'] / mb:6.0f} MB  "
          f"ratio {reg['wall'] / base['wall']:5.1f}x wall, {reg['cpu'] / base['cpu']:5.1f}x cpu   target < 60 s")
    print(f"    stages (wall s): {reg.get('stages')}; liver Dice {reg.get('liver_dice')}, "
          f"error vs truth {reg.get('error_vs_truth_mm', float('nan')):.2f} mm, flags {reg.get('flags')}")
    print(f"margin on 0.5 mm grids:       {mar['wall']:7.2f} s  cpu {mar['cpu']:6.2f} s  peak {mar['peak'] / mb:6.0f} MB  "
          f"ratio {mar['wall'] / base['wall']:5.1f}x wall, {mar['cpu'] / base['cpu']:5.1f}x cpu   target < 5 s   "
          f"MAM {mar.get('mam_mm')} (exact {mar.get('exact_mm')})")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
