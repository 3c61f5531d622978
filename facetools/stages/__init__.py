"""The stages of the data flow: detect, shots, track, faces, embed, identity, gallery."""
