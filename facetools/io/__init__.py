"""Reading videos and writing files: probe, frame loaders, ffmpeg, the run store."""
