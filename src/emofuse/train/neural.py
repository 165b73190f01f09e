"""Shared plumbing of the neural fusion methods: scikit-learn style estimators over torch nets.

A method (:mod:`.attention`, :mod:`.biencoder`, :mod:`.realtime`) says how to read ``X``
into a dataset, build its network and collate a batch; :class:`NeuralMethod` does the
rest the same way for all: ``fit(X, y, validation=None)`` trains with the one fit loop
(:func:`emofuse.train.loop.fit`: AdamW, warm-up + cosine LR, early stopping on the
validation part, or on a stratified holdout of ``X`` when none is given, seeds, atomic
checkpoints in ``checkpoint_dir`` resumable after ``kill -9``, a progress bar with loss
and rate), then fits a temperature on the validation logits. ``y`` holds class indices
(classification: ``classes_``, ``predict_proba`` in that order) or a float ``(N, k)``
matrix (regression, e.g. valence/arousal/dominance: ``predict``). Learned state ends in
``_``: ``network_``, ``classes_``, ``history_`` (one row per epoch: loss, validation
score), ``temperature_``. ``save(folder)`` writes ``model.safetensors`` + ``model.json``
(the network, label names, preprocessing and the method's parameters); ``load(folder)``
rebuilds it in a fresh process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from ..errors import DataError, UsageError
from ..models.artifact import ModelMeta, load_model, save_model
from ..models.calibration import fit_temperature, softmax

METHOD_FILE = "method.json"


@dataclass(eq=False)
class NeuralMethod:
    """Training settings every neural method shares (subclasses add the architecture's).

    ``classifier``/``classifier_params`` are accepted for the experiment grid and ignored:
    the network is its own head. ``labels``: class names saved with the model.
    """

    classifier: str | None = None
    classifier_params: dict | None = None
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6
    holdout: float = 0.15
    seed: int = 0
    labels: list[str] | None = None
    checkpoint_dir: str | None = None
    progress: bool = False
    time_budget: float | None = None
    threads: int | None = 1  # torch threads while fitting (1: best on a shared CPU)

    #: registered architecture name and the modality written in ``model.json``
    architecture: ClassVar[str] = ""
    modality: ClassVar[str] = "fusion"
    #: the ``FUSIONS`` name, and what ``X`` holds: "sequences" or "items" (raw media)
    name: ClassVar[str] = ""
    input_kind: ClassVar[str] = ""

    # -- what a method provides ----------------------------------------------------------

    def _dataset(self, X: Any) -> Any:
        """``X`` as an indexable dataset (``len``, rows of items)."""
        raise NotImplementedError

    def _network(self, data: Any, n_outputs: int, task: str) -> torch.nn.Module:
        raise NotImplementedError

    def _collate(self, data: Any, rows: np.ndarray, rng: np.random.Generator | None) -> Any:
        """Network inputs for ``rows`` (augmented when ``rng`` is given: training)."""
        raise NotImplementedError

    def _forward(self, net: torch.nn.Module, inputs: Any) -> torch.Tensor:
        return net(*inputs)

    def _param_groups(self, net: torch.nn.Module) -> list[dict[str, Any]]:
        return [{"params": [p for p in net.parameters() if p.requires_grad], "lr": self.lr}]

    def _preprocessing(self) -> dict[str, Any]:
        return {}

    def used_modalities(self, X: Any) -> list[list[str]]:
        """Per row, the modalities a prediction reads."""
        raise NotImplementedError

    def _cached(self, X: Any, make: Any) -> Any:
        """The dataset of ``X``, kept while the same ``X`` comes back (``used_modalities``
        then ``predict_proba`` on one test part: media decoded and encoded once)."""
        key = X.get("items") if isinstance(X, dict) else X
        last = getattr(self, "_last_data", None)
        if last is not None and last[0] is key:
            return last[1]
        data = make()
        self._last_data = (key, data)
        return data

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, X: Any, y: np.ndarray, validation: tuple[Any, np.ndarray] | None = None):
        from .loop import fit as fit_loop
        from .loop import lr_warmup_cosine

        for key in [k for k in vars(self) if k.endswith("_") or k == "_last_data"]:
            delattr(self, key)  # a refit starts afresh
        y = np.asarray(y)
        data = self._dataset(X)
        if len(data) != len(y):
            raise DataError(f"X has {len(data)} rows, y {len(y)}")
        if len(y) < 2:
            raise DataError("a neural method needs at least 2 training items")
        self.task_ = "regression" if y.dtype.kind == "f" else "classification"
        if validation is not None and len(validation[1]):
            val_data, y_val = self._dataset(validation[0]), np.asarray(validation[1])
            fit_rows = np.arange(len(y))
            val_rows = None
        else:
            fit_rows, val_rows = self._holdout(y)
            val_data, y_val = data, y[val_rows]
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        n_outputs, loss_fn = self._targets(y[fit_rows] if val_rows is not None else y)
        net = self.network_ = self._network(data, n_outputs, self.task_)
        optimizer = torch.optim.AdamW(self._param_groups(net), weight_decay=self.weight_decay)
        steps = max(1, math.ceil(len(fit_rows) / self.batch_size))
        y_all = self._encode_targets(y)

        def batches(epoch: int):
            order = rng.permutation(fit_rows)
            for s in range(0, len(order), self.batch_size):
                rows = order[s : s + self.batch_size]
                yield self._collate(data, rows, rng), y_all[rows]

        def loss(model: torch.nn.Module, batch: Any) -> torch.Tensor:
            return loss_fn(self._forward(model, batch[0]), batch[1])

        vrows = np.arange(len(y_val)) if val_rows is None else val_rows

        def evaluate(model: torch.nn.Module, epoch: int) -> dict[str, Any]:
            out = self._raw(model, val_data, vrows)
            return self._score(out, y_val)

        signature = {
            "method": type(self).__name__,
            "params": self._params(),
            "n_train": len(fit_rows),
            "n_validation": len(vrows),
        }
        result = fit_loop(
            net,
            batches,
            loss,
            optimizer=optimizer,
            epochs=self.epochs,
            steps_per_epoch=steps,
            schedule=lr_warmup_cosine,
            evaluate=evaluate,
            patience=self.patience,
            time_budget=self.time_budget,
            rngs=(rng,),
            checkpoint=self.checkpoint_dir,
            signature=signature,
            threads=self.threads,
            progress=self.progress,
            name=self.name or type(self).__name__,
            items_per_epoch=len(fit_rows),
        )
        self.network_ = net.eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.temperature_ = 1.0
        if self.task_ == "classification":
            val_logits = self._raw(net, val_data, vrows)
            known = np.isin(y_val, self.classes_)
            if known.sum() >= 2:
                idx = np.searchsorted(self.classes_, y_val[known])
                self.temperature_ = fit_temperature(val_logits[known], idx)
        return self

    def _holdout(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.model_selection import train_test_split

        idx = np.arange(len(y))
        strat = y if y.dtype.kind != "f" else None
        try:
            fit, held = train_test_split(
                idx, test_size=self.holdout, stratify=strat, random_state=self.seed
            )
        except ValueError:  # too few items per class to stratify
            fit, held = train_test_split(idx, test_size=self.holdout, random_state=self.seed)
        return np.sort(fit), np.sort(held)

    def _targets(self, y: np.ndarray):
        if self.task_ == "regression":
            y2 = y.reshape(len(y), -1)
            self.target_mean_ = np.nanmean(y2, axis=0)
            self.target_std_ = np.nanstd(y2, axis=0) + 1e-8
            return y2.shape[1], torch.nn.functional.mse_loss
        self.classes_ = np.unique(y)
        counts = np.array([(y == c).sum() for c in self.classes_], dtype=np.float64)
        weight = torch.tensor(counts.sum() / (len(counts) * counts), dtype=torch.float32)
        return len(self.classes_), torch.nn.CrossEntropyLoss(weight=weight)

    def _encode_targets(self, y: np.ndarray) -> torch.Tensor:
        if self.task_ == "regression":
            z = (y.reshape(len(y), -1) - self.target_mean_) / self.target_std_
            return torch.tensor(np.nan_to_num(z), dtype=torch.float32)
        idx = np.searchsorted(self.classes_, y)
        idx[~np.isin(y, self.classes_)] = -100  # a class only in validation: ignored
        return torch.tensor(idx, dtype=torch.long)

    def _score(self, out: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        if self.task_ == "regression":
            pred = out * self.target_std_ + self.target_mean_
            y2 = y.reshape(len(y), -1)
            value = float(np.mean([_ccc(y2[:, k], pred[:, k]) for k in range(y2.shape[1])]))
            return {"score": value, "ccc": value}
        import warnings

        from sklearn.metrics import balanced_accuracy_score

        pred = self.classes_[out.argmax(1)]
        with warnings.catch_warnings():  # a small validation part may lack a predicted class
            warnings.simplefilter("ignore", UserWarning)
            uar = float(balanced_accuracy_score(y, pred))
        p = softmax(out)
        known = np.isin(y, self.classes_)
        idx = np.searchsorted(self.classes_, y[known])
        picked = p[known][np.arange(known.sum()), idx]
        if not len(picked):  # no validation item of a trained class: UAR alone
            return {"score": (round(uar, 6), 0.0), "uar": uar}
        nll = float(-np.log(picked + 1e-12).mean())
        return {"score": (round(uar, 6), -nll), "uar": uar, "nll": nll}

    @torch.inference_mode()
    def _raw(self, net: torch.nn.Module, data: Any, rows: np.ndarray) -> np.ndarray:
        net.eval()
        with torch_threads(self.threads):  # preprocessing included (spectrograms, towers)
            out = [
                self._forward(net, self._collate(data, rows[s : s + self.batch_size], None))
                for s in range(0, len(rows), self.batch_size)
            ]
        return np.concatenate([o.numpy() for o in out]) if out else np.zeros((0, 0), np.float32)

    # -- predicting ------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if getattr(self, "network_", None) is None:
            raise UsageError(f"{type(self).__name__} is not fitted: call fit() first")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities ``(N, len(classes_))`` (calibrated by ``temperature_``)."""
        self._check_fitted()
        if self.task_ != "classification":
            raise UsageError("a regression model has no predict_proba; use predict")
        data = self._dataset(X)
        out = self._raw(self.network_, data, np.arange(len(data)))
        return softmax(out, self.temperature_).reshape(len(data), -1)

    def predict(self, X: Any) -> np.ndarray:
        """Class indices (classification) or ``(N, k)`` values (regression)."""
        self._check_fitted()
        if self.task_ == "classification":
            return self.classes_[self.predict_proba(X).argmax(1)]
        data = self._dataset(X)
        out = self._raw(self.network_, data, np.arange(len(data)))
        return out * self.target_std_ + self.target_mean_

    # -- artefacts -------------------------------------------------------------------------

    def _params(self) -> dict[str, Any]:
        skip = {"checkpoint_dir", "progress", "threads"}
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip
        }

    def save(self, folder: str | Path) -> Path:
        """``model.safetensors`` + ``model.json`` + ``method.json`` (all plain data)."""
        from ..utils.io import write_atomic

        self._check_fitted()
        folder = Path(folder)
        names = list(self.labels or [])
        if self.task_ == "classification":
            names = [names[int(c)] if self.labels else str(c) for c in self.classes_]
        meta = ModelMeta(
            name=f"{self.architecture}-{type(self).__name__}",
            modality=self.modality,
            architecture=self.architecture,
            config=dataclasses.asdict(self.network_.config),
            labels=names if self.task_ == "classification" else list(self.labels or []),
            preprocessing=self._preprocessing(),
            training={"best_epoch": self.best_epoch_, "history": self.history_},
            temperature=float(self.temperature_),
        )
        save_model(self.network_, meta, folder)
        state = {
            "method": self.name,
            "class": type(self).__name__,
            "params": self._params(),
            "task": self.task_,
        }
        if self.task_ == "classification":
            state["classes"] = self.classes_.tolist()
        else:
            state["target_mean"] = self.target_mean_.tolist()
            state["target_std"] = self.target_std_.tolist()
        write_atomic(folder / METHOD_FILE, json.dumps(state, indent=2).encode())
        return folder

    @classmethod
    def load(cls, folder: str | Path):
        """Rebuild a saved method (network from safetensors, settings from JSON)."""
        folder = Path(folder)
        path = folder / METHOD_FILE
        if not path.is_file():
            raise DataError(f"not a saved neural method (no {METHOD_FILE}): {folder}")
        state = json.loads(path.read_text())
        if state.get("class") != cls.__name__:
            raise DataError(f"{folder} holds a {state.get('class')}, not a {cls.__name__}")
        est = cls(**state["params"])
        art = load_model(folder, architecture=cls.architecture)
        est.network_, est.task_ = art.module, state["task"]
        est.temperature_ = float(art.meta.temperature)
        est.history_ = art.meta.training.get("history", [])
        est.best_epoch_ = art.meta.training.get("best_epoch")
        if est.task_ == "classification":
            est.classes_ = np.asarray(state["classes"])
        else:
            est.target_mean_ = np.asarray(state["target_mean"])
            est.target_std_ = np.asarray(state["target_std"])
        est._restore(art.meta)
        return est

    def _restore(self, meta: ModelMeta) -> None:
        """Hook: set method state kept in ``meta.preprocessing`` (default: none)."""


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Torch intra-op threads set to ``n`` for the block (``None``: left as they are)."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _ccc(y: np.ndarray, p: np.ndarray) -> float:
    """Lin's concordance correlation coefficient (NaN targets skipped)."""
    ok = ~np.isnan(y)
    y, p = y[ok], p[ok]
    cov = np.mean((y - y.mean()) * (p - p.mean()))
    return float(2 * cov / (y.var() + p.var() + (y.mean() - p.mean()) ** 2 + 1e-12))
