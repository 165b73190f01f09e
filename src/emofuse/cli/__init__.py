"""Command line: a thin Typer app over the Python API (``emofuse --help``)."""

from .data import data_app  # registers `data ...` on the app
from .experiments import evaluate, train  # registers `train` and `evaluate` on the app
from .main import app

__all__ = ["app", "data_app", "evaluate", "train"]
