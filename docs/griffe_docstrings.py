"""A griffe extension for the API reference: reads facetools' docstrings as they are written.

The docstrings follow the Google style, with two habits the Google parser does not know:

- ``Example:`` (singular) introduces doctest lines; griffe only reads ``Examples:`` as code, and
  would otherwise render the ``>>>`` lines as nested quotes.
- Sphinx roles such as :class:`TrackSet` or :meth:`Detector.around`; they are shown as inline code.

The source files are not changed: the rewrite happens on griffe's copy of each docstring.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`~?([^`]+)`")


def rewrite(text: str) -> str:
    """The docstring with ``Example:`` read as ``Examples:`` and Sphinx roles as inline code."""
    return _ROLE.sub(r"`\1`", _EXAMPLE.sub(r"\1Examples:", text))


class FacetoolsDocstrings(Extension):
    """Rewrite every docstring before mkdocstrings parses it."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
