"""Datasets, manifests and splits."""
