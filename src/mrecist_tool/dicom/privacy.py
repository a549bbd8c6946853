"""Patient pseudonyms for discovery output.

A pseudonym is ``PAT-`` plus the first 8 hex digits of a salted SHA-256 of the patient's ID,
name and birth date.  The salt is, in order: the ``salt`` argument, the environment variable
``MRECIST_PSEUDONYM_SALT``, or a random salt drawn once per process.  With the default the same
patient gets the same pseudonym throughout one run (so studies group correctly) but a different
one in the next run, which keeps short hospital numbers from being recovered by hashing
guesses; set the environment variable to get pseudonyms that are stable across runs.
"""

from __future__ import annotations

import hashlib
import os
import secrets

SALT_ENV = "MRECIST_PSEUDONYM_SALT"
_PROCESS_SALT = secrets.token_hex(16)


def default_salt() -> str:
    """The salt used when none is given: the environment variable, else a per-process one."""
    return os.environ.get(SALT_ENV) or _PROCESS_SALT


def pseudonym(patient_id: str, patient_name: str, birth_date: str, salt: str | None = None) -> str:
    """``PAT-xxxxxxxx`` for one patient identity; never reversible without the salt."""
    key = "\x1f".join((salt if salt is not None else default_salt(), patient_id.strip(),
                       patient_name.strip(), birth_date.strip()))
    return "PAT-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
