"""mrecist-tool: mRECIST / RECIST 1.1 response and local tumour progression after ablation.

Cheap to import: the heavy parts (DICOM, analysis, plotting) live in subpackages imported on use.
"""

__version__ = "0.1.0"
RULES_VERSION = "response-rules.md (2026-11), case format v1"

__all__ = ["RULES_VERSION", "__version__"]
