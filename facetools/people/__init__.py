"""People across videos: ``people()`` clusters many runs' identities, ``find()`` searches them by photo, ``forget()`` deletes one.

The package is callable — ``facetools.people(run_dirs, out_dir)`` — since its name is also the function's.
Importing it (and calling ``people``) needs no torch; ``find`` and a gallery load the detector and the embedder.
"""

from __future__ import annotations

from facetools._callable import callable_package
from facetools.people.core import build_index, people
from facetools.people.forget import Forgotten, forget
from facetools.people.index import Appearance, PeopleIndex, Person, PhotoError, SpaceMismatchError
from facetools.people.search import Match, find

__all__ = ["Appearance", "Forgotten", "Match", "PeopleIndex", "Person", "PhotoError", "SpaceMismatchError", "build_index", "find",
           "forget", "people"]  # fmt: skip

callable_package(__name__, "facetools.people.core", "people")
