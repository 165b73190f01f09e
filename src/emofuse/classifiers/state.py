"""Fitted scikit-learn estimators as bytes, without pickle: skops with trusted types only.

:func:`estimator_to_bytes` writes skops' format (a zip of JSON and ``.npy`` arrays; no
pickle, no code); :func:`estimator_from_bytes` first lists the types the payload would
build and refuses any that is neither trusted by skops' defaults nor in :data:`TRUSTED`
(the extra types the registered classifiers and regressors need), then loads it::

    >>> import numpy as np
    >>> from emofuse.classifiers import build_classifier
    >>> clf = build_classifier("logreg").fit(np.eye(4), [0, 1, 0, 1])
    >>> back = estimator_from_bytes(estimator_to_bytes(clf))
    >>> bool(np.allclose(back.predict_proba(np.eye(4)), clf.predict_proba(np.eye(4))))
    True

XGBoost boosters travel inside as XGBoost's own JSON model (see
:class:`~emofuse.classifiers.gbdt.XGBoostClassifier`). A third-party classifier whose
fitted state holds other types is loaded by passing them as ``trusted=`` explicitly.
The payload is tied to the scikit-learn version's attribute layout: reload with the
version that saved it (recorded by the caller, e.g. ``model.json``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import DataError

#: types beyond skops' defaults that the built-in classifiers and regressors contain
TRUSTED: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "emofuse.classifiers.gbdt.XGBoostClassifier",
)


def _skops() -> Any:
    try:
        import skops.io
    except ImportError:  # a core dependency; only a broken install lacks it
        raise DataError("skops is not installed: pip install skops") from None
    return skops.io


def estimator_to_bytes(estimator: Any) -> bytes:
    """A fitted scikit-learn estimator (or pipeline) in skops' pickle-free format."""
    return _skops().dumps(estimator)


def estimator_from_bytes(data: bytes, trusted: Iterable[str] = ()) -> Any:
    """Rebuild what :func:`estimator_to_bytes` wrote, building only trusted types."""
    sio = _skops()
    allowed = set(TRUSTED) | set(trusted)
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as e:  # not a skops payload: corrupt or foreign
        raise DataError(f"not a valid skops estimator payload: {e}") from None
    refused = sorted(set(untrusted) - allowed)
    if refused:
        raise DataError(
            f"refusing to load an estimator with untrusted types {refused}; "
            "pass trusted=[...] if you trust them"
        )
    return sio.loads(data, trusted=sorted(set(untrusted)))
