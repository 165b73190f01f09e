"""The contract every fusion method shares (the shape of ``ColumnTransformer`` /
``StackingClassifier``).

``X`` is a dict ``{modality: (N, d_m) array}`` (converted to float32); a row that is NaN
in every column of a modality means that modality is *missing* for that row, at fit time
and at predict time (a row NaN in only some columns is a :class:`DataError`). ``y`` holds
labels (strings or integers); ``classes_`` is their sorted set and ``predict_proba``'s
columns follow it. A modality seen at fit but absent from ``X`` at predict time counts as
missing in every row. Rows missing every modality are left out of ``fit``; at predict
time they get the training class prior and ``used_modalities`` reports ``[]`` for them.

Fitted attributes of every method: ``classes_``, ``modalities_`` (sorted names),
``dims_`` (modality -> ``d_m``), ``prior_`` (training class frequencies). The class
attribute ``kind`` is ``"early"`` or ``"late"``; late methods also hold ``estimators_``
(modality -> fitted classifier pipeline, trained on integer codes) and offer
``unimodal_proba``. scikit-learn's ``cross_val_score`` & co. cannot index a dict: take
rows with ``{m: x[rows] for m, x in X.items()}``.

Subclasses implement ``_fit(X, masks, codes)`` (``codes``: integer labels, indices into
``classes_``), ``_proba(X, masks)`` and ``transform(X)``. The fitted state (every public
attribute ending in ``_``) round-trips through :meth:`FusionMethod.to_state` /
:meth:`FusionMethod.from_state` (see :mod:`emofuse.fusion.state`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import DataError, UsageError
from .state import decode, encode

Masks = dict[str, np.ndarray]


class FusionMethod(ClassifierMixin, BaseEstimator):
    """Base class: input checks, missing modalities, class bookkeeping, state."""

    #: the registry name (``model.json`` records it) and "early" or "late"
    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""

    # -- the estimator contract -------------------------------------------------------
    def fit(self, X: Mapping[str, Any], y: Iterable[Any]) -> FusionMethod:
        """Learn from ``X`` (modality -> ``(N, d_m)``) and labels ``y``; returns ``self``."""
        X, masks = self._check_X(X, fitting=True)
        y = np.asarray(list(y) if not hasattr(y, "__len__") else y)
        n = next(iter(X.values())).shape[0]
        if y.ndim != 1 or len(y) != n:
            raise DataError(f"y has shape {y.shape}, expected ({n},) like the rows of X")
        keep = np.any(np.stack(list(masks.values())), axis=0)
        if not keep.any():
            raise DataError("every row is missing every modality: nothing to fit")
        X = {m: x[keep] for m, x in X.items()}
        masks = {m: k[keep] for m, k in masks.items()}
        self.classes_, codes = np.unique(y[keep], return_inverse=True)
        if len(self.classes_) < 2:
            raise DataError(f"fusion needs at least two classes, got {self.classes_.tolist()}")
        for m, k in masks.items():
            if not k.any():
                raise DataError(f"modality {m!r} is missing in every row")
        self.modalities_ = sorted(X)
        self.dims_ = {m: int(X[m].shape[1]) for m in self.modalities_}
        self.prior_ = np.bincount(codes, minlength=len(self.classes_)) / len(codes)
        self._fit(X, masks, codes)
        return self

    def predict_proba(self, X: Mapping[str, Any]) -> np.ndarray:
        """``(N, len(classes_))`` probabilities, columns in ``classes_`` order."""
        X, masks = self._checked(X)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.asarray(self._proba(X, masks), dtype=np.float64)
        p[~_any_present(masks)] = self.prior_
        return p

    def predict(self, X: Mapping[str, Any]) -> np.ndarray:
        """The most probable label per row."""
        p = self.predict_proba(X)
        return self.classes_[p.argmax(1)]

    def used_modalities(self, X: Mapping[str, Any]) -> list[list[str]]:
        """Per row, the modalities present in ``X`` that the method used for it."""
        _, masks = self._checked(X)
        used = self._used(masks)
        rows = np.stack([used[m] for m in self.modalities_], axis=1)
        return [[m for m, u in zip(self.modalities_, row) if u] for row in rows]

    def transform(self, X: Mapping[str, Any]) -> np.ndarray:
        """The fused representation ``(N, d)`` (for PCA plots and downstream models)."""
        raise NotImplementedError

    # -- for subclasses ------------------------------------------------------------------
    def _fit(self, X: dict[str, np.ndarray], masks: Masks, codes: np.ndarray) -> None:
        raise NotImplementedError

    def _proba(self, X: dict[str, np.ndarray], masks: Masks) -> np.ndarray:
        raise NotImplementedError

    def _used(self, masks: Masks) -> Masks:
        """Per modality, the rows whose prediction it enters (default: where present)."""
        return masks

    def _classifier(self, name: str | None = None, params: dict | None = None) -> Any:
        from ..classifiers import build_classifier

        if name is None:
            name, params = self.classifier, self.classifier_params
        return build_classifier(name, **(params or {}))

    def _checked(self, X: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], Masks]:
        check_is_fitted(self, "classes_")
        return self._check_X(X, fitting=False)

    def _check_X(self, X: Mapping[str, Any], fitting: bool) -> tuple[dict[str, Any], Masks]:
        if not isinstance(X, Mapping) or not X:
            raise UsageError("X must be a non-empty dict: modality -> (N, d) array")
        if not fitting and set(X) - set(self.modalities_):
            raise UsageError(
                f"unknown modalities {sorted(set(X) - set(self.modalities_))}; "
                f"this model was fitted on {self.modalities_}"
            )
        out = {}
        for m, x in X.items():
            a = np.asarray(x, dtype=np.float32)
            if a.ndim != 2 or a.shape[1] == 0:
                raise DataError(f"modality {m!r}: expected an (N, d) array, got shape {a.shape}")
            if not fitting and a.shape[1] != self.dims_[m]:
                raise DataError(
                    f"modality {m!r} has {a.shape[1]} columns, fitted on {self.dims_[m]}"
                )
            out[m] = a
        sizes = {m: a.shape[0] for m, a in out.items()}
        if len(set(sizes.values())) > 1:
            raise DataError(f"modalities have different numbers of rows: {sizes}")
        n = next(iter(sizes.values()))
        if not fitting:
            for m in self.modalities_:
                if m not in out:
                    out[m] = np.full((n, self.dims_[m]), np.nan, dtype=np.float32)
        masks = {}
        for m, a in out.items():
            nan = np.isnan(a)
            missing = nan.all(axis=1)
            partial = np.flatnonzero(nan.any(axis=1) & ~missing)
            if partial.size:
                raise DataError(
                    f"modality {m!r}: rows {partial[:5].tolist()} are NaN in some columns only "
                    "(a missing modality is a row of NaN)"
                )
            if not np.isfinite(a[~missing]).all():
                raise DataError(f"modality {m!r} holds infinite values")
            masks[m] = ~missing
        return out, masks

    # -- state without pickle --------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: the fitted state as named arrays plus JSON-ready metadata.

        ``meta`` holds ``method`` (the registry name), ``params`` (constructor arguments)
        and ``learned`` (how each fitted attribute is stored); sklearn pipelines inside are
        skops payloads stored as ``uint8`` arrays (:mod:`emofuse.classifiers.state`).
        """
        check_is_fitted(self, "classes_")
        arrays: dict[str, np.ndarray] = {}
        learned = {
            key: encode(value, key, arrays)
            for key, value in sorted(vars(self).items())
            if key.endswith("_") and not key.startswith("_")
        }
        params = self.get_params(deep=False)
        try:
            json.dumps(params)
        except (TypeError, ValueError):
            raise UsageError(f"parameters of {self.name} are not plain data: {params}") from None
        return arrays, {"method": self.name, "params": params, "learned": learned}

    @classmethod
    def from_state(
        cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], trusted: Iterable[str] = ()
    ) -> FusionMethod:
        """Rebuild a fitted method from :meth:`to_state`'s output (``trusted``: extra
        types to allow in the sklearn payloads, for third-party classifiers)."""
        est = cls(**meta["params"])
        for key, spec in meta["learned"].items():
            setattr(est, key, decode(spec, arrays, trusted))
        return est


def _any_present(masks: Masks) -> np.ndarray:
    return np.any(np.stack(list(masks.values())), axis=0)


def aligned_proba(clf: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """``clf.predict_proba(X)`` spread into ``n_classes`` columns by ``clf.classes_``
    (integer codes); classes the classifier never saw get probability 0."""
    out = np.zeros((len(X), n_classes))
    if len(X):
        out[:, np.asarray(clf.classes_, dtype=int)] = clf.predict_proba(X)
    return out


def folds(codes: np.ndarray, cv: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled stratified ``(train, validation)`` index pairs; plain k-fold when a class
    is too rare to stratify. ``cv`` is capped by the number of rows."""
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(codes)
    k = min(cv, int(counts[counts > 0].min()))
    if k >= 2:
        splitter: Any = StratifiedKFold(k, shuffle=True, random_state=seed)
    else:
        k = min(cv, len(codes))
        if k < 2:
            raise DataError(f"cannot make validation folds from {len(codes)} row(s)")
        splitter = KFold(k, shuffle=True, random_state=seed)
    yield from splitter.split(np.zeros(len(codes)), codes)
