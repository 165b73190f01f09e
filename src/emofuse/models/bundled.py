"""The bundled default models: where they live and which class loads each modality.

>>> sorted(MODEL_CLASSES)
['face', 'text', 'voice']
>>> load_modality_model("voice", DEFAULT_WEIGHTS / "voice", backend="torch")  # doctest: +SKIP
<emofuse.models.voice.VoiceModel object at ...>
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import DataError, UsageError
from ..utils.registry import import_path

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"

#: modality -> the class whose ``load(folder[, backend])`` reads that modality's folder
MODEL_CLASSES = {
    "face": "emofuse.models.face:FaceModel",
    "voice": "emofuse.models.voice:VoiceModel",
    "text": "emofuse.models.text:TextModel",
}
#: modalities whose network can run on onnxruntime (text: its MiniLM encoder)
ONNX_MODALITIES = ("face", "voice", "text")


def load_modality_model(
    modality: str, folder: str | Path, backend: str = "auto", batch: int | None = None
) -> Any:
    """Load the model of ``modality`` from ``folder``.

    ``backend`` (``auto``, ``torch``, ``onnx``) picks what runs the network (text: the
    MiniLM encoder); ``batch``, the usual number of items per call, guides ``auto``.
    """
    if modality not in MODEL_CLASSES:
        raise UsageError(f"unknown modality {modality!r}; choose from {', '.join(MODEL_CLASSES)}")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"no {modality} model in {folder.parent}")
    cls = import_path(MODEL_CLASSES[modality])
    if modality == "text":
        return cls.load(folder, backend=backend)
    return cls.load(folder, backend=backend, batch=batch)
