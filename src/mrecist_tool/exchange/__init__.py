"""Exchange formats: CDISC SDTM and ADaM tables, DICOM SR and SEG out, SR in, and a PACS.

The public entry points (imported when first used, so that this package stays cheap):

* :func:`sdtm_tables`, :func:`write_sdtm` — SDTM TU, TR, RS, DM of assessed cases
  (``mrecist export sdtm``);
* :func:`write_adam` — ADaM ADSL, ADRS, ADTTE (``mrecist analyze``);
* :func:`write_sr`, :func:`write_seg` — a DICOM SR (TID 1500) or SEG of one case at one
  timepoint (``mrecist export sr|seg``);
* :func:`read_sr`, :func:`import_reports` — measurement reports of other viewers into case files
  (``mrecist import sr``);
* :class:`Pacs`, :class:`DimsePacs`, :func:`pull`, :func:`push`, :func:`find_studies` — studies
  from a PACS and SR/SEG back to it, over DICOMweb or DIMSE (``mrecist pull|push``).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "sdtm_tables": "sdtm", "write_sdtm": "sdtm",
    "write_adam": "adam",
    "SRResult": "dicom_sr", "write_sr": "dicom_sr",
    "SEGResult": "dicom_seg", "write_seg": "dicom_seg",
    "ImportResult": "sr_import", "ImportedReport": "sr_import", "SRImportError": "sr_import",
    "import_reports": "sr_import", "read_sr": "sr_import",
    "Pacs": "pacs", "PacsError": "pacs", "PullResult": "pacs", "find_studies": "pacs", "pull": "pacs",
    "push": "pacs",
    "DimsePacs": "dimse",
}


def __getattr__(name: str) -> Any:
    # lazy: pydicom, highdicom, pandas and the network clients load with the function that needs them
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
