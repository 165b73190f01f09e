"""Inference: the Recognizer pipeline, its Result, and batch prediction from a manifest."""
