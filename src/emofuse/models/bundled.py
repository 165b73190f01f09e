"""The bundled default models: where they live and which class loads each modality.

>>> sorted(MODEL_CLASSES)
['face', 'text', 'voice']
>>> load_modality_model("voice", DEFAULT_WEIGHTS / "voice", backend="torch")  # doctest: +SKIP
<emofuse.models.voice_cnn.VoiceModel object at ...>
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import DataError, UsageError
from ..utils.registry import import_path

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"

#: modality -> the class whose ``load(folder[, backend])`` reads that modality's folder
MODEL_CLASSES = {
    "face": "emofuse.models.face_cnn:FaceModel",
    "voice": "emofuse.models.voice_cnn:VoiceModel",
    "text": "emofuse.models.text_head:TextModel",
}
#: modalities whose network can run on onnxruntime
ONNX_MODALITIES = ("face", "voice")


def load_modality_model(modality: str, folder: str | Path, backend: str = "auto") -> Any:
    """Load the model of ``modality`` from ``folder`` (``backend`` for face and voice)."""
    if modality not in MODEL_CLASSES:
        raise UsageError(f"unknown modality {modality!r}; choose from {', '.join(MODEL_CLASSES)}")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"no {modality} model in {folder.parent}")
    cls = import_path(MODEL_CLASSES[modality])
    return cls.load(folder, backend) if modality in ONNX_MODALITIES else cls.load(folder)
