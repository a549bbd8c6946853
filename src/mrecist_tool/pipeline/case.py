"""One case file, read → checked → assessed → per-case steps: the one place that does it.

``mrecist assess``, ``mrecist export sdtm`` and ``mrecist analyze`` (and a notebook) all reach a
case's result through :func:`assess_file`, so a case refused by one is refused by all, with the
same located problems, and a case assessed by one is assessed with the same settings by all.

The order is fixed:

1. read and check the file (:func:`mrecist_tool.casefile.load_case`): every error and warning,
   located by JSON path;
2. resolve the settings actually used (defaults, profile, the file's criteria and settings, then
   the command line's ``--profile``, ``--criteria`` and ``--set``: one place decides,
   :func:`mrecist_tool.rules.settings_for_case`);
3. when those settings assess the case under other criteria than the file was checked against,
   check its measurements again under them (a ``measured`` lesion needs the diameter its
   criteria use);
4. assess (:func:`mrecist_tool.rules.assess_case`);
5. run the per-case steps in order (:mod:`.steps`): image work first (it may add findings to the
   assessment), then the product a command needs (its table rows, as text or dicts).

Nothing here raises for a bad case: a refusal, and even an unexpected error, becomes a
:class:`~mrecist_tool.errors.Problem` of that case so the rest of a batch still runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CaseFileError, Problem, SettingsError

if TYPE_CHECKING:
    from ..model import Case
    from ..rules.criteria import Settings
    from ..rules.results import CaseAssessment, Finding

#: Keys of the options mapping: the command line's ``--profile``, ``--criteria`` and ``--set``,
#: and ``cutoff`` (``mrecist analyze --cutoff``: the case as it stood on that date, .cutoff).
OPTION_KEYS = frozenset({"profile", "criteria", "overrides", "cutoff"})


@dataclass
class CaseWork:
    """What the per-case steps work on: the read case, its settings and its assessment.

    A step reads these and writes its product into :attr:`outputs` under its own key; image
    work that finds something a reader should see adds it with :meth:`add_findings`, so that it
    appears in the case's warnings (``subjects.csv``, ``assessment.json``) like the engine's own.

    Attributes
    ----------
    path : Path
        Where the case file is read (absolute when the work runs on a cluster).
    file : str
        The case file as the user named it: in every message and table.
    case : Case
        The case as read.
    settings : Settings
        The settings it is assessed with.
    assessment : CaseAssessment
        Its assessment (with the warnings steps added).
    outputs : dict
        The steps' products, by key (e.g. ``"tables"``, ``"rows"``, ``"margins"``).
    profile : str
        The settings profile the case was assessed with (subjects.csv ``profile``).
    """

    path: Path
    """Where the case file is read (absolute when the work runs on a cluster)."""
    file: str
    """The case file as the user named it: in every message and table."""
    case: Case
    settings: Settings
    assessment: CaseAssessment
    outputs: dict[str, Any] = field(default_factory=dict)
    profile: str = ""

    @property
    def folder(self) -> Path:
        """The case file's folder, which mask paths are relative to."""
        return self.path.parent

    def add_findings(self, findings: Sequence[Finding]) -> None:
        """Add warnings to the assessment (they are written with the engine's own)."""
        if findings:
            self.assessment = dataclasses.replace(
                self.assessment, warnings=tuple(self.assessment.warnings) + tuple(findings)
            )


#: A per-case step: reads a :class:`CaseWork` and adds to it.  Steps run in worker processes or
#: on a cluster, so they must be picklable: module-level functions or ``functools.partial`` of
#: them.
CaseStep = Callable[[CaseWork], None]


@dataclass
class CaseResult:
    """The result of one case file: its problems and, unless it was refused, its products.

    Attributes
    ----------
    file : str
        The case file as the user named it.
    problems : list of Problem
        Every error and warning found, located (file, JSON path, message, rule).  The case was
        refused when any of them is an error.
    settings : Settings or None
        The settings the case was assessed with (``None`` when it was refused before they could
        be resolved).
    subject : str or None
        The subject id, once the file was read.
    outputs : dict
        The products of the per-case steps, by step name (e.g. ``"tables"``).
    assessment : CaseAssessment or None
        The full assessment, kept only when asked for (``keep_assessment=True``) because it is
        large to send between processes.
    simulated : bool
        The case file is marked ``"simulated": true`` (a simulated cohort).
    """

    file: str
    problems: list[Problem]
    settings: Settings | None = None
    subject: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    assessment: CaseAssessment | None = None
    simulated: bool = False

    @property
    def errors(self) -> list[Problem]:
        """The problems that refused the case."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems that did not refuse the case."""
        return [p for p in self.problems if p.severity != "error"]

    @property
    def refused(self) -> bool:
        """Whether the case was refused (it has an error, and no products)."""
        return any(p.severity == "error" for p in self.problems)


