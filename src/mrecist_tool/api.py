"""The main entry points of mrecist-tool for a notebook or a script, in one place.

Each function here is the documented face of the module that does the work, which it imports
only when called, so that ``import mrecist_tool`` stays cheap (no numpy, pandas or pydicom until
they are needed).  The signatures match the functions they call (a test keeps them so).

>>> import mrecist_tool as mt
>>> case = mt.read_case("sample_data/cases/CRLM-S003.json")           # doctest: +SKIP
>>> mt.assess(case).best.category                                      # doctest: +SKIP
'PR'
>>> batch = mt.assess_files(["sample_data/cases"])                     # doctest: +SKIP
>>> [r.subject for r in batch.accepted]                                # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analysis.dataset import AnalysisData
    from .dicom import ScanResult, Volume
    from .errors import Problem
    from .model import Case
    from .pipeline import Batch
    from .rules import CaseAssessment, Settings

PathLike = str | Path


def read_case(path: PathLike, *, criteria: str | None = None) -> Case:
    """Read and check one case file (case-format.md).

    Parameters
    ----------
    path : str or Path
        The case file.
    criteria : str, optional
        Check ``measured`` observations against these criteria (``"mRECIST"`` or
        ``"RECIST1.1"``) instead of the file's own, as ``--criteria`` does.

    Returns
    -------
    Case
        The case, with lengths as exact decimals.

    Raises
    ------
    CaseFileError
        With every problem in the file, each located by JSON path (``.problems``); warnings are
        in ``.warnings``.  :class:`UnsupportedVersionError` for a newer format version.
    """
    from .casefile import read_case as impl

    return impl(path, criteria=criteria)


def validate_file(path: PathLike, *, criteria: str | None = None) -> list[Problem]:
    """Every error and warning in one case file, without raising.

    Parameters
    ----------
    path : str or Path
        The case file.
    criteria : str, optional
        Criteria to check measurements against (see :func:`read_case`).

    Returns
    -------
    list of Problem
        Empty when the file is valid and clean.
    """
    from .casefile import validate_file as impl

    return impl(path, criteria=criteria)


def write_case(case: Case, path: PathLike) -> None:
    """Write a case file atomically (the previous file is never damaged).

    Parameters
    ----------
    case : Case
        The case to write; an incomplete case is written too (an autosave must never be lost).
    path : str or Path
        Where to write it.

    Raises
    ------
    SaveError
        When the file cannot be written; the previous file, if any, is unchanged.
    """
    from .casefile import write_case as impl

    impl(case, path)


def assess(case: Case, settings: Settings | None = None) -> CaseAssessment:
    """Assess one case: every timepoint, every ablated tumour and the best overall response.

    Parameters
    ----------
    case : Case
        A case, e.g. from :func:`read_case`.
    settings : Settings, optional
        The rule settings (response-rules.md §7); default: the case's own (its profile,
        criteria and settings over the defaults).

    Returns
    -------
    CaseAssessment
        Categories per timepoint with the rule IDs that decided them, per-lesion rows, ablated
        tumours' states, best overall response and the dates the endpoints need.
    """
    from .rules import assess_case

    return assess_case(case, settings)


def assess_files(
    paths: Sequence[PathLike] | PathLike,
    options: Mapping[str, Any] | None = None,
    *,
    executor: str | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_assessment: bool = True,
) -> Batch:
    """Assess every case file under ``paths`` through the one pipeline of ``mrecist assess``.

    Parameters
    ----------
    paths : str, Path or sequence of them
        Case files, or folders searched recursively for them.
    options : mapping, optional
        ``{"profile": ..., "criteria": ..., "overrides": {...}}``, as the command line's
        ``--profile``, ``--criteria`` and ``--set``.
    executor : str, optional
        Where the per-case work runs: ``"serial"``, ``"processes"``, ``"tcp://HOST:PORT"`` of a
        Dask scheduler or ``"local:N"`` for a local Dask cluster (default: local processes for
        large batches).
    jobs : int, optional
        Local worker processes (default: the cores, at most 4).
    progress : callable, optional
        ``progress(done, total)`` as results come back (in order).
    keep_assessment : bool
        Keep each case's full :class:`CaseAssessment` in its result (default here: yes).

    Returns
    -------
    Batch
        ``.results`` (one :class:`~mrecist_tool.pipeline.CaseResult` per file, in order, each with
        its located problems and the settings used), ``.accepted``, ``.problems``,
        ``.refused_files``.
    """
    from .pipeline import assess_files as impl

    return impl(paths, options, executor=executor, jobs=jobs, progress=progress, keep_assessment=keep_assessment)


def read_series(
    files_or_folder: PathLike | Iterable[PathLike],
    series_uid: str | None = None,
    *,
    part: str | None = None,
    missing_slices: str = "raise",
    workers: int | None = None,
    dtype: Any = None,
) -> Volume:
    """Load one CT or MR series as a volume in LPS millimetres.

    Parameters
    ----------
    files_or_folder : str, Path or iterable of them
        DICOM files, or a folder searched for them.
    series_uid : str, optional
        The SeriesInstanceUID to load when there are several series.
    part : str, optional
        One part of a series that holds several volumes (e.g. phases), as :func:`scan` lists.
    missing_slices : str
        ``"raise"`` (default) to refuse a series with a gap, else as
        :func:`mrecist_tool.dicom.read_series` documents.
    workers : int, optional
        Threads decoding the slices.
    dtype : numpy dtype, optional
        The voxel type (default: what the rescale needs).

    Returns
    -------
    Volume
        ``array`` (z, y, x) with ``spacing``, ``origin`` and ``direction``.

    Raises
    ------
    DicomError
        A series that cannot be used as a volume, with the file and the reason.
    """
    from .dicom import read_series as impl

    return impl(files_or_folder, series_uid, part=part, missing_slices=missing_slices,  # type: ignore[arg-type]
                workers=workers, dtype=dtype)


def scan(
    folder: PathLike | Iterable[PathLike],
    *,
    reveal_identity: bool = False,
    salt: str | None = None,
    workers: int | None = None,
) -> ScanResult:
    """List the patients, studies and series under ``folder`` (headers only).

    Parameters
    ----------
    folder : str, Path or iterable of them
        Folders or files to scan.
    reveal_identity : bool
        Show patient names and IDs instead of pseudonyms.
    salt : str, optional
        Salt of the pseudonyms.
    workers : int, optional
        Threads reading headers.

    Returns
    -------
    ScanResult
        Patients, studies, series (with detected contrast phase) and skipped files with reasons.
    """
    from .dicom import scan as impl

    return impl(folder, reveal_identity=reveal_identity, salt=salt, workers=workers)


def analyze(
    source: PathLike | Sequence[PathLike],
    out_dir: PathLike | None = None,
    *,
    settings: Any = None,
    options: Mapping[str, Any] | None = None,
    executor: str | None = None,
) -> AnalysisData:
    """Trial analysis: endpoints, response rates, survival; optionally written with the report.

    Parameters
    ----------
    source : str, Path or sequence of them
        An ``mrecist assess --out`` folder, or case files / folders of them (assessed first,
        through the same pipeline as ``mrecist assess``).
    out_dir : str or Path, optional
        When given, write every table, plot and ``report.html`` there, as ``mrecist analyze``.
    settings : Settings, optional
        Cohort-level endpoint settings (e.g. the DFS definition).
    options : mapping, optional
        For case files: ``{"profile", "criteria", "overrides"}`` as on the command line.
    executor : str, optional
        For case files: where they are assessed, as in :func:`assess_files` (e.g.
        ``"tcp://HOST:PORT"`` of a Dask scheduler, or ``"local:N"``).

    Returns
    -------
    AnalysisData
        ``subjects``, ``timepoints``, ``ablations`` and the long ``endpoints`` table (pandas),
        and ``problems`` for inputs that could not be analysed.
    """
    from .analysis import dataset
    from .analysis.run import run_analysis

    paths = [source] if isinstance(source, str | Path) else list(source)
    if len(paths) == 1 and dataset.is_results_dir(paths[0]):
        data = dataset.from_results_dir(paths[0], settings)
    else:
        data = dataset.from_case_paths(paths, settings, cli=options, executor=executor)
    if out_dir is not None:
        run_analysis(data, out_dir)
    return data
