"""Packages that share their name with their main function can be called as it: ``facetools.extract(video)``,
``facetools.identify(tracks)``, ``facetools.people(runs, out)`` — and ``facetools.extract.models`` is still a module.

Python binds a subpackage to its parent's attribute once it is imported, so a package named like a function of the
parent would otherwise hide it (``'module' object is not callable``).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    _function: tuple[str, str]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, name = self._function
        return getattr(importlib.import_module(module), name)(*args, **kwargs)


def callable_package(package: str, module: str, function: str) -> None:
    """Make the package ``package`` callable as ``module.function`` (imported on the first call)."""
    sys.modules[package].__class__ = _CallablePackage
    sys.modules[package]._function = (module, function)  # type: ignore[attr-defined]
