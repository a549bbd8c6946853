"""``mrecist pull`` and ``mrecist push``: studies from, and results back to, a PACS, over
DICOMweb (``--url``) or DIMSE (``--dimse HOST:PORT``).

    mrecist pull --url http://127.0.0.1:8042/dicom-web --patient-id-env PID --out subject1/
    mrecist pull --dimse pacs.hospital:104 --called-aet PACS --aet MRECIST --out subject1/
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
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web")
    where.add_argument("--dimse", metavar="HOST:PORT",
                       help="the PACS's DICOM (DIMSE) address, e.g. pacs.hospital:104 "
                       "(C-FIND and C-GET to pull, C-STORE to push)")
    p.add_argument("--user", help="user name for the PACS (DICOMweb, HTTP basic authentication)")
    p.add_argument("--password-env", metavar="VAR", default="MRECIST_PACS_PASSWORD",
                   help="environment variable holding the password (default: %(default)s)")
    p.add_argument("--aet", default="MRECIST",
                   help="our AE title for DIMSE; the PACS must know it (default: %(default)s)")
    p.add_argument("--called-aet", default="ANY-SCP",
                   help="the PACS's AE title for DIMSE (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for each answer (default: %(default)s)")


def register(subparsers: Any) -> None:
    pull = subparsers.add_parser(
        "pull", help="retrieve a patient's studies from a PACS (DICOMweb or DIMSE)",
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
        "push", help="store SR / SEG files in a PACS (STOW-RS or C-STORE)",
        description="Send DICOM files (e.g. from 'mrecist export sr|seg') to a PACS. For the "
        "hospital PACS, export them with --keep-patient-identity so they file under the patient.",
    )
    _connection_options(push)
    push.add_argument("files", nargs="+", type=Path, metavar="FILE", help="DICOM files or folders")
    push.set_defaults(func=run_push)


def _pacs(args: argparse.Namespace) -> Any:
    """The PACS the options name; ValueError with a message for a bad ``--dimse``."""
    from ..exchange.pacs import Pacs

    if args.dimse:
        from ..exchange.dimse import DimsePacs

        host, sep, port = args.dimse.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"--dimse {args.dimse!r}: expected HOST:PORT, e.g. pacs.hospital:104")
        if not args.aet.strip() or len(args.aet) > 16 or not args.called_aet.strip() or len(args.called_aet) > 16:
            raise ValueError("--aet and --called-aet: 1 to 16 characters")
        return DimsePacs(host=host.strip("[]"), port=int(port), called_aet=args.called_aet,
                         calling_aet=args.aet, timeout_s=args.timeout)
    return Pacs(url=args.url, username=args.user, password_env=args.password_env, timeout_s=args.timeout)


def run_pull(args: argparse.Namespace) -> int:
    from ..errors import MrecistError
    from ..exchange.pacs import PacsError, pull

    try:
        pacs = _pacs(args)
    except ValueError as exc:
        print(f"mrecist pull: {exc}", file=sys.stderr)
        return EXIT_USAGE
    patient_id = os.environ.get(args.patient_id_env, "")
    if not patient_id and sys.stdin.isatty():
        import getpass

        patient_id = getpass.getpass("Patient ID (not shown): ")
    if not patient_id.strip():
        print(f"mrecist pull: no patient ID: set the environment variable {args.patient_id_env}",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        result = pull(pacs, patient_id.strip(), args.out)
    except (PacsError, MrecistError, OSError) as exc:
        print(f"mrecist pull: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"retrieved {len(result.studies)} stud(y/ies), {result.series} series, "
          f"{result.instances} instances into {result.folder}", file=sys.stderr)
    return EXIT_OK


def run_push(args: argparse.Namespace) -> int:
    from ..errors import MrecistError
    from ..exchange.pacs import PacsError, dicom_files, push

    try:
        pacs = _pacs(args)
    except ValueError as exc:
        print(f"mrecist push: {exc}", file=sys.stderr)
        return EXIT_USAGE
    files = dicom_files(args.files)
    missing = [f for f in files if not f.is_file()]
    if missing:
        print(f"mrecist push: {missing[0]}: no such file", file=sys.stderr)
        return EXIT_USAGE
    try:
        n = push(pacs, files)
    except (PacsError, MrecistError, OSError) as exc:
        print(f"mrecist push: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"stored {n} instance(s) in {pacs.where}", file=sys.stderr)
    pseudonymised = _pseudonymised(files)
    if pseudonymised:
        print(f"note: {pseudonymised} of them carry the case's subject id, not the patient's identity "
              "(exported without --keep-patient-identity): a hospital PACS files them under that id, "
              "apart from the patient's images", file=sys.stderr)
    return EXIT_OK


def _pseudonymised(files: list[Path]) -> int:
    """How many of the files our exporter pseudonymised (its De-identification Method)."""
    import pydicom

    from ..dicom.privacy import DEIDENTIFICATION_METHOD

    n = 0
    for f in files:
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=["DeidentificationMethod"])
        except Exception:  # already sent; a file pydicom cannot re-read is simply not counted
            continue
        n += str(ds.get("DeidentificationMethod", "")) == DEIDENTIFICATION_METHOD
    return n
