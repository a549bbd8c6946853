"""A PACS over DIMSE (``pynetdicom``): C-FIND to find a patient's studies and series, C-GET to
retrieve them, C-STORE to store SR and SEG.

C-GET, not C-MOVE: the instances come back on the association we opened, so the PACS needs no
route back to this machine (no listening port, no firewall opening, no AE title → address table
entry pointing at a workstation).  The PACS must know our AE title (``--aet``, default
``MRECIST``) for queries and retrievals, as every PACS requires.

:class:`DimsePacs` is used through :func:`mrecist_tool.exchange.pacs.pull` and
:func:`~mrecist_tool.exchange.pacs.push`, with the same staging, counting and one-sentence errors
as DICOMweb: a refused association, a PACS that does not answer, a query or retrieval refused,
an association broken mid-transfer (the PACS stopped), sub-operations that failed and a full disk
each give a :class:`~mrecist_tool.exchange.pacs.PacsError` and leave nothing behind.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MrecistError
from ._deps import require
from .pacs import DEFAULT_TIMEOUT_S, PacsError, PacsSession, safe_uid

DEFAULT_AET = "MRECIST"
# Transfer syntaxes accepted for the images of a retrieval: uncompressed, and the compressed ones
# the dicom layer reads (pylibjpeg, RLE); the PACS sends each instance as it is stored when we
# accept that syntax, so nothing is transcoded on the way.
_IMAGE_SYNTAXES = (
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE Lossless
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
)
FIND_MODEL = "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root Query/Retrieve Information Model - FIND
GET_MODEL = "1.2.840.10008.5.1.4.1.2.2.3"  # Study Root Query/Retrieve Information Model - GET
_OK = 0x0000
_PENDING = (0xFF00, 0xFF01)
_WARNINGS = (0x0001, 0xB000, 0xB006, 0xB007)
_OUT_OF_RESOURCES = 0xA700


@dataclass(frozen=True)
class DimsePacs:
    """Where the PACS listens for DIMSE and which AE titles to use.

    ``called_aet`` is the PACS's AE title (Orthanc's default is ``ORTHANC``); ``calling_aet`` is
    ours, which the PACS must have registered with this machine's address.

    Parameters
    ----------
    host : str
        The PACS's host name or address.
    port : int
        Its DIMSE port.
    called_aet : str, optional
        The PACS's AE title.
    calling_aet : str, optional
        Our AE title.
    timeout_s : float, optional
        Seconds to wait for a connection or a response.
    """

    host: str
    port: int
    called_aet: str = "ANY-SCP"
    calling_aet: str = DEFAULT_AET
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def where(self) -> str:
        """How messages name the PACS."""
        return f"{self.called_aet}@{self.host}:{self.port}"

    @contextlib.contextmanager
    def session(self) -> Iterator[PacsSession]:
        session = _DimseSession(self)
        try:
            yield session
        finally:
            session.close()


@contextlib.contextmanager
def _quiet_pynetdicom() -> Iterator[None]:
    """pynetdicom logs refused connections and aborts at ERROR level; with no logging set up by
    the user those records reach stderr beside our one-sentence message.  Silence them then
    (a user who configured logging keeps them)."""
    logger = logging.getLogger("pynetdicom")
    quiet = not logging.getLogger().handlers and logger.level == logging.NOTSET
    if quiet:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        if quiet:
            logger.setLevel(logging.NOTSET)


class _DimseSession:
    """One association for queries and retrievals (opened on first use), one per push."""

    def __init__(self, pacs: DimsePacs):
        require("pynetdicom", "talking to a PACS over DIMSE")
        self.pacs = pacs
        self.where = pacs.where
        self._assoc: Any = None
        self._sink: Path | None = None
        self._stored = 0
        self._store_error: BaseException | None = None

    # -- association -----------------------------------------------------------------------
    def _ae(self) -> Any:
        from pynetdicom import AE

        ae = AE(ae_title=self.pacs.calling_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.pacs.timeout_s
        ae.connection_timeout = self.pacs.timeout_s
        return ae

    def _reachable(self, doing: str) -> None:
        """A plain TCP connection first: pynetdicom reports a refused connection as an aborted
        association, and the person needs to know which of the two happened."""
        import socket

        try:
            with socket.create_connection((self.pacs.host, self.pacs.port), timeout=self.pacs.timeout_s):
                pass
        except TimeoutError:
            raise PacsError(f"{self.where}: cannot connect to the PACS while {doing} (no answer within "
                            f"{self.pacs.timeout_s:g} s: is the address right, and is a firewall "
                            "in the way?)") from None
        except OSError as exc:
            reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else (exc.strerror or str(exc))
            raise PacsError(f"{self.where}: cannot connect to the PACS while {doing} ({reason}: is it "
                            "running, and are the host and port right?)") from None

    def _open(self, ae: Any, doing: str, **kw: Any) -> Any:
        self._reachable(doing)
        with _quiet_pynetdicom():
            assoc = ae.associate(self.pacs.host, self.pacs.port, ae_title=self.pacs.called_aet, **kw)
        if assoc.is_established:
            return assoc
        if assoc.is_rejected:
            raise PacsError(
                f"{self.where}: the PACS rejected the association while {doing} (is our AE title "
                f"{self.pacs.calling_aet!r} registered there for this machine, and is "
                f"{self.pacs.called_aet!r} its AE title?)")
        raise PacsError(f"{self.where}: the PACS accepted the connection but did not take up the "
                        f"association within {self.pacs.timeout_s:g} s while {doing} (is it a DICOM "
                        "port, and is the PACS busy?)")

    def _query_retrieve(self, doing: str) -> Any:
        if self._assoc is not None and self._assoc.is_established:
            return self._assoc
        from pynetdicom import build_context, build_role, evt
        from pynetdicom.presentation import StoragePresentationContexts

        ae = self._ae()
        contexts = [build_context(FIND_MODEL), build_context(GET_MODEL)]
        roles = []
        # The storage classes the PACS may send back on this association (C-GET sub-operations):
        # at most 128 presentation contexts fit in one association.
        for cx in StoragePresentationContexts[:126]:
            sop = str(cx.abstract_syntax)
            contexts.append(build_context(sop, list(_IMAGE_SYNTAXES)))
            roles.append(build_role(sop, scp_role=True))
        self._assoc = self._open(ae, doing, contexts=contexts, ext_neg=roles,
                                 evt_handlers=[(evt.EVT_C_STORE, self._on_store)])
        return self._assoc

    def close(self) -> None:
        if self._assoc is not None and self._assoc.is_established:
            with _quiet_pynetdicom():
                self._assoc.release()
        self._assoc = None

    def _broken(self, assoc: Any, doing: str) -> PacsError:
        return PacsError(f"{self.where}: the connection to the PACS broke while {doing}")

    # -- C-FIND ----------------------------------------------------------------------------
    def _find(self, query: Any, doing: str) -> list[Any]:
        assoc = self._query_retrieve(doing)
        found = []
        try:
            with _quiet_pynetdicom():
                responses = list(assoc.send_c_find(query, FIND_MODEL))
        except (RuntimeError, ValueError) as exc:  # association gone, or no accepted context
            if not assoc.is_established:
                raise self._broken(assoc, doing) from None
            raise PacsError(f"{self.where}: the PACS does not answer queries from us while {doing} "
                            f"({exc})") from None
        for status, identifier in responses:
            code = status.get("Status") if status is not None else None
            if code is None:
                raise self._broken(assoc, doing)
            if code in _PENDING:
                if identifier is not None:
                    found.append(identifier)
            elif code != _OK:
                raise PacsError(f"{self.where}: the PACS refused the query while {doing} (status "
                                f"0x{int(code):04X})")
        return found

    def find_studies(self, patient_id: str) -> list[str]:
        from pydicom.dataset import Dataset

        from ..dicom.privacy import redacted_logs

        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.PatientID = patient_id
        query.StudyInstanceUID = ""
        try:
            with redacted_logs(patient_id):
                found = self._find(query, "searching the patient's studies")
        except PacsError as exc:
            raise exc.redact(patient_id) from None
        return [safe_uid(ds.StudyInstanceUID, "a study UID", self.where)
                for ds in found if ds.get("StudyInstanceUID")]

    def list_series(self, study: str) -> list[tuple[str, int | None]]:
        from pydicom.dataset import Dataset

        query = Dataset()
        query.QueryRetrieveLevel = "SERIES"
        query.StudyInstanceUID = study
        query.SeriesInstanceUID = ""
        query.NumberOfSeriesRelatedInstances = ""
        out = []
        for ds in self._find(query, f"listing the series of study {study}"):
            count = ds.get("NumberOfSeriesRelatedInstances")
            out.append((safe_uid(ds.get("SeriesInstanceUID"), "a series UID", self.where),
                        int(count) if count not in (None, "") else None))
        return out

    # -- C-GET -----------------------------------------------------------------------------
    def _on_store(self, event: Any) -> int:
        """A C-STORE sub-operation of our C-GET: write the instance as it was sent."""
        from ..atomic import atomic_write_bytes

        if self._sink is None or self._store_error is not None:
            return _OUT_OF_RESOURCES
        try:
            name = safe_uid(event.request.AffectedSOPInstanceUID, "an instance UID", self.where)
            atomic_write_bytes(self._sink / f"{name}.dcm", event.encoded_dataset())
        except (MrecistError, OSError) as exc:
            self._store_error = exc
            return _OUT_OF_RESOURCES
        self._stored += 1
        return _OK

    def retrieve_series(self, study: str, series: str, folder: Path) -> int:
        from pydicom.dataset import Dataset

        doing = f"retrieving series {series} of study {study}"
        assoc = self._query_retrieve(doing)
        query = Dataset()
        query.QueryRetrieveLevel = "SERIES"
        query.StudyInstanceUID = study
        query.SeriesInstanceUID = series
        self._sink, self._stored, self._store_error = folder, 0, None
        final = None
        try:
            with _quiet_pynetdicom():
                for status, _identifier in assoc.send_c_get(query, GET_MODEL):
                    final = status
        except (RuntimeError, ValueError) as exc:  # association gone, or no accepted context
            if not assoc.is_established:
                raise self._broken(assoc, doing) from None
            raise PacsError(f"{self.where}: the PACS does not answer retrievals from us while {doing} "
                            f"({exc})") from None
        finally:
            self._sink = None
        if self._store_error is not None:
            if isinstance(self._store_error, PacsError):
                raise self._store_error
            raise PacsError(f"{self.where}: {doing}: {self._store_error}; nothing kept")
        code = final.get("Status") if final is not None else None
        if final is None or code is None or not assoc.is_established:
            raise self._broken(assoc, doing)
        if code not in (_OK, *_WARNINGS):
            raise PacsError(f"{self.where}: the PACS refused the retrieval while {doing} (status "
                            f"0x{int(code):04X})")
        failed = int(final.get("NumberOfFailedSuboperations") or 0)
        if failed:
            raise PacsError(f"{self.where}: series {series} of study {study}: {failed} instance(s) "
                            f"could not be sent to us ({self._stored} arrived); nothing kept")
        return self._stored

    # -- C-STORE ---------------------------------------------------------------------------
    def store(self, datasets: list[Any]) -> int:
        from pynetdicom import build_context

        pairs = sorted({(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in datasets})
        if len(pairs) > 128:
            raise PacsError(f"{self.where}: more than 128 kinds of object in one push; push fewer at a time")
        contexts = [build_context(sop, [ts]) for sop, ts in pairs]
        doing = f"storing {len(datasets)} instance(s)"
        assoc = self._open(self._ae(), doing, contexts=contexts)
        failed: list[str] = []
        try:
            for ds in datasets:
                with _quiet_pynetdicom():
                    status = assoc.send_c_store(ds)
                code = status.get("Status") if status is not None else None
                if code is None:
                    raise self._broken(assoc, doing)
                if code not in (_OK, *_WARNINGS):
                    failed.append(f"{ds.SOPInstanceUID} (status 0x{int(code):04X})")
        finally:
            if assoc.is_established:
                with _quiet_pynetdicom():
                    assoc.release()
        if failed:
            raise PacsError(f"{self.where}: the PACS did not accept {len(failed)} instance(s): "
                            f"{', '.join(failed[:5])}")
        return len(datasets)
