"""Optional heavy dependencies of the exchange formats, imported through one helper.

highdicom, pydicom, SimpleITK and pandas are installed with the toolkit, but a trimmed
installation may lack them; the error then says what to install instead of a bare
``ModuleNotFoundError`` deep inside a writer.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import MissingDependencyError

_PIP_NAMES = {
    "highdicom": "highdicom",
    "pydicom": "pydicom",
    "SimpleITK": "SimpleITK",
    "pandas": "pandas",
    "numpy": "numpy",
}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the package.

    Parameters
    ----------
    module:
        Importable module name, e.g. ``"highdicom"``.
    purpose:
        What it is needed for, e.g. ``"writing DICOM SR"``; it goes into the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - only on trimmed installations
        top = module.split(".")[0]
        pip_name = _PIP_NAMES.get(top, top)
        raise MissingDependencyError(
            f"{purpose} needs the Python package {pip_name!r}, which is not installed: "
            f"pip install {pip_name} (or reinstall mrecist-tool with its dependencies)"
        ) from exc
