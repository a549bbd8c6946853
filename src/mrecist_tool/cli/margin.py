"""``mrecist margin``: the minimal ablative margin of one tumour (MAR-1 to MAR-8), for scripts.

``mrecist margin --tumour T --zone A [--pre-image PRE --post-image POST] [--liver-pre LP
--liver-post LQ] [--registration none|rigid|deformable] --json`` prints one JSON object with
``mam_mm, mam_corrected_mm, coverage, fraction_ge_5mm, fraction_ge_10mm, q05_mm, q50_mm,
min_location_lps, registration`` (``method, liver_dice, flags``, and ``tre_mm``), then
``tolerance_mm``, ``capsule_fraction`` and ``margin_flags``.  Masks and images are NIfTI (or
NRRD/MHA) files or DICOM series folders.  Exit status: 0 measured (flags may say it is
unreliable: read them), 1 an input could not be used, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "margin",
        help="minimal ablative margin of one tumour from its masks (and images to register)",
        description="Minimal ablative margin (MAM) of one treated tumour: the signed distance from the "
        "tumour's surface to the ablation zone's surface, in true millimetres, with coverage, the share of "
        "the tumour surface with a margin of at least 5 and 10 mm, margin quantiles, the location of the "
        "minimum (LPS) and, with a post-ablation liver mask, the subcapsular correction (MAR-6). With "
        "--registration rigid or deformable the pre-ablation image is registered to the post-ablation one "
        "first (MAR-2) and its quality is reported. Exit status: 0 measured, 1 unusable input, 2 usage error.",
    )
    p.add_argument("--tumour", "--tumor", required=True, type=Path, metavar="T",
                   help="tumour mask (pre-ablation space; NIfTI file or DICOM folder)")
    p.add_argument("--zone", required=True, type=Path, metavar="A", help="ablation-zone mask (post-ablation space)")
    p.add_argument("--pre-image", type=Path, metavar="PRE", help="pre-ablation image (for registration)")
    p.add_argument("--post-image", type=Path, metavar="POST", help="post-ablation image (for registration)")
    p.add_argument("--liver-pre", type=Path, metavar="LP", help="pre-ablation liver mask (drives the registration)")
    p.add_argument("--liver-post", type=Path, metavar="LQ",
                   help="post-ablation liver mask (registration, liver Dice, subcapsular correction)")
    p.add_argument("--registration", choices=["none", "rigid", "deformable"], default=None,
                   help="none: the tumour mask is already in the zone's space (default without images); "
                   "rigid or deformable (default with images)")
    p.add_argument("--landmarks", type=Path, metavar="JSON",
                   help="landmark pairs for the registration error: a JSON list of {\"pre\": [x,y,z], \"post\": [x,y,z]} (LPS mm)")
    p.add_argument("--step", type=float, default=0.5, metavar="MM",
                   help="isotropic lattice step for the surfaces (MAR-3; default 0.5 mm)")
    p.add_argument("--no-subcapsular", action="store_true", help="do not compute the subcapsular correction (MAR-6)")
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    p.set_defaults(func=run)


def _landmarks(path: Path | None) -> list[tuple[list[float], list[float]]] | None:
    if path is None:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of {{\"pre\": [x,y,z], \"post\": [x,y,z]}}")
    out = []
    for i, item in enumerate(data):
        try:
            pre = [float(v) for v in item["pre"]]
            post = [float(v) for v in item["post"]]
        except (TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: $[{i}]: expected {{\"pre\": [x,y,z], \"post\": [x,y,z]}} ({exc})") from exc
        if len(pre) != 3 or len(post) != 3:
            raise ValueError(f"{path}: $[{i}]: points need 3 coordinates")
        out.append((pre, post))
    return out


def run(args: argparse.Namespace) -> int:
    from ..margin import MarginInputError, margin_from_files

    method = args.registration or ("deformable" if args.pre_image and args.post_image else "none")
    if method != "none" and not (args.pre_image and args.post_image):
        print(f"mrecist margin: --registration {method} needs --pre-image and --post-image", file=sys.stderr)
        return 2
    if not 0.1 <= args.step <= 2.0:
        print("mrecist margin: --step must be between 0.1 and 2 mm", file=sys.stderr)
        return 2
    try:
        landmarks = _landmarks(args.landmarks)
        report = margin_from_files(
            args.tumour, args.zone, pre_image=args.pre_image, post_image=args.post_image,
            liver_pre=args.liver_pre, liver_post=args.liver_post, method=method, landmarks=landmarks,
            step_mm=args.step, subcapsular_correction=not args.no_subcapsular,
        )
    except (MarginInputError, ValueError, OSError) as exc:
        print(f"mrecist margin: {exc}", file=sys.stderr)
        return 1
    doc = report.as_json()
    if args.json:
        print(json.dumps(doc))
        return 0
    lines = [
        f"minimal ablative margin (MAM): {doc['mam_mm']:.1f} mm (± {doc['tolerance_mm']:.1f} mm)",
        f"  at LPS {doc['min_location_lps']}",
    ]
    if doc["mam_corrected_mm"] is not None:
        lines.append(f"  subcapsular-corrected MAM: {doc['mam_corrected_mm']:.1f} mm")
    lines += [
        f"coverage: {100 * doc['coverage']:.1f} % of the tumour inside the zone",
        f"tumour surface with margin >= 5 mm: {100 * doc['fraction_ge_5mm']:.1f} %, >= 10 mm: {100 * doc['fraction_ge_10mm']:.1f} %",
        f"margin quantiles: 5th {doc['q05_mm']:.1f} mm, median {doc['q50_mm']:.1f} mm",
        f"registration: {doc['registration']['method']}"
        + (f", liver Dice {doc['registration']['liver_dice']:.3f}" if doc["registration"]["liver_dice"] is not None else "")
        + (f", landmark TRE {doc['registration']['tre_mm']:.1f} mm" if doc["registration"]["tre_mm"] is not None else ""),
    ]
    lines += [f"flag: {f}" for f in doc["margin_flags"]]
    print("\n".join(lines))
    return 0
