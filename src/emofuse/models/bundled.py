"""The bundled default models: where they live and which class loads a model folder.

A folder's ``model.json`` names its architecture; :data:`MODEL_CLASSES` maps it to the
inference class that loads such folders (third parties register theirs, or add an
``emofuse.models`` entry point), so a model folder may hold any registered kind of
model for its modality (the text model: ``text_finetuned``, the bundled default, or
``text_head``)::

    >>> MODEL_CLASSES.path("text_finetuned")
    'emofuse.models.text_finetuned:FineTunedTextModel'
    >>> load_modality_model("voice", DEFAULT_WEIGHTS / "voice", backend="torch")  # doctest: +SKIP
    <emofuse.models.voice.VoiceModel object at ...>
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import DataError, UsageError
from ..utils.registry import Registry
from .artifact import load_meta

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
MODALITIES = ("face", "voice", "text")

#: architecture -> the class whose ``load(folder, backend=, batch=)`` reads such a folder
MODEL_CLASSES = Registry(
    "model class",
    {
        "face_cnn": "emofuse.models.face:FaceModel",
        "voice_cnn": "emofuse.models.voice:VoiceModel",
        "text_finetuned": "emofuse.models.text_finetuned:FineTunedTextModel",
        "text_head": "emofuse.models.text:TextModel",
    },
    group="emofuse.models",
)


def model_class(folder: str | Path, modality: str) -> Any:
    """The class that loads the ``modality`` model in ``folder`` (from its ``model.json``)."""
    if modality not in MODALITIES:
        raise UsageError(f"unknown modality {modality!r}; choose from {', '.join(MODALITIES)}")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"no {modality} model in {folder.parent}")
    meta = load_meta(folder)
    if meta.modality != modality:
        raise DataError(f"{folder} holds a {meta.modality} model, not a {modality} one")
    try:
        return MODEL_CLASSES.get(meta.architecture)
    except UsageError:
        raise DataError(
            f"{folder}: no model class for architecture {meta.architecture!r} "
            f"(known: {', '.join(MODEL_CLASSES.names())})"
        ) from None


def load_modality_model(
    modality: str, folder: str | Path, backend: str = "auto", batch: int | None = None
) -> Any:
    """Load the model of ``modality`` from ``folder``, with the class its architecture names.

    ``backend`` (``auto``, ``torch``, ``onnx``) picks what runs the network (text: its
    transformer); ``batch``, the usual number of items per call, guides ``auto``.
    """
    return model_class(folder, modality).load(folder, backend=backend, batch=batch)


def find_text_export(folder: str | Path = DEFAULT_WEIGHTS / "text") -> Path | None:
    """The user-cache folder of a current ONNX export of the text model in ``folder`` (what
    ``emofuse export-onnx --only text`` writes), or ``None``: then it runs on torch."""
    return model_class(folder, "text").find_onnx_export(folder)
