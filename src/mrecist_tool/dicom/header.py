"""The header facts of one DICOM file (:class:`FileHeader`) and :func:`read_header`.

Per-file overhead dominates the time to load a CT series (hundreds of small files), so the
common case -- a Part 10 file in little-endian explicit or implicit VR -- is parsed by a small
element walker (:mod:`.header_fast`) that stops at the Pixel Data element, keeps only the
elements listed in :data:`WANTED` and remembers the byte offset of native pixel values so that
they can later be read straight into the output array.  Anything else (big endian, deflated,
files without a preamble, Enhanced multi-frame objects whose geometry lives in functional-group
sequences) goes through pydicom (:mod:`.header_pydicom`); both produce the same
:class:`FileHeader`.

Patient name, ID and birth date are read only to derive a pseudonym; they are kept out of
``repr`` so they never reach a log by accident.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DicomError
from .values import MAX_POSITION_MM, ValueChecks, element_name

MAX_DIRECTION_COSINE = 1.5  # a direction cosine is at most 1 in size; allow rounding noise

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
NATIVE_LE = frozenset({IMPLICIT_LE, EXPLICIT_LE})

# Keyword, tag and the kind of value (how to decode it).  "text" is decoded with the file's
# character set; the others are ASCII.
TAGS: dict[int, tuple[str, str]] = {
    0x00080005: ("SpecificCharacterSet", "cs"),
    0x00080008: ("ImageType", "cs"),
    0x00080016: ("SOPClassUID", "ui"),
    0x00080018: ("SOPInstanceUID", "ui"),
    0x00080020: ("StudyDate", "cs"),
    0x00080021: ("SeriesDate", "cs"),
    0x0008002A: ("AcquisitionDateTime", "cs"),
    0x00080030: ("StudyTime", "cs"),
    0x00080031: ("SeriesTime", "cs"),
    0x00080032: ("AcquisitionTime", "cs"),
    0x00080033: ("ContentTime", "cs"),
    0x00080060: ("Modality", "cs"),
    0x00081030: ("StudyDescription", "text"),
    0x0008103E: ("SeriesDescription", "text"),
    0x00100010: ("PatientName", "text"),
    0x00100020: ("PatientID", "text"),
    0x00100030: ("PatientBirthDate", "cs"),
    0x00180010: ("ContrastBolusAgent", "text"),
    0x00180050: ("SliceThickness", "cs"),
    0x00180086: ("EchoNumbers", "cs"),
    0x00180088: ("SpacingBetweenSlices", "cs"),
    0x00181030: ("ProtocolName", "text"),
    0x00181040: ("ContrastBolusRoute", "text"),
    0x00181042: ("ContrastBolusStartTime", "cs"),
    0x00181120: ("GantryDetectorTilt", "cs"),
    0x0020000D: ("StudyInstanceUID", "ui"),
    0x0020000E: ("SeriesInstanceUID", "ui"),
    0x00200011: ("SeriesNumber", "cs"),
    0x00200012: ("AcquisitionNumber", "cs"),
    0x00200013: ("InstanceNumber", "cs"),
    0x00200032: ("ImagePositionPatient", "cs"),
    0x00200037: ("ImageOrientationPatient", "cs"),
    0x00200052: ("FrameOfReferenceUID", "ui"),
    0x00200100: ("TemporalPositionIdentifier", "cs"),
    0x00280002: ("SamplesPerPixel", "us"),
    0x00280004: ("PhotometricInterpretation", "cs"),
    0x00280008: ("NumberOfFrames", "cs"),
    0x00280010: ("Rows", "us"),
    0x00280011: ("Columns", "us"),
    0x00280030: ("PixelSpacing", "cs"),
    0x00280100: ("BitsAllocated", "us"),
    0x00280101: ("BitsStored", "us"),
    0x00280103: ("PixelRepresentation", "us"),
    0x00280301: ("BurnedInAnnotation", "cs"),
    0x00281050: ("WindowCenter", "cs"),
    0x00281051: ("WindowWidth", "cs"),
    0x00281052: ("RescaleIntercept", "cs"),
    0x00281053: ("RescaleSlope", "cs"),
}
WANTED = frozenset(TAGS)
KEYWORDS = tuple(kw for kw, _ in TAGS.values())


# SOP classes that hold no pixel data worth loading as a volume, by UID prefix → label.
NON_IMAGE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("1.2.840.10008.5.1.4.1.1.88.", "structured report"),
    ("1.2.840.10008.5.1.4.1.1.11.", "presentation state"),
    ("1.2.840.10008.5.1.4.1.1.481.", "radiotherapy object"),
    ("1.2.840.10008.5.1.4.1.1.9.", "waveform"),
    ("1.2.840.10008.5.1.4.1.1.104.", "encapsulated document"),
    ("1.2.840.10008.5.1.4.1.1.66", "raw data / registration / segmentation"),
    ("1.2.840.10008.1.3.10", "DICOMDIR (media directory)"),
)
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"
ENHANCED_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT
    "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR
    "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR
    "1.2.840.10008.5.1.4.1.1.4.3",  # Enhanced MR Color
    "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET
    "1.2.840.10008.5.1.4.1.1.128.1",  # Legacy Converted Enhanced PET
})


@dataclass(frozen=True)
class FrameGeometry:
    """Geometry and value mapping of one frame of an Enhanced multi-frame object."""

    index: int
    position: tuple[float, float, float] | None
    orientation: tuple[float, ...] | None
    pixel_spacing: tuple[float, float] | None
    slice_thickness: float | None
    slope: float
    intercept: float
    window: tuple[float, float] | None
    stack_key: str = ""  # stack / temporal position: frames differing here are not one volume


@dataclass(frozen=True)
class FileHeader:
    """The header facts of one DICOM file that discovery and loading need.

    Text attributes are ``""`` and numbers ``None`` when the file does not have them.

    Attributes
    ----------
    path : Path
        The file.
    transfer_syntax : str
        (0002,0010) Transfer Syntax UID.
    sop_class_uid : str
        (0008,0016) SOP Class UID.
    sop_instance_uid : str
        (0008,0018) SOP Instance UID.
    modality : str
        (0008,0060) Modality, e.g. ``"CT"`` or ``"MR"``.
    study_uid : str
        (0020,000D) Study Instance UID.
    series_uid : str
        (0020,000E) Series Instance UID.
    study_date : str
        (0008,0020) Study Date, as written (YYYYMMDD).
    study_time : str
        (0008,0030) Study Time, as written.
    study_description : str
        (0008,1030) Study Description (free text: never printed unless asked).
    series_description : str
        (0008,103E) Series Description (free text: never printed unless asked).
    series_number : int or None
        (0020,0011) Series Number.
    protocol_name : str
        (0018,1030) Protocol Name.
    series_time : str
        (0008,0031) Series Time.
    acquisition_time : str
        (0008,0032) Acquisition Time.
    content_time : str
        (0008,0033) Content Time.
    contrast_agent : str
        (0018,0010) Contrast/Bolus Agent.
    contrast_route : str
        (0018,1040) Contrast/Bolus Route.
    contrast_start_time : str
        (0018,1042) Contrast/Bolus Start Time.
    image_type : tuple of str
        (0008,0008) Image Type values.
    slice_thickness : float or None
        (0018,0050) Slice Thickness, mm.
    spacing_between_slices : float or None
        (0018,0088) Spacing Between Slices, mm.
    position : tuple of float or None
        (0020,0032) Image Position (Patient), LPS mm.
    orientation : tuple of float or None
        (0020,0037) Image Orientation (Patient): row and column direction cosines.
    pixel_spacing : tuple of (float, float) or None
        (0028,0030) Pixel Spacing (row, column), mm.
    rows : int
        (0028,0010) Rows.
    columns : int
        (0028,0011) Columns.
    samples_per_pixel : int
        (0028,0002) Samples per Pixel.
    photometric : str
        (0028,0004) Photometric Interpretation.
    bits_allocated : int
        (0028,0100) Bits Allocated.
    bits_stored : int
        (0028,0101) Bits Stored.
    pixel_representation : int
        (0028,0103) Pixel Representation (0 unsigned, 1 signed).
    number_of_frames : int
        (0028,0008) Number of Frames (1 when absent).
    slope : float
        (0028,1053) Rescale Slope.
    intercept : float
        (0028,1052) Rescale Intercept.
    window : tuple of (float, float) or None
        (0028,1050) Window Center and (0028,1051) Width, the first pair.
    frame_of_reference_uid : str
        (0020,0052) Frame of Reference UID.
    instance_number : int or None
        (0020,0013) Instance Number.
    acquisition_number : int or None
        (0020,0012) Acquisition Number.
    temporal_position : int or None
        (0020,0100) Temporal Position Identifier.
    echo_number : int or None
        (0018,0086) Echo Number.
    gantry_tilt : float or None
        (0018,1120) Gantry/Detector Tilt, degrees.
    has_pixels : bool
        Whether the file holds Pixel Data.
    pixel_offset : int or None
        Byte offset of native little-endian pixel values in the file; None: decode with pydicom.
    pixel_length : int or None
        Their length in bytes.
    frames : tuple of FrameGeometry or None
        Per-frame geometry of an Enhanced multi-frame image; None otherwise.
    burned_in_annotation : str
        (0028,0301) Burned In Annotation as written (``"YES"``, ``"NO"``), ``""`` when absent:
        ``"YES"`` means the pixels themselves may show the patient's name or ID.
    defects : tuple of str
        Values that make the image unusable (the series is refused, naming the element).
    notes : tuple of str
        Values ignored with a warning.
    patient_id : str
        (0010,0020) Patient ID (an identifier: never printed or logged).
    patient_name : str
        (0010,0010) Patient's Name (an identifier: never printed or logged).
    patient_birth_date : str
        (0010,0030) Patient's Birth Date (an identifier: never printed or logged).
    """

    path: Path
    transfer_syntax: str
    sop_class_uid: str
    sop_instance_uid: str
    modality: str
    study_uid: str
    series_uid: str
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    series_description: str = ""
    series_number: int | None = None
    protocol_name: str = ""
    series_time: str = ""
    acquisition_time: str = ""
    content_time: str = ""
    contrast_agent: str = ""
    contrast_route: str = ""
    contrast_start_time: str = ""
    image_type: tuple[str, ...] = ()
    slice_thickness: float | None = None
    spacing_between_slices: float | None = None
    position: tuple[float, float, float] | None = None
    orientation: tuple[float, ...] | None = None
    pixel_spacing: tuple[float, float] | None = None
    rows: int = 0
    columns: int = 0
    samples_per_pixel: int = 1
    photometric: str = ""
    bits_allocated: int = 0
    bits_stored: int = 0
    pixel_representation: int = 0
    number_of_frames: int = 1
    slope: float = 1.0
    intercept: float = 0.0
    window: tuple[float, float] | None = None
    frame_of_reference_uid: str = ""
    instance_number: int | None = None
    acquisition_number: int | None = None
    temporal_position: int | None = None
    echo_number: int | None = None
    gantry_tilt: float | None = None
    has_pixels: bool = False
    # Byte offset and length of native little-endian pixel values; None: decode with pydicom.
    pixel_offset: int | None = None
    pixel_length: int | None = None
    frames: tuple[FrameGeometry, ...] | None = None  # Enhanced multi-frame only
    # Burned In Annotation (0028,0301) as written ("YES", "NO"), "" when absent: "YES" means
    # the pixels themselves may show the patient's name or ID.
    burned_in_annotation: str = ""
    # Values that make the image unusable (the series is refused, naming the element) and
    # values ignored with a warning (see :mod:`.values`).
    defects: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    patient_id: str = field(default="", repr=False)
    patient_name: str = field(default="", repr=False)
    patient_birth_date: str = field(default="", repr=False)

    @property
    def non_image_kind(self) -> str | None:
        """A label when the SOP class is not an image (SR, presentation state, …), else None."""
        for prefix, label in NON_IMAGE_PREFIXES:
            if self.sop_class_uid.startswith(prefix):
                return label
        return None

    @property
    def is_localizer(self) -> bool:
        return "LOCALIZER" in self.image_type

    @property
    def is_secondary_capture(self) -> bool:
        return self.sop_class_uid.startswith(SECONDARY_CAPTURE_PREFIX)

    @property
    def is_enhanced(self) -> bool:
        return self.frames is not None


def read_header(path: str | Path) -> FileHeader:
    """Read the header of one file, stopping before the pixel data.

    Parameters
    ----------
    path : str or Path
        The file (only a regular file is opened).

    Returns
    -------
    FileHeader
        The facts discovery and loading need.

    Raises
    ------
    DicomError
        The file is not DICOM, is truncated before the image, or its header cannot be parsed;
        the message names the file and the reason.
    """
    # Imported here: both readers build on this module's FileHeader.
    from .header_fast import Unsupported, read_fast
    from .header_pydicom import read_with_pydicom

    path = Path(path)
    try:
        try:
            return read_fast(path)
        except Unsupported:
            return read_with_pydicom(path)
    except OSError as exc:
        raise DicomError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def looks_like_dicom(head: bytes) -> bool:
    """True when the first bytes of a file look like DICOM (Part 10 or a bare data set)."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    if len(head) < 8:
        return False
    # A file without the Part 10 preamble starts with a low group, usually 0002 or 0008
    # (little or big endian).
    for fmt in ("<HH", ">HH"):
        group, elem = struct.unpack_from(fmt, head, 0)
        if group in (0x0002, 0x0008) and elem < 0x0100:
            return True
    return False


