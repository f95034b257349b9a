"""Import the ``machines`` extra's packages where used, with one error that says how to install them."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from licodec.errors import CodecUnavailableError

INSTALL = "licodec[machines]"
"""What ``pip install`` needs to get every machine."""


def require(module: str, machine: str) -> ModuleType:
    """``module`` imported, or :class:`CodecUnavailableError` naming ``machine`` and the install command."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CodecUnavailableError(machine, INSTALL) from None


def package_folder(package: str, machine: str) -> Path:
    """Where ``package`` is installed, without importing it (face-recognition-models imports pkg_resources, gone from new setuptools)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CodecUnavailableError(machine, INSTALL)
    return Path(next(iter(spec.submodule_search_locations)))
