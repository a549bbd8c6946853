"""A PACS: ``pull`` a patient's studies and ``push`` SR and SEG back, over DICOMweb (QIDO-RS,
WADO-RS, STOW-RS with ``dicomweb-client``: :class:`Pacs`) or DIMSE (C-FIND, C-GET, C-STORE
with ``pynetdicom``: :class:`~mrecist_tool.exchange.dimse.DimsePacs`).  Both go through the
same :func:`pull` and :func:`push`, so they give the same guarantees.

Nothing is half-written: a pull retrieves into a hidden staging folder next to the target,
checks that every instance the PACS listed arrived, and only then renames the staging folder
into place; on any failure (connection refused, timeout, authentication, a transfer cut off,
fewer instances than listed) the staging folder is removed and :class:`PacsError` says what
happened in one sentence.  The retrieved files are laid out as ``<study UID>/<series
UID>/<SOP instance UID>.dcm`` -- UIDs only, never a patient name in a folder name -- which is
what ``mrecist scan`` and the viewer read.

The patient ID asked for is an identifier: it is sent to the PACS but never printed or logged
(:func:`~mrecist_tool.dicom.privacy.redacted_logs` keeps it out of the records of
``dicomweb_client``, ``urllib3`` and every other library while a query runs); messages name the
study and series UIDs.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..atomic import atomic_write_bytes, staged_folder
from ..errors import MrecistError
from ._deps import require
from .dicom_write import encode_dataset

if TYPE_CHECKING:
    from .dimse import DimsePacs

DEFAULT_TIMEOUT_S = 30.0


class PacsError(MrecistError, OSError):
    """The PACS could not be reached, refused us, or a transfer did not complete."""

    def redact(self, *identifiers: str) -> PacsError:
        """The same error with the given identifiers (a patient ID in a query URL that a
        library quoted) replaced by ``<patient id>``."""
        from urllib.parse import quote, quote_plus

        text = str(self)
        for ident in identifiers:
            for form in {ident, quote(ident), quote_plus(ident)} if ident else ():
                text = text.replace(form, "<patient id>")
        return PacsError(text)


@dataclass(frozen=True)
class Pacs:
    """Where the PACS is and how to log in.

    ``url`` is the DICOMweb root, e.g. ``http://127.0.0.1:8042/dicom-web``.  The password is
    taken from the environment variable named by ``password_env`` (never from a command line,
    where other users of the machine could read it).

    Parameters
    ----------
    url : str
        The DICOMweb root.
    username : str or None, optional
        The user name for HTTP basic authentication (None: no authentication).
    password_env : str or None, optional
        The name of the environment variable holding the password.
    timeout_s : float, optional
        Seconds to wait for a connection or a response.
    """

    url: str
    username: str | None = None
    password_env: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def where(self) -> str:
        """How messages name the PACS."""
        return self.url

    def client(self) -> Any:
        require("dicomweb_client", "talking to a PACS over DICOMweb")
        import requests
        from dicomweb_client.api import DICOMwebClient

        session = requests.Session()
        if self.username:
            password = os.environ.get(self.password_env or "", "") if self.password_env else ""
            session.auth = (self.username, password)
        client = DICOMwebClient(url=self.url.rstrip("/"), session=session, timeout=self.timeout_s)
        # The client's own retries wait 1+2+4+8+16 s on any error, a refused connection
        # included: report at once instead (a pull leaves nothing behind, so it can be re-run).
        client.set_http_retry_params(retry=False)
        return client

    @contextlib.contextmanager
    def session(self) -> Iterator[PacsSession]:
        yield _WebSession(self)


def _explain(exc: BaseException, pacs: Pacs, doing: str) -> PacsError:
    """One clear sentence for a failed request (requests/urllib3/dicomweb-client errors)."""
    import requests

    where = pacs.url
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status in (401, 403):
            return PacsError(f"{where}: the PACS refused the credentials while {doing} (HTTP "
                             f"{status}); check the user name and the password variable")
        return PacsError(f"{where}: the PACS answered HTTP {status} {exc.response.reason} while {doing}")
    if isinstance(exc, requests.exceptions.Timeout):
        return PacsError(f"{where}: the PACS did not answer within {pacs.timeout_s:g} s while {doing}")
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "Connection refused" in text or "NewConnectionError" in text or "Failed to establish" in text:
            return PacsError(f"{where}: cannot connect to the PACS while {doing} (connection "
                             "refused: is it running, and is the address right?)")
        return PacsError(f"{where}: the connection to the PACS broke while {doing}")
    if isinstance(exc, requests.exceptions.RequestException):
        return PacsError(f"{where}: the transfer failed while {doing} ({type(exc).__name__})")
    return PacsError(f"{where}: unexpected answer while {doing} ({type(exc).__name__}: {exc})")


def _value(item: dict[str, Any], tag: str) -> Any:
    values = item.get(tag, {}).get("Value") or [None]
    return values[0]


@dataclass
class PullResult:
    """What :func:`pull` retrieved.

    Attributes
    ----------
    folder : pathlib.Path
        The folder the studies were written to.
    studies : list of str
        The Study Instance UIDs retrieved.
    series : int
        How many series.
    instances : int
        How many instances (files).
    """

    folder: Path
    studies: list[str] = field(default_factory=list)
    series: int = 0
    instances: int = 0


_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def safe_uid(value: Any, what: str, where: str) -> str:
    """A UID the PACS sent, checked before it names a folder or file (a PACS that sends
    ``../x`` must not write outside the pull's folder)."""
    text = str(value or "").strip()
    if not _UID.fullmatch(text) or len(text) > 64:
        raise PacsError(f"{where}: the PACS sent {what} {text[:70]!r}, which is not a DICOM UID; nothing kept")
    return text


class PacsSession(Protocol):
    """What :func:`pull` and :func:`push` need of a PACS, over DICOMweb or DIMSE."""

    where: str

    def find_studies(self, patient_id: str) -> list[str]: ...

    def list_series(self, study: str) -> list[tuple[str, int | None]]: ...

    def retrieve_series(self, study: str, series: str, folder: Path) -> int: ...

    def store(self, datasets: list[Any]) -> int: ...


class _WebSession:
    """DICOMweb: QIDO-RS to find, WADO-RS to retrieve, STOW-RS to store."""

    def __init__(self, pacs: Pacs):
        self.pacs = pacs
        self.where = pacs.url
        self.client = pacs.client()

    def find_studies(self, patient_id: str) -> list[str]:
        from ..dicom.privacy import redacted_logs

        try:
            with redacted_logs(patient_id):
                found = self.client.search_for_studies(search_filters={"PatientID": patient_id})
        except Exception as exc:
            raise _explain(exc, self.pacs, "searching the patient's studies").redact(patient_id) from None
        return [safe_uid(_value(s, "0020000D"), "a study UID", self.where)
                for s in found if _value(s, "0020000D")]

    def list_series(self, study: str) -> list[tuple[str, int | None]]:
        try:
            found = self.client.search_for_series(study_instance_uid=study)
        except Exception as exc:
            raise _explain(exc, self.pacs, f"listing the series of study {study}") from None
        out = []
        for item in found:
            expected = _value(item, "00201209")
            out.append((safe_uid(_value(item, "0020000E"), "a series UID", self.where),
                        int(expected) if expected is not None else None))
        return out

    def retrieve_series(self, study: str, series: str, folder: Path) -> int:
        got = 0
        try:
            for ds in self.client.iter_series(study_instance_uid=study, series_instance_uid=series):
                name = safe_uid(ds.get("SOPInstanceUID"), "an instance UID", self.where)
                atomic_write_bytes(folder / f"{name}.dcm", encode_dataset(ds))
                got += 1
        except MrecistError:
            raise
        except Exception as exc:
            raise _explain(exc, self.pacs, f"retrieving series {series} of study {study}") from None
        return got

    def store(self, datasets: list[Any]) -> int:
        by_study: dict[str, list[Any]] = {}
        for ds in datasets:
            by_study.setdefault(str(ds.StudyInstanceUID), []).append(ds)
        stored = 0
        for study, items in by_study.items():
            try:
                response = self.client.store_instances(items, study_instance_uid=study)
            except Exception as exc:
                raise _explain(exc, self.pacs, f"storing {len(items)} instance(s) of study {study}") from None
            failed = [str(x.get("ReferencedSOPInstanceUID", "?")) for x in response.get("FailedSOPSequence", [])]
            if failed:
                raise PacsError(f"{self.where}: the PACS did not accept {len(failed)} instance(s) of "
                                f"study {study}: {', '.join(failed[:5])}")
            stored += len(items)
        return stored


def _session(pacs: Any) -> contextlib.AbstractContextManager[PacsSession]:
    """A session with ``pacs`` (a :class:`Pacs` or a :class:`~.dimse.DimsePacs`)."""
    return pacs.session()


def find_studies(pacs: Pacs | DimsePacs, patient_id: str) -> list[str]:
    """Study Instance UIDs of one patient (QIDO-RS, or C-FIND over DIMSE).

    Parameters
    ----------
    pacs : Pacs or DimsePacs
        The PACS (DICOMweb or DIMSE).
    patient_id : str
        The patient's ID at the hospital (sent to the PACS, never printed).

    Returns
    -------
    list of str
        The Study Instance UIDs found (empty when none).

    Raises
    ------
    PacsError
        Connection or authentication problems.
    """
    with _session(pacs) as session:
        return session.find_studies(patient_id)


def pull(
    pacs: Pacs | DimsePacs,
    patient_id: str,
    dest: str | Path,
    *,
    study_uids: Sequence[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> PullResult:
    """Retrieve a patient's studies into ``dest`` (which must not exist yet).

    Parameters
    ----------
    pacs : Pacs or DimsePacs
        The PACS: :class:`Pacs` (DICOMweb: QIDO-RS, WADO-RS) or
        :class:`~mrecist_tool.exchange.dimse.DimsePacs` (DIMSE: C-FIND, C-GET).
    patient_id : str
        The patient's ID at the hospital (sent to the PACS, never printed).
    dest : str or pathlib.Path
        Folder to create, laid out ``<study>/<series>/<instance>.dcm``.
    study_uids : Sequence of str or None, optional
        Only these studies (default: every study of the patient).
    progress : callable or None, optional
        Called with ``(series UID, instances so far)`` after each series.

    Returns
    -------
    PullResult
        The folder and what was retrieved.

    Raises
    ------
    PacsError
        Nothing found, connection or authentication problems, a transfer cut off or
        incomplete; ``dest`` is then not created and no staging folder is left.
    """
    target = Path(dest)
    if target.exists():
        raise PacsError(f"{target}: exists already; pull into a new folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _session(pacs) as session:
        studies = list(study_uids) if study_uids else session.find_studies(patient_id)
        if not studies:
            raise PacsError(f"{session.where}: no study found for the patient ID given")
        result = PullResult(folder=target, studies=studies)
        # Built aside and renamed into place: an interrupted pull leaves no partial folder.
        with staged_folder(target) as stage:
            for study in studies:
                for series, expected in session.list_series(study):
                    folder = stage.path / study / series
                    folder.mkdir(parents=True)
                    got = session.retrieve_series(study, series, folder)
                    if expected is not None and got != expected:
                        raise PacsError(f"{session.where}: series {series} of study {study}: {got} of "
                                        f"{expected} instances arrived; nothing kept")
                    result.series += 1
                    result.instances += got
                    if progress is not None:
                        progress(series, result.instances)
    return result


def push(pacs: Pacs | DimsePacs, files: Iterable[str | Path]) -> int:
    """Store DICOM files (SR, SEG, images) in the PACS (STOW-RS, or C-STORE over DIMSE).

    Parameters
    ----------
    pacs : Pacs or DimsePacs
        The PACS (DICOMweb or DIMSE).
    files : Iterable of str or pathlib.Path
        The DICOM files to store; all are read and checked before any is sent.

    Returns
    -------
    int
        How many instances were stored.

    Raises
    ------
    PacsError
        A file that is not DICOM (nothing is sent then), connection or authentication
        problems, or instances the PACS did not accept (named by SOP Instance UID).
    """
    import pydicom

    from ..safe_files import open_regular

    datasets = []
    for f in files:
        try:
            with open_regular(f) as fh:  # a FIFO among the files must not block the upload
                datasets.append(pydicom.dcmread(fh))
        except Exception as exc:
            raise PacsError(f"{f}: cannot be read as DICOM ({type(exc).__name__}); nothing sent") from None
    if not datasets:
        return 0
    with _session(pacs) as session:
        return session.store(datasets)


def dicom_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files given, with folders expanded recursively (hidden entries skipped)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        else:
            out.append(p)
    return out


def open_subject_from_pacs(pacs: Pacs | DimsePacs, patient_id: str, cache: str | Path) -> Path:
    """Pull a subject into a new folder under ``cache`` and return it, for the viewer to open.

    The folder is named by the first study's UID (never the patient ID); an earlier complete
    pull of the same studies is reused.
    """
    studies = find_studies(pacs, patient_id)
    if not studies:
        raise PacsError(f"{pacs.where}: no study found for the patient ID given")
    from .uids import stable_uid

    folder = Path(cache) / stable_uid("pull", *sorted(studies)).removeprefix("2.25.")[:20]
    if folder.is_dir():
        return folder
    with contextlib.suppress(FileExistsError):
        pull(pacs, patient_id, folder, study_uids=studies)
    return folder
