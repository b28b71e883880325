"""Run the notebook with papermill on an instrumented copy, and replay its calls."""
