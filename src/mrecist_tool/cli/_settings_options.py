"""Command-line options shared by the commands that assess: --criteria, --profile, --set."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import SettingsError
from ..rules.criteria import PARAMS, PROFILES, Settings, parse_setting_text


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("rule settings (override the case files)")
    group.add_argument("--criteria", choices=["mRECIST", "RECIST1.1"], help="response criteria for every case")
    group.add_argument("--profile", choices=sorted(PROFILES), help="named settings profile (default: the case's, else mrecist-published)")
    group.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
        help="override one rule parameter of response-rules.md §7, e.g. --set ltp_max_distance_mm=5 "
        f"(names: {', '.join(PARAMS)})",
    )


def parse_overrides(values: list[str]) -> dict[str, Any]:
    """Parse and check ``NAME=VALUE`` pairs; raise :class:`SettingsError` with a clear message.

    Values are read strictly by the setting's kind (:func:`parse_setting_text`): ``true`` or
    ``false``, a number, ``21,56`` for a range, a word for a choice; the result holds typed
    values, as a case file's ``settings`` would.
    """
    out: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SettingsError(f"--set {item!r}: expected NAME=VALUE")
        out[name] = parse_setting_text(name, value, where="--set")
    Settings().updated(out, where="--set")
    return out


def cli_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {"profile": args.profile, "criteria": args.criteria, "overrides": parse_overrides(args.overrides)}


def settings_or_usage_error(args: argparse.Namespace, command: str) -> dict[str, Any] | None:
    """:func:`cli_settings`, or ``None`` after printing the problem (the caller exits with 2)."""
    try:
        return cli_settings(args)
    except SettingsError as exc:
        print(f"mrecist {command}: {exc}", file=sys.stderr)
        return None
