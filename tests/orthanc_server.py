"""A real Orthanc (Debian's ``orthanc`` + ``orthanc-dicomweb``) for the PACS tests.

HTTP on a free port of 127.0.0.1 with ``RemoteAccessAllowed`` false and basic authentication
with one user; the DICOM (DIMSE) server on another free port, answering only our AE title
(``MRECIST``) from 127.0.0.1 (Orthanc 1.10 has no listen-address setting for DIMSE: its port
is open on every interface, so it refuses every AE title and host but ours, echo included);
storage in a temporary folder.  The configuration starts from the packaged defaults
(``/etc/orthanc/orthanc.json``) and changes only what a test server needs.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path

USER, PASSWORD = "mrecist", "test-password"
AET, OUR_AET = "ORTHANC", "MRECIST"
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Orthanc:
    process: subprocess.Popen[bytes]
    port: int
    folder: Path
    dicom_port: int

    @property
    def dicomweb(self) -> str:
        return f"http://127.0.0.1:{self.port}/dicom-web"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def start(folder: Path) -> Orthanc:
    exe = shutil.which("Orthanc")
    if exe is None or not DICOMWEB_PLUGIN.exists():
        raise RuntimeError("Orthanc and its DICOMweb plugin are needed: apt-get install orthanc "
                           "orthanc-dicomweb (the Makefile's system-deps installs them)")
    folder.mkdir(parents=True, exist_ok=True)
    port, dicom_port = free_port(), free_port()
    config = {
        "Name": "mrecist-test",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpServerEnabled": True,
        "HttpPort": port,
        "RemoteAccessAllowed": False,  # loopback clients only
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "DicomServerEnabled": True,
        "DicomAet": AET,
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": True,
        "DicomModalities": {"mrecist": {"AET": OUR_AET, "Host": "127.0.0.1", "Port": 104}},
        "DicomCheckModalityHost": True,
        "DicomAlwaysAllowEcho": False,
        "DicomAlwaysAllowStore": False,
        "DicomAlwaysAllowFind": False,
        "DicomAlwaysAllowGet": False,
        "DicomAlwaysAllowMove": False,
        "HttpDescribeErrors": True,
        "OrthancExplorerEnabled": False,
        "WebDavEnabled": False,
        "UnknownSopClassAccepted": False,
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
        "ConcurrentJobs": 1,
        "HttpThreadsCount": 4,
    }
    config_file = folder / "orthanc.json"
    config_file.write_text(json.dumps(config, indent=1))
    log = open(folder / "orthanc.log", "wb")  # noqa: SIM115 - the server keeps it open
    process = subprocess.Popen([exe, str(config_file)], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    server = Orthanc(process, port, folder, dicom_port)
    auth = "Basic " + b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc exited at start; see {folder / 'orthanc.log'}")
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/system", headers={"Authorization": auth})
            with urllib.request.urlopen(request, timeout=2) as answer:
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"Orthanc did not answer within 30 s; see {folder / 'orthanc.log'}")
