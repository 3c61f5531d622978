"""The stored artefact between the two stages: ``TrackSet`` (tracks, their embeddings, shots, frame times), its store
(``tracks.npz``) and the user's edits (``edits.json``)."""

from facetools.trackset.records import TrackRecord, TrackSet
from facetools.trackset.store import Edits, load_tracks, save_tracks

__all__ = ["Edits", "TrackRecord", "TrackSet", "load_tracks", "save_tracks"]