def check_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options mapping as a plain dict, refusing unknown keys (a programming error)."""
    opts = dict(options or {})
    unknown = set(opts) - OPTION_KEYS
    if unknown:
        raise TypeError(f"unknown assessment option(s) {sorted(unknown)}; expected {sorted(OPTION_KEYS)}")
    return opts


def _renamed(problems: list[Problem], read_as: str, name: str) -> list[Problem]:
    if read_as == name:
        return problems
    return [dataclasses.replace(p, file=name) if p.file == read_as else p for p in problems]


def assess_file(
    path: str | Path,
    options: Mapping[str, Any] | None = None,
    *,
    steps: Sequence[CaseStep] = (),
    name: str | None = None,
    keep_assessment: bool = False,
) -> CaseResult:
    """Read, check and assess one case file, then run the per-case steps; never raises.

    Parameters
    ----------
    path : str or Path
        The case file.
    options : mapping, optional
        Command-line settings for every case: ``{"profile": str | None, "criteria": str | None,
        "overrides": {name: value}}`` (``--profile``, ``--criteria``, ``--set``); they take
        precedence over the file's own (response-rules.md §7).
    steps : sequence of callables, optional
        Per-case steps (:mod:`mrecist_tool.pipeline.steps`), run in order after the assessment.
    name : str, optional
        How the file is named in problems and tables (default: ``str(path)``); lets a cluster
        read an absolute path while messages keep the name the user gave.
    keep_assessment : bool
        Keep the full :class:`~mrecist_tool.rules.CaseAssessment` in the result.

    Returns
    -------
    CaseResult
        Refused (``result.refused``) with located problems when the file cannot be read, its
        settings are wrong, its measurements do not fit the criteria, or a step failed.
    """
    from ..casefile import check_measurements, load_case, misspelt_keys_refused
    from ..casefile.xref import effective_criteria
    from ..rules import assess_case, settings_for_case
    from ..rules.engine import profile_for_case

    path = Path(path)
    read_as = str(path)
    file = name if name is not None else read_as
    opts = check_options(options)
    cutoff = opts.pop("cutoff", None)
    problems: list[Problem] = []
    try:
        case, problems = load_case(path, criteria=opts.get("criteria"))
        problems = misspelt_keys_refused(_renamed(problems, read_as, file))
        if case is None or any(p.severity == "error" for p in problems):
            if not any(p.severity == "error" for p in problems):
                problems.append(Problem(file, "$", "invalid case file"))
            return CaseResult(file, problems, subject=case.subject.id if case else None)
        if file != read_as:
            case = dataclasses.replace(case, source=Path(file))
        ignored: dict[str, int] = {}
        if cutoff is not None:
            from .cutoff import AfterCutoff, cut_case

            try:
                case, ignored = cut_case(case, cutoff)
            except AfterCutoff as exc:
                # Not an error: the subject is simply not part of the data as of the cut-off.
                return CaseResult(file, problems, subject=case.subject.id,
                                  outputs={"after_cutoff": str(exc)})
        try:
            settings = settings_for_case(case, **opts)
        except SettingsError as exc:
            return CaseResult(file, [*problems, Problem(file, "$.settings", str(exc))], subject=case.subject.id)
        checked = opts.get("criteria") or effective_criteria(case.criteria, case.profile, case.settings)
        if settings.criteria != checked:
            errors = [p for p in check_measurements(case, settings.criteria) if p.severity == "error"]
            if errors:
                return CaseResult(file, problems + errors, settings, case.subject.id)
        work = CaseWork(path, file, case, settings, assess_case(case, settings),
                        profile=profile_for_case(case, **opts))
        if cutoff is not None:
            work.outputs["cutoff_ignored"] = ignored
        for step in steps:
            step(work)
        return CaseResult(
            file,
            problems,
            settings,
            case.subject.id,
            work.outputs,
            work.assessment if keep_assessment else None,
            bool(case.extra.get("simulated") or case.subject.extra.get("simulated")),
        )
    except CaseFileError as exc:  # a step refusing the case on purpose
        return CaseResult(file, [*problems, *(exc.problems or [Problem(file, "$", str(exc))])])
    except Exception as exc:  # an engine defect must not stop the batch: report it, go on
        return CaseResult(file, [*problems, internal_error(file, exc)])


def internal_error(file: str, exc: BaseException, doing: str = "assessing") -> Problem:
    """The problem reported for an unexpected error in one case."""
    return Problem(file, "$", f"internal error while {doing} ({type(exc).__name__}: {exc}); please report it")
