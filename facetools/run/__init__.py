"""Running the stages: analyze, batches and executors, resource monitor, progress."""
