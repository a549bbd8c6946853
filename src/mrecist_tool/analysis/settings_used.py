"""The settings the cases were actually assessed with, grouped, and the endpoint settings of the
analysis taken from them (issue 14 items 5–6).

The response categories of an analysis come from the assessment, where every case had its own
effective settings (its profile, criteria and settings, then the command line's).  The endpoint
settings (DFS definition, never-disease-free handling, unknown causes of death, missed
assessments) decide the endpoint rows the statistics use; they must therefore be the ones
``mrecist assess`` wrote ``subjects.csv`` with, and one value per setting for the whole cohort.
So:

* :func:`from_assessment_json` reads the per-case settings of an ``mrecist assess`` folder;
  :func:`from_settings` takes them from cases assessed in this run;
* :meth:`SettingsUsed.endpoint_settings` gives the cohort's endpoint settings, or refuses
  (:class:`MixedSettingsError`) when the cases disagree, naming the groups;
* :func:`check_command_line` refuses ``--profile/--criteria/--set`` on an assess folder when they
  differ from what the assessment used (they could not change the categories, only the labels);
* :meth:`SettingsUsed.groups` lists every distinct settings combination with its number of
  cases and a label naming the profile it equals (or is closest to) and the differences — the
  report's settings table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MrecistError

ENDPOINT_SETTINGS = (
    "dfs_definition",
    "dfs_never_disease_free",
    "css_unknown_cause",
    "missed_assessments_policy",
    "assessment_schedule",
)


class MixedSettingsError(MrecistError, ValueError):
    """The cases were assessed with different endpoint settings (or other than those asked)."""


def _canonical(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _key(settings: Mapping[str, Any]) -> str:
    return json.dumps({k: _canonical(v) for k, v in settings.items()}, sort_keys=True)


def _profiles() -> dict[str, dict[str, Any]]:
    from ..rules.criteria import PROFILES, profile_settings

    return {name: profile_settings(name).as_dict() for name in PROFILES}


def describe(settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The profile these settings equal or differ least from, and the differences."""
    best_name, best_diff = "", dict(settings)
    for name, values in _profiles().items():
        diff = {k: v for k, v in settings.items()
                if k in values and _canonical(values[k]) != _canonical(v)}
        diff.update({k: v for k, v in settings.items() if k not in values})
        if not best_name or len(diff) < len(best_diff):
            best_name, best_diff = name, diff
    return best_name, best_diff


@dataclass(frozen=True)
class SettingsGroup:
    """One distinct combination of settings and the subjects assessed with it."""

    settings: dict[str, Any]
    subjects: tuple[str, ...]
    profile: str
    differences: dict[str, Any]

    @property
    def label(self) -> str:
        if not self.differences:
            return f"profile {self.profile}"
        changes = ", ".join(f"{k}={_canonical(v)}" for k, v in sorted(self.differences.items()))
        return f"profile {self.profile} with {changes}"


@dataclass(frozen=True)
class SettingsUsed:
    """Per-case settings of an analysis, grouped (largest group first)."""

    groups: tuple[SettingsGroup, ...]
    source: str

    @property
    def n_cases(self) -> int:
        return sum(len(g.subjects) for g in self.groups)

    def endpoint_values(self) -> dict[str, Any]:
        """The endpoint settings shared by every case; :class:`MixedSettingsError` if not shared."""
        seen: dict[str, dict[str, list[str]]] = {}
        for group in self.groups:
            for name in ENDPOINT_SETTINGS:
                if name in group.settings:
                    text = json.dumps(_canonical(group.settings[name]))
                    seen.setdefault(name, {}).setdefault(text, []).append(group.label)
        mixed = {name: values for name, values in seen.items() if len(values) > 1}
        if mixed:
            parts = []
            for name, values in mixed.items():
                counts = []
                for text, labels in values.items():
                    n = sum(len(g.subjects) for g in self.groups if g.label in labels)
                    counts.append(f"{json.loads(text)} ({n} cases)")
                parts.append(f"{name}: " + " vs ".join(counts))
            raise MixedSettingsError(
                f"{self.source}: the cases were assessed with different endpoint settings ("
                + "; ".join(parts) + "). One analysis needs one value of each: assess the cases "
                "again with the same --profile/--set, or analyse each group separately.")
        return {name: json.loads(next(iter(values))) for name, values in seen.items()}

    def endpoint_settings(self) -> Any:
        """A :class:`~mrecist_tool.rules.criteria.Settings` carrying the shared endpoint values."""
        from ..rules.criteria import Settings

        values = self.endpoint_values()
        return Settings().updated(values, where=f"{self.source} (endpoint settings)")


