"""``mrecist pull`` and ``mrecist push``: studies from, and results back to, a PACS (DICOMweb).

    mrecist pull --url http://127.0.0.1:8042/dicom-web --patient-id-env PID --out subject1/
    mrecist push --url http://127.0.0.1:8042/dicom-web fu1_sr.dcm fu1_seg.dcm

The patient ID is read from an environment variable (``--patient-id-env``) or asked for when
not given, so it never lands in a shell history or a process list; it is never printed.  The
password likewise comes from ``--password-env``.  Exit status: 0 done; 1 the PACS or the
transfer failed (nothing half-written); 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..exitcodes import EXIT_OK, EXIT_REFUSED, EXIT_USAGE


def _connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", required=True, help="DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web")
    p.add_argument("--user", help="user name for the PACS (HTTP basic authentication)")
    p.add_argument("--password-env", metavar="VAR", default="MRECIST_PACS_PASSWORD",
                   help="environment variable holding the password (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for each answer (default: %(default)s)")


def register(subparsers: Any) -> None:
    pull = subparsers.add_parser(
        "pull", help="retrieve a patient's studies from a PACS (QIDO-RS / WADO-RS)",
        description="Retrieve every study of one patient into a new folder that 'mrecist scan' "
        "and the viewer read. Written into a staging folder and moved into place only when "
        "complete: an interrupted or refused transfer leaves nothing behind.",
    )
    _connection_options(pull)
    pull.add_argument("--patient-id-env", metavar="VAR", default="MRECIST_PATIENT_ID",
                      help="environment variable holding the patient ID (default: %(default)s)")
    pull.add_argument("--out", required=True, type=Path, metavar="FOLDER", help="new folder to create")
    pull.set_defaults(func=run_pull)

    push = subparsers.add_parser(
        "push", help="store SR / SEG files in a PACS (STOW-RS)",
        description="Send DICOM files (e.g. from 'mrecist export sr|seg') to a PACS.",
    )
    _connection_options(push)
    push.add_argument("files", nargs="+", type=Path, metavar="FILE", help="DICOM files or folders")
    push.set_defaults(func=run_push)


def _pacs(args: argparse.Namespace) -> Any:
    from ..exchange.pacs import Pacs

    return Pacs(url=args.url, username=args.user, password_env=args.password_env, timeout_s=args.timeout)


def run_pull(args: argparse.Namespace) -> int:
    from ..errors import MrecistError
    from ..exchange.pacs import PacsError, pull

    patient_id = os.environ.get(args.patient_id_env, "")
    if not patient_id and sys.stdin.isatty():
        import getpass

        patient_id = getpass.getpass("Patient ID (not shown): ")
    if not patient_id.strip():
        print(f"mrecist pull: no patient ID: set the environment variable {args.patient_id_env}",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        result = pull(_pacs(args), patient_id.strip(), args.out)
    except (PacsError, MrecistError, OSError) as exc:
        print(f"mrecist pull: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"retrieved {len(result.studies)} stud(y/ies), {result.series} series, "
          f"{result.instances} instances into {result.folder}", file=sys.stderr)
    return EXIT_OK


def run_push(args: argparse.Namespace) -> int:
    from ..errors import MrecistError
    from ..exchange.pacs import PacsError, dicom_files, push

    files = dicom_files(args.files)
    missing = [f for f in files if not f.is_file()]
    if missing:
        print(f"mrecist push: {missing[0]}: no such file", file=sys.stderr)
        return EXIT_USAGE
    try:
        n = push(_pacs(args), files)
    except (PacsError, MrecistError, OSError) as exc:
        print(f"mrecist push: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"stored {n} instance(s) in {args.url}", file=sys.stderr)
    return EXIT_OK
