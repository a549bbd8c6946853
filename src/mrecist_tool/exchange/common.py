"""Small helpers the SR and SEG writers share."""

from __future__ import annotations

from ..model import Case, Observation, Timepoint


def timepoint_of(case: Case, timepoint_id: str) -> Timepoint:
    """The case's timepoint ``timepoint_id``; a ValueError naming the known ones otherwise."""
    try:
        return case.timepoint(timepoint_id)
    except KeyError:
        known = ", ".join(t.id for t in case.timepoints)
        raise ValueError(
            f"{case.source or 'case'}: no timepoint {timepoint_id!r} (the case has {known})"
        ) from None


def observations_at(case: Case, timepoint_id: str) -> list[Observation]:
    """The observations at a timepoint, in the case's lesion order."""
    order = {lesion.id: i for i, lesion in enumerate(case.lesions)}
    found = [o for o in case.observations if o.timepoint == timepoint_id]
    return sorted(found, key=lambda o: order.get(o.lesion, len(order)))


def person_name(reader: str) -> str:
    """A reader id as a DICOM PN: one component is the family name, so it gets a caret."""
    return reader if "^" in reader else f"{reader}^"
