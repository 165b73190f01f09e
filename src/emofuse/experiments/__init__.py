"""Experiments from YAML recipes: data -> features (store) -> folds -> fusion x heads -> report.

>>> from emofuse.experiments import run_experiment, evaluate_run   # doctest: +SKIP
>>> run_experiment("recipes/paired_fusion.yaml", "runs/paired")     # doctest: +SKIP
"""

from __future__ import annotations

from .evaluation import evaluate_run
from .recipe import Recipe
from .runner import run_experiment

__all__ = ["Recipe", "evaluate_run", "run_experiment"]