def from_settings(pairs: Iterable[tuple[str, Mapping[str, Any]]], source: str) -> SettingsUsed:
    """Group ``(subject, resolved settings mapping)`` pairs."""
    by_key: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for subject, settings in pairs:
        values = dict(settings)
        by_key.setdefault(_key(values), (values, []))[1].append(subject)
    groups = []
    for values, subjects in by_key.values():
        profile, diff = describe(values)
        groups.append(SettingsGroup(values, tuple(subjects), profile, diff))
    groups.sort(key=lambda g: (-len(g.subjects), g.label))
    return SettingsUsed(tuple(groups), source)


def from_assessment_json(path: str | Path) -> SettingsUsed | None:
    """The per-case settings recorded in ``assessment.json`` (None when the file is absent)."""
    file = Path(path)
    if not file.is_file():
        return None
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{file}: not a readable assessment.json ({exc})") from None
    cases = document.get("cases") if isinstance(document, dict) else None
    if not isinstance(cases, list):
        raise ValueError(f"{file}: expected an object with a 'cases' list (mrecist assess output)")
    pairs = []
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or not isinstance(case.get("settings"), dict):
            raise ValueError(f"{file}: $.cases[{i}].settings: expected the case's settings")
        # A case recorded without an endpoint setting was assessed by an older version, and
        # taking the default for it would change its endpoints without saying so.
        lacking = [name for name in ENDPOINT_SETTINGS if name not in case["settings"]]
        if lacking:
            raise ValueError(
                f"{file}: $.cases[{i}].settings: no {', '.join(lacking)} (assessed by an older "
                "mrecist assess); run `mrecist assess` again with this version on the case "
                "files, or pass the case files to `mrecist analyze` instead of the folder")
        pairs.append((str(case.get("subject", f"case {i}")), case["settings"]))
    return from_settings(pairs, str(file))


def check_command_line(used: SettingsUsed, cli: Mapping[str, Any]) -> None:
    """Refuse command-line settings that differ from what every case was assessed with.

    ``cli`` is ``{"profile", "criteria", "overrides"}`` as the settings options give it.
    """
    from ..rules.criteria import profile_settings

    asked: dict[str, Any] = {}
    if cli.get("profile"):
        asked.update(profile_settings(str(cli["profile"])).as_dict())
    if cli.get("criteria"):
        asked["criteria"] = cli["criteria"]
    from ..rules.criteria import Settings

    overrides = dict(cli.get("overrides") or {})
    if overrides:
        typed = Settings().updated(overrides, where="--set").as_dict()
        asked.update({k: typed[k] for k in overrides})
    differing: dict[str, list[str]] = {}
    for group in used.groups:
        for name, value in asked.items():
            if name in group.settings and _canonical(group.settings[name]) != _canonical(value):
                differing.setdefault(name, []).append(
                    f"{_canonical(group.settings[name])} in {len(group.subjects)} cases")
    if differing:
        detail = "; ".join(f"{k} asked {_canonical(asked[k])}, assessed with "
                           + ", ".join(v) for k, v in differing.items())
        raise MixedSettingsError(
            f"{used.source}: the cases were assessed with other settings than asked here "
            f"({detail}). The analysis uses the settings of the assessment; to change them, run "
            "mrecist assess again with these options (or analyse the case files directly).")
