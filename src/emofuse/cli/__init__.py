"""Command line: a thin Typer app over the Python API (``emofuse --help``)."""

from .main import app

__all__ = ["app"]
