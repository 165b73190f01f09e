"""One cell of the grid: a method (a feature set alone, or a fusion method) with one head.

A unimodal baseline is the ``early_concat`` fusion of a single feature set, so it is fitted,
saved and missing-row-handled exactly like a fused model with the same head::

    >>> est = build_method("voice", "logreg", recipe, seed=0)     # doctest: +SKIP
    >>> est.fit({"voice": x}, y).predict_proba({"voice": x}).shape  # doctest: +SKIP
    (120, 7)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..classifiers.base import build_regressor, classifier_config, regressor_config
from ..errors import DataError
from ..fusion.base import build_fusion
from ..fusion.state import load_estimator, save_estimator
from ..utils.io import write_atomic
from .networks import (
    build_network,
    input_kind,
    is_network_folder,
    load_network,
    network_view,
    pooled_view,
    present,
)
from .recipe import Recipe

UNIMODAL = "early_concat"  # a feature set alone is its concatenation with nothing


def is_unimodal(method: str, recipe: Recipe) -> bool:
    return method in recipe.features


def inputs_of(method: str, recipe: Recipe, x: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The feature sets a method reads: its own one, or every one for a fusion method
    (a network method: its sequences or raw items, see :mod:`.networks`)."""
    if is_unimodal(method, recipe):
        return {method: x[method]}
    if input_kind(method) is not None:
        return network_view(method, recipe, x)
    return pooled_view(x)


def head_params(recipe: Recipe, head: str, seed: int) -> dict[str, Any]:
    """The recipe's parameters for ``head``, seeded with ``seed`` when it takes one."""
    params = dict(recipe.params.get(head) or {})
    config = (
        classifier_config(head, **params)
        if recipe.task == "classification"
        else regressor_config(head, **params)
    )
    if "seed" in config.to_dict() and "seed" not in params:
        params["seed"] = seed
    return params


def build_method(method: str, head: str, recipe: Recipe, seed: int) -> Any:
    """An unfitted estimator over a dict of feature matrices (a network: see .networks)."""
    if not is_unimodal(method, recipe) and input_kind(method) is not None:
        return build_network(method, recipe, seed)
    params = head_params(recipe, head, seed)
    if recipe.task == "regression":
        if not (is_unimodal(method, recipe) or method == UNIMODAL):
            raise DataError(f"regression takes the unimodal baselines and {UNIMODAL}, not {method}")
        return ConcatRegressor(head, params)
    name = UNIMODAL if is_unimodal(method, recipe) else method
    extra = dict(recipe.fusion_params.get(method) or {})
    return build_fusion(name, classifier=head, classifier_params=params, **extra)


def present_rows(x: dict[str, np.ndarray]) -> np.ndarray:
    """Rows where at least one feature set is present (not all-NaN, not ``None``)."""
    return np.any([present(v) for v in x.values()], axis=0)


class ConcatRegressor:
    """Concatenated feature sets -> a multi-output regressor (rows missing one are skipped)."""

    def __init__(self, regressor: str = "ridge", regressor_params: dict | None = None):
        self.regressor = regressor
        self.regressor_params = regressor_params

    def _stack(self, x: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([x[k] for k in sorted(x)], axis=1)

    def fit(self, x: dict[str, np.ndarray], y: np.ndarray) -> ConcatRegressor:
        z = self._stack(x)
        ok = ~np.isnan(z).any(axis=1)
        if not ok.any():
            raise DataError("no training row has every feature set")
        self.modalities_ = sorted(x)
        self.model_ = build_regressor(self.regressor, **(self.regressor_params or {}))
        self.model_.fit(z[ok], y[ok])
        self.n_targets_ = 1 if y.ndim == 1 else y.shape[1]
        return self

    def predict(self, x: dict[str, np.ndarray]) -> np.ndarray:
        z = self._stack({k: x[k] for k in self.modalities_})
        ok = ~np.isnan(z).any(axis=1)
        out = np.full((len(z), self.n_targets_), np.nan)
        if ok.any():
            out[ok] = np.asarray(self.model_.predict(z[ok])).reshape(int(ok.sum()), -1)
        return out

    def used_modalities(self, x: dict[str, np.ndarray]) -> list[list[str]]:
        z = self._stack({k: x[k] for k in self.modalities_})
        ok = ~np.isnan(z).any(axis=1)
        return [list(self.modalities_) if o else [] for o in ok]


REGRESSOR_JSON = "regressor.json"


def save_method(est: Any, folder: str | Path) -> Path:
    """Save a fitted estimator (safetensors + JSON, no pickle; see :mod:`emofuse.fusion.state`).

    A :class:`ConcatRegressor` is its regression pipeline in ``model/`` plus ``regressor.json``.
    """
    folder = Path(folder)
    if hasattr(est, "input_kind"):  # a network: safetensors + model.json + method.json
        est.save(folder)
        return folder
    if not isinstance(est, ConcatRegressor):
        save_estimator(est, folder)
        return folder
    save_estimator(est.model_, folder / "model")
    doc = {
        "kind": "concat_regressor",
        "regressor": est.regressor,
        "regressor_params": est.regressor_params,
        "modalities": est.modalities_,
        "n_targets": est.n_targets_,
    }
    write_atomic(folder / REGRESSOR_JSON, json.dumps(doc, indent=2).encode())
    return folder


def load_method(folder: str | Path) -> Any:
    """What :func:`save_method` wrote."""
    folder = Path(folder)
    if is_network_folder(folder):
        return load_network(folder)
    if not (folder / REGRESSOR_JSON).is_file():
        return load_estimator(folder)
    doc = json.loads((folder / REGRESSOR_JSON).read_text())
    est = ConcatRegressor(doc["regressor"], doc["regressor_params"])
    est.modalities_, est.n_targets_ = list(doc["modalities"]), int(doc["n_targets"])
    est.model_ = load_estimator(folder / "model")
    return est
