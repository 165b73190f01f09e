"""Metrics, robustness perturbations and evaluation protocols."""
