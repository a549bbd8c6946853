"""``mrecist explain CASE --timepoint ID``: how each category was reached, rule by rule."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._settings_options import add_settings_options


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("explain", help="explain one timepoint of a case, rule by rule")
    p.add_argument("case", type=Path, help="case file")
    p.add_argument("--timepoint", "-t", help="timepoint id (default: every timepoint)")
    add_settings_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..pipeline.case import assess_file
    from ..rules.explain import explain_timepoint, pre_ablation_lines, rules_used
    from ._settings_options import settings_or_usage_error

    cli = settings_or_usage_error(args, "explain")
    if cli is None:
        return 2
    # The pipeline that `assess` uses: a case `assess` refuses is refused here, with the same
    # located problems (never "incomplete mm" for a case the criteria cannot assess).
    result = assess_file(args.case, cli, keep_assessment=True)
    if result.refused or result.assessment is None:
        lines = [str(p) for p in result.errors] or [f"{args.case}: $: could not be assessed"]
        for line in lines:
            print(line, file=sys.stderr)
        return 1
    a = result.assessment
    ids = [args.timepoint] if args.timepoint else [t.timepoint for t in a.timepoints]
    known = {t.timepoint for t in a.timepoints}
    for tp in ids:
        if tp not in known:
            print(f"{args.case}: no timepoint {tp!r}; timepoints: {', '.join(sorted(known))}", file=sys.stderr)
            return 2
    if args.timepoint:
        print(explain_timepoint(a, args.timepoint))
        return 0
    parts = ["\n\n".join(explain_timepoint(a, tp, with_rules=False) for tp in ids)]
    b = a.best
    parts.append(f"\nBest overall response: {b.category}"
                 + (f" (confirmed: {b.confirmed})" if b.confirmed is not None else "")
                 + f"    [{', '.join(b.rules)}]")
    parts += [f"    - {n}" for n in (*b.notes, *b.flags)]
    parts += pre_ablation_lines(a)
    never = [f for f in a.flags if f.startswith("never disease-free")]
    if never:
        parts.append("\nDisease-free survival:")
        parts += [f"    ! {f}" for f in never]
    text = "\n".join(parts)
    print(text + "\n\n" + rules_used(text))
    return 0
