"""The coded concepts of the DICOM SR and SEG we write and read, with why each was chosen.

Standard schemes first: DCM (PS3.16), SCT (SNOMED CT), LN (LOINC), UCUM, UMLS.  A concept
DICOM and SNOMED do not define gets a code of our private scheme ``99MRECIST`` (PS3.16 §8.1:
private schemes start with ``99``), declared in each SR's Coding Scheme Identification
Sequence.  Every private code is listed, with the reason, in ``docs/dicom-codes.md``; a test
checks that an SR holds no private code missing from that table, and ``dciodvfy`` warns about
nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRIVATE_SCHEME = "99MRECIST"
PRIVATE_SCHEME_NAME = "mrecist-tool local codes (response assessment after liver-directed therapy)"


@dataclass(frozen=True)
class Concept:
    """One coded concept: value, scheme designator, meaning."""

    value: str
    scheme: str
    meaning: str

    def code(self) -> Any:
        """The concept as a pydicom :class:`~pydicom.sr.coding.Code` (what highdicom takes)."""
        from pydicom.sr.coding import Code

        return Code(self.value, self.scheme, self.meaning)

    @property
    def key(self) -> tuple[str, str]:
        return (self.value, self.scheme)

    def matches(self, coded: Any) -> bool:
        """True when a pydicom/highdicom coded concept has our value and scheme."""
        return (
            str(getattr(coded, "value", "")) == self.value
            and str(getattr(coded, "scheme_designator", "")) == self.scheme
        )


def _p(value: str, meaning: str) -> Concept:
    return Concept(value, PRIVATE_SCHEME, meaning)


# -- TID 1500 structure (read by every TID 1500 reader) -----------------------------------------
MEASUREMENT_REPORT = Concept("126000", "DCM", "Imaging Measurement Report")
IMAGING_MEASUREMENTS = Concept("126010", "DCM", "Imaging Measurements")
MEASUREMENT_GROUP = Concept("125007", "DCM", "Measurement Group")
TRACKING_IDENTIFIER = Concept("112039", "DCM", "Tracking Identifier")
TRACKING_UID = Concept("112040", "DCM", "Tracking Unique Identifier")
FINDING = Concept("121071", "DCM", "Finding")
FINDING_SITE = Concept("363698007", "SCT", "Finding Site")
IMAGE_REGION = Concept("111030", "DCM", "Image Region")
REFERENCED_SEGMENT = Concept("121191", "DCM", "Referenced Segment")
SOURCE_SERIES_FOR_SEGMENTATION = Concept("121232", "DCM", "Source series for segmentation")
MEASUREMENT_METHOD = Concept("370129005", "SCT", "Measurement Method")
TIME_POINT = Concept("C2348792", "UMLS", "Time Point")
TIME_POINT_NAMES = frozenset({
    TIME_POINT.key,
    ("126071", "DCM"),  # Protocol Time Point Identifier
    ("126070", "DCM"),  # Subject Time Point Identifier
})

# -- Measurements (TID 300 concept names) -------------------------------------------------------
LONG_AXIS = Concept("103339001", "SCT", "Long axis")  # RECIST 1.1 longest diameter (CID 7469)
SHORT_AXIS = Concept("103340004", "SCT", "Short axis")  # nodal short axis (CID 7469)
# mRECIST measures the longest diameter of the *viable* (enhancing) tumour only.  No standard
# concept says "viable", so it gets its own code rather than overloading "Long axis": a reader
# of the SR must not mistake it for the whole-lesion diameter.
VIABLE_DIAMETER = _p("VLDIAM", "Viable tumor longest diameter")
GAP_TO_ABLATION_ZONE = _p("GAPABL", "Gap to ablation zone")
VOLUME = Concept("118565006", "SCT", "Volume")  # of a segment (TID 1411), CID 7470
# Diameters other viewers write that the importer also accepts as a longest diameter.
LENGTH = Concept("410668003", "SCT", "Length")
DIAMETER = Concept("81827009", "SCT", "Diameter")

MILLIMETRE = Concept("mm", "UCUM", "millimeter")
CENTIMETRE = Concept("cm", "UCUM", "centimeter")
CUBIC_MILLIMETRE = Concept("mm3", "UCUM", "cubic millimeter")

# Measurement method (TID 300 "Measurement Method", values from CID 6147 "Response Criteria").
RECIST_11 = Concept("126081", "DCM", "RECIST 1.1")
MRECIST = _p("MRECIST", "mRECIST")  # not in CID 6147

# -- Qualitative evaluations of a lesion (TID 1501/1410/1411 CODE items) ------------------------
# The lesion's role: DCM "Baseline Category" with its CID 6145 values; a new lesion (no baseline
# category) takes SNOMED "New finding".
LESION_ROLE = Concept("112016", "DCM", "Baseline Category")
ROLE_VALUES: dict[str, Concept] = {
    "target": Concept("112074", "DCM", "Target Lesion at Baseline"),  # CID 6145
    "non-target": Concept("112075", "DCM", "Non-Target Lesion at Baseline"),  # CID 6145
    "new": Concept("129721008", "SCT", "New finding"),
}
# No standard concept holds a lesion's state at a timepoint (measured, absent, too small, ...);
# its values are standard where one exists.
LESION_STATUS = _p("STATUS", "Lesion status at timepoint")
STATUS_VALUES: dict[str, Concept] = {
    "measured": Concept("258104002", "SCT", "Measured"),  # CID 10009
    "absent": Concept("272519000", "SCT", "Absent"),  # CID 240
    "too-small": Concept("112133", "DCM", "Too small"),  # CID 6118
    "present": Concept("52101004", "SCT", "Present"),  # CID 240
    # RECIST's unequivocal progression of a non-target lesion: no standard code.
    "progressed": _p("PROGRESSED", "Unequivocal progression"),
    "not-evaluable": Concept("121059", "DCM", "Presence Undetermined"),
}
# The lesion's kind is written as the group's Finding (TID 1501/1410/1411 row "Finding").
KIND_VALUES: dict[str, Concept] = {
    "tumor": Concept("108369006", "SCT", "Tumor"),
    "node": Concept("59441001", "SCT", "Lymph node"),
    "porta-hepatis-node": Concept("61492009", "SCT", "Hepatic lymph node"),  # nodes of the porta hepatis
    "portal-vein-thrombus": Concept("396339007", "SCT", "Thrombus"),
    "effusion": Concept("41699000", "SCT", "Effusion"),
}
# Codes our earlier SRs wrote, still read back (never written again).
LEGACY_ROLE_CODES: dict[tuple[str, str], str] = {("NEW", PRIVATE_SCHEME): "new"}
LEGACY_ROLE_CONCEPTS = frozenset({("ROLE", PRIVATE_SCHEME)})
LEGACY_STATUS_CODES: dict[tuple[str, str], str] = {
    ("ABSENT", PRIVATE_SCHEME): "absent",
    ("PRESENT", PRIVATE_SCHEME): "present",
    ("MEASURED", PRIVATE_SCHEME): "measured",
    ("TOOSMALL", PRIVATE_SCHEME): "too-small",
    ("NE", PRIVATE_SCHEME): "not-evaluable",
    ("2667000", "SCT"): "absent",  # the SNOMED qualifier we wrote before CID 240's code
}
LEGACY_KIND_CONCEPT = ("KIND", PRIVATE_SCHEME)
LEGACY_KIND_CODES: dict[tuple[str, str], str] = {
    ("PHNODE", PRIVATE_SCHEME): "porta-hepatis-node",
    ("EFFUSION", PRIVATE_SCHEME): "effusion",
}
ORGAN_SITES: dict[str, Concept] = {
    "liver": Concept("10200004", "SCT", "Liver"),
    "hepatic": Concept("10200004", "SCT", "Liver"),
    "lung": Concept("39607008", "SCT", "Lung"),
    "lymph node": Concept("59441001", "SCT", "Lymph node"),
    "peritoneum": Concept("15425007", "SCT", "Peritoneum"),
}
ORGAN_BY_CODE: dict[tuple[str, str], str] = {
    ("10200004", "SCT"): "liver",
    ("39607008", "SCT"): "lung",
    ("59441001", "SCT"): "lymph node",
    ("15425007", "SCT"): "peritoneum",
}

# -- Timepoint response (TID 1500 row 12 "Qualitative Evaluations" container) -------------------
QUALITATIVE_EVALUATIONS = Concept("C0034375", "UMLS", "Qualitative Evaluations")
RESPONSE_METHOD = Concept("112021", "DCM", "Response Evaluation Method")
TARGET_RESPONSE = _p("TRGRESP", "Target lesion response")
NONTARGET_RESPONSE = _p("NTRGRESP", "Non-target lesion response")
NEW_LESIONS = _p("NEWLIND", "New lesion indicator")
OVERALL_RESPONSE = Concept("112048", "DCM", "Current Response")
NOT_EVALUABLE = _p("NE", "Not evaluable")
TARGET_RESPONSE_VALUES: dict[str, Concept] = {
    "CR": Concept("112041", "DCM", "Target Lesion Complete Response"),
    "PR": Concept("112042", "DCM", "Target Lesion Partial Response"),
    "PD": Concept("112043", "DCM", "Target Lesion Progressive Disease"),
    "SD": Concept("112044", "DCM", "Target Lesion Stable Disease"),
    "NE": NOT_EVALUABLE,
}
NONTARGET_RESPONSE_VALUES: dict[str, Concept] = {
    "CR": Concept("112045", "DCM", "Non-Target Lesion Complete Response"),
    "IR/SD": Concept("112046", "DCM", "Non-Target Lesion Incomplete Response or Stable Disease"),
    "NON-CR/NON-PD": Concept(
        "112046", "DCM", "Non-Target Lesion Incomplete Response or Stable Disease"
    ),
    "PD": Concept("112047", "DCM", "Non-Target Lesion Progressive Disease"),
    "NE": NOT_EVALUABLE,
}
NEW_LESION_VALUES: dict[str, Concept] = {
    "yes": Concept("373066001", "SCT", "Yes"),
    "no": Concept("373067005", "SCT", "No"),
    "equivocal": Concept("42425007", "SCT", "Equivocal"),
    # The search for new lesions was incomplete: CID 230's third value.
    "unknown": Concept("373068000", "SCT", "Undetermined"),
}
OVERALL_RESPONSE_VALUES: dict[str, Concept] = {
    "CR": _p("CR", "Complete response"),
    "PR": _p("PR", "Partial response"),
    "SD": _p("SD", "Stable disease"),
    "PD": _p("PD", "Progressive disease"),
    "NE": NOT_EVALUABLE,
    "NON-CR/NON-PD": _p("NONCRNONPD", "Non-CR/Non-PD"),
}

# -- Timepoints, procedures ---------------------------------------------------------------------
BASELINE = Concept("C1442488", "UMLS", "Baseline")
POSTTREATMENT = Concept("126074", "DCM", "Posttreatment")
CT_PROCEDURE = Concept("25045-6", "LN", "CT unspecified body region")
MR_PROCEDURE = Concept("25056-3", "LN", "MRI unspecified body region")
PERSON = Concept("121006", "DCM", "Person")
DEVICE = Concept("121007", "DCM", "Device")

# -- Segmentation property codes (CID 7150 category, CID 7151 type) -----------------------------
SEG_CATEGORY = Concept("49755003", "SCT", "Morphologically Abnormal Structure")
SEG_TYPE_LESION = Concept("108369006", "SCT", "Tumor")
# A thermal ablation zone is a region of coagulation necrosis; SCT "Necrosis" is the closest
# standard segmentation property type (it is in CID 7151), and the segment label says
# "ablation zone".
SEG_TYPE_ABLATION_ZONE = Concept("6574001", "SCT", "Necrosis")

MANUFACTURER = "mrecist-tool"


def private_codes() -> dict[tuple[str, str], str]:
    """Every private code our writers may put in an SR: ``(value, scheme) -> meaning``.

    Legacy codes that are only read back are not included.
    """
    out: dict[tuple[str, str], str] = {}
    for name, value in globals().items():
        if name.startswith("LEGACY_"):
            continue
        concepts: list[Concept] = []
        if isinstance(value, Concept):
            concepts = [value]
        elif isinstance(value, dict):
            concepts = [v for v in value.values() if isinstance(v, Concept)]
        for c in concepts:
            if c.scheme == PRIVATE_SCHEME:
                out[c.key] = c.meaning
    return out


def software_version() -> str:
    from .. import __version__

    return str(__version__ or "0")
