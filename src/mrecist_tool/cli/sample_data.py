"""``mrecist sample-data OUT``: write the synthetic sample studies (and optionally a cohort).

Writes multi-phase liver CT and contrast MR DICOM studies of synthetic subjects, with
ground-truth masks and case files, under ``OUT/studies`` (see ``sample_data/README.md``);
``--cohort N`` also writes a simulated trial cohort of N case files under ``OUT/cohort``.

Exit status: 0 done (or nothing to do with ``--if-missing``); 1 when writing failed; 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..exitcodes import EXIT_OK, EXIT_REFUSED, EXIT_USAGE


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a seed >= 0, got {value}")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sample-data",
        help="write synthetic sample DICOM studies with ground-truth case files",
        description="Write synthetic (not patient) multi-phase liver CT studies and a contrast "
        "MR follow-up for a few subjects -- complete response, residual tumour, local tumour "
        "progression and a new lesion after ablation -- as DICOM files with ground-truth masks "
        "and case files, under OUT/studies. Deterministic for a seed.",
    )
    parser.add_argument("out", metavar="OUT", help="output folder (studies go to OUT/studies)")
    parser.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    parser.add_argument("--full-size", action="store_true",
                        help="512x512x300-slice CT series for benchmarks (about 1 GB and 50 s per "
                        "subject; one subject unless --subjects is given)")
    parser.add_argument("--subjects", type=_positive, default=None,
                        help="how many subjects to write (1-3; default 3, or 1 with --full-size)")
    parser.add_argument("--if-missing", action="store_true",
                        help="do nothing when OUT/studies already holds the same set")
    parser.add_argument("--cohort", type=_positive, default=None, metavar="N",
                        help="also write a simulated trial cohort of N case files to OUT/cohort "
                             "and print its summary against the PRE-5 orders of magnitude")
    parser.add_argument("--no-summary", action="store_true",
                        help="with --cohort: do not assess the cohort to print its summary")
    parser.add_argument("--no-studies", action="store_true",
                        help="skip the DICOM studies (with --cohort: the cohort only)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"mrecist sample-data: {out}: exists and is not a folder", file=sys.stderr)
        return EXIT_USAGE
    if args.subjects is not None and args.subjects > 3:
        print(f"mrecist sample-data: --subjects: at most 3 subjects, got {args.subjects}",
              file=sys.stderr)
        return EXIT_USAGE
    status = EXIT_OK
    if not args.no_studies:
        from ..sample.studies import generate_studies

        try:
            result = generate_studies(out, args.seed, full_size=args.full_size,
                                      subjects=args.subjects, if_missing=args.if_missing)
        except (OSError, ValueError) as exc:
            print(f"mrecist sample-data: writing studies under {out / 'studies'} failed: {exc}",
                  file=sys.stderr)
            return EXIT_REFUSED
        if result.skipped:
            print(f"{result.studies_dir}: sample studies already present (seed {args.seed}); "
                  "nothing to do")
        else:
            print(f"{result.studies_dir}: wrote {len(result.case_files)} synthetic subjects, "
                  f"{result.n_dicom_files} DICOM files in {result.seconds:.1f} s")
        for case in result.case_files:
            print(f"  {case}")
    if args.cohort is not None:
        try:
            from ..sample.cohort import write_cohort
        except ImportError as exc:
            print(f"mrecist sample-data: --cohort is not available: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        try:
            paths = write_cohort(out / "cohort", args.cohort, args.seed)
        except (OSError, ValueError) as exc:
            print(f"mrecist sample-data: writing the cohort under {out / 'cohort'} failed: {exc}",
                  file=sys.stderr)
            return EXIT_REFUSED
        print(f"{out / 'cohort'}: wrote {len(paths)} simulated case files")
        if not args.no_summary:
            from ..sample.cohort import generate_cohort, summarise_cohort

            # PRE-5: what the engine finds in the cohort, beside the published orders of magnitude.
            print(summarise_cohort(generate_cohort(args.cohort, args.seed)).text())
    return status
