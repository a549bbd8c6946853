"""A PACS over DICOMweb: ``pull`` a patient's studies (QIDO-RS, WADO-RS), ``push`` SR and SEG
(STOW-RS), with ``dicomweb-client``.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_bytes, staged_folder
from ..errors import MrecistError
from ._deps import require
from .dicom_write import encode_dataset

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
    """

    url: str
    username: str | None = None
    password_env: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

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
    folder: Path
    studies: list[str] = field(default_factory=list)
    series: int = 0
    instances: int = 0


def find_studies(pacs: Pacs, patient_id: str) -> list[str]:
    """Study Instance UIDs of one patient (QIDO-RS)."""
    from ..dicom.privacy import redacted_logs

    client = pacs.client()
    try:
        with redacted_logs(patient_id):
            found = client.search_for_studies(search_filters={"PatientID": patient_id})
    except Exception as exc:
        raise _explain(exc, pacs, "searching the patient's studies").redact(patient_id) from None
    return [str(_value(s, "0020000D")) for s in found if _value(s, "0020000D")]


def pull(
    pacs: Pacs,
    patient_id: str,
    dest: str | Path,
    *,
    study_uids: Sequence[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> PullResult:
    """Retrieve a patient's studies into ``dest`` (which must not exist yet).

    Parameters
    ----------
    pacs:
        The PACS.
    patient_id:
        The patient's ID at the hospital (sent to the PACS, never printed).
    dest:
        Folder to create, laid out ``<study>/<series>/<instance>.dcm``.
    study_uids:
        Only these studies (default: every study of the patient).
    progress:
        Called with ``(series UID, instances so far)`` after each series.

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
    studies = list(study_uids) if study_uids else find_studies(pacs, patient_id)
    if not studies:
        raise PacsError(f"{pacs.url}: no study found for the patient ID given")
    client = pacs.client()
    result = PullResult(folder=target, studies=studies)
    # Built aside and renamed into place: an interrupted pull leaves no partial folder.
    with staged_folder(target) as stage:
        staging = stage.path
        for study in studies:
            try:
                series_list = client.search_for_series(study_instance_uid=study)
            except Exception as exc:
                raise _explain(exc, pacs, f"listing the series of study {study}") from None
            for item in series_list:
                series = str(_value(item, "0020000E"))
                expected = _value(item, "00201209")
                folder = staging / study / series
                folder.mkdir(parents=True)
                got = 0
                try:
                    for ds in client.iter_series(study_instance_uid=study, series_instance_uid=series):
                        atomic_write_bytes(folder / f"{ds.SOPInstanceUID}.dcm", encode_dataset(ds))
                        got += 1
                except MrecistError:
                    raise
                except Exception as exc:
                    raise _explain(exc, pacs, f"retrieving series {series} of study {study}") from None
                if expected is not None and got != int(expected):
                    raise PacsError(f"{pacs.url}: series {series} of study {study}: {got} of "
                                    f"{int(expected)} instances arrived; nothing kept")
                result.series += 1
                result.instances += got
                if progress is not None:
                    progress(series, result.instances)
    return result


def push(pacs: Pacs, files: Iterable[str | Path]) -> int:
    """Store DICOM files (SR, SEG, images) in the PACS (STOW-RS); returns how many.

    Raises
    ------
    PacsError
        A file that is not DICOM, connection or authentication problems, or instances the
        PACS did not accept (named by SOP Instance UID).
    """
    import pydicom

    datasets = []
    from ..safe_files import open_regular

    for f in files:
        try:
            with open_regular(f) as fh:  # a FIFO among the files must not block the upload
                datasets.append(pydicom.dcmread(fh))
        except Exception as exc:
            raise PacsError(f"{f}: cannot be read as DICOM ({type(exc).__name__}); nothing sent") from None
    if not datasets:
        return 0
    client = pacs.client()
    by_study: dict[str, list[Any]] = {}
    for ds in datasets:
        by_study.setdefault(str(ds.StudyInstanceUID), []).append(ds)
    stored = 0
    for study, items in by_study.items():
        try:
            response = client.store_instances(items, study_instance_uid=study)
        except Exception as exc:
            raise _explain(exc, pacs, f"storing {len(items)} instance(s) of study {study}") from None
        failed = [str(x.get("ReferencedSOPInstanceUID", "?")) for x in response.get("FailedSOPSequence", [])]
        if failed:
            raise PacsError(f"{pacs.url}: the PACS did not accept {len(failed)} instance(s) of study "
                            f"{study}: {', '.join(failed[:5])}")
        stored += len(items)
    return stored


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


def open_subject_from_pacs(pacs: Pacs, patient_id: str, cache: str | Path) -> Path:
    """Pull a subject into a new folder under ``cache`` and return it, for the viewer to open.

    The folder is named by the first study's UID (never the patient ID); an earlier complete
    pull of the same studies is reused.
    """
    studies = find_studies(pacs, patient_id)
    if not studies:
        raise PacsError(f"{pacs.url}: no study found for the patient ID given")
    from .uids import stable_uid

    folder = Path(cache) / stable_uid("pull", *sorted(studies)).removeprefix("2.25.")[:20]
    if folder.is_dir():
        return folder
    with contextlib.suppress(FileExistsError):
        pull(pacs, patient_id, folder, study_uids=studies)
    return folder
