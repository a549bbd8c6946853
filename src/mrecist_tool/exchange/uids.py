"""Stable tracking UIDs: a lesion keeps the same Tracking Unique Identifier in every SR and SEG
the toolkit writes for it, at every timepoint, because the UID is derived from (subject
pseudonym, lesion id) and nothing else -- unless the case records one taken over from another
system (``lesions[].x-dicom-tracking-uid``, written by ``mrecist import sr``).
"""

from __future__ import annotations

import uuid

from ..model import Case

# Namespace of our name-based UUIDs (a fixed random UUID: changing it changes every UID).
_UID_NAMESPACE = uuid.UUID("6f1d3c2e-4b8a-5e97-a1c3-0d2b7e9f4a61")

# Case-file key (on a lesion) of a tracking UID taken over from another system's SR; "x-" marks
# it as a deliberate extension of the case format.
TRACKING_UID_KEY = "x-dicom-tracking-uid"


def stable_uid(*parts: str) -> str:
    """A ``2.25.`` UID that depends only on ``parts``: a name-based UUID (PS3.5 §B.2).

    (pydicom's ``generate_uid(prefix=None, entropy_srcs=...)`` ignores the entropy sources and
    returns a random UUID, so it cannot give a stable UID.)
    """
    name = "\x1f".join(parts)
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, name).int}"


def derived_lesion_uid(subject_id: str, lesion_id: str) -> str:
    """The tracking UID our writers derive for a lesion without a recorded one."""
    return stable_uid("lesion", subject_id, lesion_id)


def lesion_tracking_uid(case: Case, lesion_id: str) -> str:
    """The lesion's Tracking Unique Identifier: the same at every timepoint and in SR and SEG.

    A UID recorded in the case file (``lesions[].x-dicom-tracking-uid``) wins; otherwise it is
    derived from the subject pseudonym and the lesion id.
    """
    for lesion in case.lesions:
        if lesion.id == lesion_id:
            recorded = lesion.extra.get(TRACKING_UID_KEY)
            if isinstance(recorded, str) and recorded:
                return recorded
            break
    return derived_lesion_uid(case.subject.id, lesion_id)


def ablation_zone_tracking_uid(case: Case, lesion_id: str) -> str:
    """Tracking UID of the ablation zone of one lesion (stable across timepoints)."""
    return stable_uid("ablation-zone", case.subject.id, lesion_id)