# -- shared -------------------------------------------------------------------------------------


def to_float(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(text.split("\\")[0])
    except ValueError:
        return None


def to_floats(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        return [float(v) for v in text.split("\\") if v.strip()]
    except ValueError:
        return None


def to_int(text: str | None) -> int | None:
    """A whole number, or None when absent, not a number or not a finite one (``inf``)."""
    value = to_float(text)
    if value is None or not math.isfinite(value) or abs(value) >= 2**63:
        return None
    return int(value)


def build_header(
    path: Path,
    v: dict[str, str],
    ts: str,
    *,
    has_pixels: bool,
    pixel_offset: int | None = None,
    pixel_length: int | None = None,
    frames: tuple[FrameGeometry, ...] | None = None,
    checks: ValueChecks | None = None,
) -> FileHeader:
    """Turn decoded element strings (backslash-separated multi-values) into a FileHeader.

    Numeric values go through :class:`~.values.ValueChecks`: those that cannot be right are
    left out and recorded in ``defects`` (the image is refused) or ``notes`` (a warning).
    """
    ck = checks if checks is not None else ValueChecks()
    position = ck.vector("ImagePositionPatient", v.get("ImagePositionPatient"), 3,
                         MAX_POSITION_MM)
    orientation = ck.vector("ImageOrientationPatient", v.get("ImageOrientationPatient"), 6,
                            MAX_DIRECTION_COSINE)
    spacing = ck.pixel_spacing(v.get("PixelSpacing"))
    wc = ck.number("WindowCenter", v.get("WindowCenter"))
    ww = ck.number("WindowWidth", v.get("WindowWidth"))
    if ww is not None and ww <= 0:
        ck.notes.append(f"{element_name('WindowWidth')} {v.get('WindowWidth')!r} is not "
                        "positive: ignored")
        ww = None
    slope = ck.rescale("RescaleSlope", v.get("RescaleSlope"), 1.0)
    intercept = ck.rescale("RescaleIntercept", v.get("RescaleIntercept"), 0.0)
    bits_allocated = to_int(v.get("BitsAllocated")) or 0
    bits_stored = to_int(v.get("BitsStored")) or bits_allocated
    if bits_allocated and bits_stored > bits_allocated:
        ck.defects.append(f"{element_name('BitsStored')} is {bits_stored}, more than "
                          f"{element_name('BitsAllocated')} {bits_allocated}")
    return FileHeader(
        path=path,
        transfer_syntax=ts,
        sop_class_uid=v.get("SOPClassUID", ""),
        sop_instance_uid=v.get("SOPInstanceUID", ""),
        modality=v.get("Modality", ""),
        study_uid=v.get("StudyInstanceUID", ""),
        series_uid=v.get("SeriesInstanceUID", ""),
        study_date=v.get("StudyDate", ""),
        study_time=v.get("StudyTime", ""),
        study_description=v.get("StudyDescription", ""),
        series_description=v.get("SeriesDescription", ""),
        series_number=ck.integer("SeriesNumber", v.get("SeriesNumber")),
        protocol_name=v.get("ProtocolName", ""),
        series_time=v.get("SeriesTime", ""),
        acquisition_time=v.get("AcquisitionTime", "") or v.get("AcquisitionDateTime", "")[8:],
        content_time=v.get("ContentTime", ""),
        contrast_agent=v.get("ContrastBolusAgent", ""),
        contrast_route=v.get("ContrastBolusRoute", ""),
        contrast_start_time=v.get("ContrastBolusStartTime", ""),
        image_type=tuple(t.strip().upper() for t in v.get("ImageType", "").split("\\") if t),
        slice_thickness=ck.length("SliceThickness", v.get("SliceThickness"), zero_ok=True),
        spacing_between_slices=ck.length("SpacingBetweenSlices", v.get("SpacingBetweenSlices"),
                                         zero_ok=False),
        position=(position[0], position[1], position[2]) if position else None,
        orientation=tuple(orientation) if orientation else None,
        pixel_spacing=spacing,
        rows=to_int(v.get("Rows")) or 0,
        columns=to_int(v.get("Columns")) or 0,
        samples_per_pixel=to_int(v.get("SamplesPerPixel")) or 1,
        photometric=v.get("PhotometricInterpretation", ""),
        bits_allocated=bits_allocated,
        bits_stored=bits_stored,
        pixel_representation=to_int(v.get("PixelRepresentation")) or 0,
        number_of_frames=ck.integer("NumberOfFrames", v.get("NumberOfFrames"), minimum=1) or 1,
        slope=slope,
        intercept=intercept,
        window=(wc, ww) if wc is not None and ww is not None else None,
        frame_of_reference_uid=v.get("FrameOfReferenceUID", ""),
        instance_number=ck.integer("InstanceNumber", v.get("InstanceNumber")),
        acquisition_number=ck.integer("AcquisitionNumber", v.get("AcquisitionNumber")),
        temporal_position=ck.integer("TemporalPositionIdentifier",
                                     v.get("TemporalPositionIdentifier")),
        echo_number=ck.integer("EchoNumbers", v.get("EchoNumbers")),
        gantry_tilt=ck.number("GantryDetectorTilt", v.get("GantryDetectorTilt")),
        has_pixels=has_pixels,
        pixel_offset=pixel_offset,
        pixel_length=pixel_length,
        frames=frames,
        burned_in_annotation=v.get("BurnedInAnnotation", "").strip().upper(),
        defects=tuple(ck.defects),
        notes=tuple(ck.notes),
        patient_id=v.get("PatientID", ""),
        patient_name=v.get("PatientName", ""),
        patient_birth_date=v.get("PatientBirthDate", ""),
    )
