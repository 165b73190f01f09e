"""Training recipes: functions that fit a model and save a self-describing artefact."""
