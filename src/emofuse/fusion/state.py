"""Fitted estimators on disk without pickle: ``model.safetensors`` + ``model.json``.

:func:`save_estimator` takes a fitted fusion method (anything with ``to_state``) or a
fitted scikit-learn estimator/pipeline (e.g. from
:func:`~emofuse.classifiers.build_classifier`); :func:`load_estimator` rebuilds it::

    >>> import numpy as np, tempfile
    >>> from emofuse.fusion import build_fusion
    >>> rng = np.random.default_rng(0)
    >>> X = {"text": rng.normal(size=(40, 4)), "voice": rng.normal(size=(40, 3))}
    >>> fusion = build_fusion("late_mean").fit(X, ["a", "b"] * 20)
    >>> folder = tempfile.mkdtemp()
    >>> save_estimator(fusion, folder)
    >>> back = load_estimator(folder)
    >>> bool(np.allclose(back.predict_proba(X), fusion.predict_proba(X)))
    True

How state is stored: numeric arrays (projections, means, weights, integer classes) go to
safetensors as they are; string labels and scalars go to the JSON; every scikit-learn
estimator inside (the per-modality classifiers, the classifier on fused features, the
stacking meta-classifier) is a skops payload (pickle-free; only trusted types are built,
see :mod:`emofuse.classifiers.state`) stored as a ``uint8`` array. A fusion method's class
is looked up by its registry name (``FUSIONS``), never imported from a path in the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import DataError, UsageError
from ..utils.io import write_atomic, write_json

WEIGHTS_FILE = "model.safetensors"
META_FILE = "model.json"
FORMAT = "emofuse-estimator/1"


def _is_estimator(value: Any) -> bool:
    return hasattr(value, "get_params") and hasattr(value, "fit") and not isinstance(value, type)


def encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """A JSON-ready description of ``value``; its arrays go into ``arrays`` under ``key``."""
    from ..classifiers.state import estimator_to_bytes

    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            arrays[key] = np.ascontiguousarray(value)
            return {"array": key}
        return {"values": value.tolist()}  # labels as strings
    if _is_estimator(value):
        arrays[key] = np.frombuffer(estimator_to_bytes(value), dtype=np.uint8).copy()
        return {"sklearn": key}
    if isinstance(value, dict):
        return {"dict": {str(k): encode(v, f"{key}.{k}", arrays) for k, v in value.items()}}
    if isinstance(value, np.generic):
        value = value.item()
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise UsageError(f"cannot store {key!r} of type {type(value).__name__}") from None
    return {"json": value}


def decode(
    spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray], trusted: Iterable[str] = ()
) -> Any:
    """The value :func:`encode` described."""
    from ..classifiers.state import estimator_from_bytes

    ((kind, value),) = spec.items()
    if kind == "array":
        return np.asarray(arrays[value])
    if kind == "values":
        return np.asarray(value)
    if kind == "sklearn":
        return estimator_from_bytes(np.asarray(arrays[value], dtype=np.uint8).tobytes(), trusted)
    if kind == "dict":
        return {k: decode(v, arrays, trusted) for k, v in value.items()}
    if kind == "json":
        return value
    raise DataError(f"unknown stored value kind {kind!r}")


def save_estimator(estimator: Any, directory: str | Path) -> None:
    """Write a fitted fusion method or scikit-learn estimator to ``directory``."""
    import sklearn
    from safetensors.numpy import save

    arrays: dict[str, np.ndarray] = {}
    if hasattr(estimator, "to_state"):
        arrays, meta = estimator.to_state()
        meta = {"kind": "fusion", **meta}
    elif _is_estimator(estimator):
        meta = {"kind": "sklearn", "estimator": encode(estimator, "estimator", arrays)}
    else:
        raise UsageError(f"cannot save a {type(estimator).__name__}: not an estimator")
    meta = {"format": FORMAT, "emofuse_version": __version__,
            "sklearn_version": sklearn.__version__, **meta}  # fmt: skip
    directory = Path(directory)
    write_atomic(directory / WEIGHTS_FILE, save(arrays))
    write_json(directory / META_FILE, meta)


def load_estimator(directory: str | Path, trusted: Iterable[str] = ()) -> Any:
    """Rebuild what :func:`save_estimator` wrote. ``trusted``: extra types to allow inside
    sklearn payloads (a third-party classifier's); a fusion method's name must be
    registered in ``FUSIONS``."""
    from safetensors.numpy import load

    directory = Path(directory)
    try:
        meta = json.loads((directory / META_FILE).read_text())
        arrays = load((directory / WEIGHTS_FILE).read_bytes())
    except FileNotFoundError as e:
        raise DataError(f"no saved estimator in {directory}: {e.filename} is missing") from None
    except Exception as e:  # JSON or safetensors (SafetensorError) parse errors
        raise DataError(f"corrupt estimator in {directory}: {e}") from None
    if meta.get("format") != FORMAT:
        raise DataError(f"{directory / META_FILE} is not an emofuse estimator ({FORMAT})")
    if meta["kind"] == "fusion":
        from .base import FUSIONS

        return FUSIONS.get(meta["method"]).from_state(arrays, meta, trusted=trusted)
    return decode(meta["estimator"], arrays, trusted)
