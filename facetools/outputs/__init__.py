"""What a person reads: the Analysis, plots, reports, clips, the explorer."""
