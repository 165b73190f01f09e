"""Lowest layer: atomic I/O, config dataclasses, lazy registries, progress bars."""
