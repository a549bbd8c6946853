"""DICOM discovery and series loading, with geometry in LPS millimetres.

Typical use::

    from mrecist_tool.dicom import scan, read_series
    result = scan("exports/")                    # headers only, patients pseudonymised
    vol = read_series("exports/", series_uid=result.loadable_series[0].series_uid)
    vol.array.shape, vol.spacing, vol.affine     # (z, y, x), mm, index (z, y, x) -> LPS mm

See :mod:`.volume` for the axis and direction conventions and :mod:`.stack` for what makes a
series refused.
"""

from .header import FileHeader, read_header
from .phase import PhaseGuess, detect_phase
from .privacy import pseudonym
from .scan import PartInfo, PatientInfo, ScanResult, SeriesInfo, StudyInfo, scan, studies_to_timepoints
from .series import Skipped, read_series
from .sitk_bridge import from_sitk, read_volume_file, to_sitk
from .volume import Volume

__all__ = [
    "FileHeader",
    "PartInfo",
    "PatientInfo",
    "PhaseGuess",
    "ScanResult",
    "SeriesInfo",
    "Skipped",
    "StudyInfo",
    "Volume",
    "detect_phase",
    "from_sitk",
    "pseudonym",
    "read_header",
    "read_series",
    "read_volume_file",
    "scan",
    "studies_to_timepoints",
    "to_sitk",
]
