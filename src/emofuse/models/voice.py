"""The voice emotion model at inference: 16 kHz waves in, probabilities out.

Features are numpy log-mels (:func:`~emofuse.media.audio_features.log_mel_np`); the
network (:class:`~emofuse.models.voice_cnn.VoiceCNN`) runs on onnxruntime or torch over
padded batches with their lengths, sorted by length so that little padding is added.

A network trained on a corpus' native labels (RAVDESS: 8, with calm) records them in
``meta.preprocessing["native_labels"]`` and the merge onto :attr:`VoiceModel.labels` in
``meta.preprocessing["label_merge"]``; :meth:`VoiceModel.predict_proba` then sums the
temperature-softmax of the native logits into the canonical labels (calm -> neutral), and
:meth:`VoiceModel.predict_native_proba` returns the native columns.

>>> import numpy as np
>>> model = VoiceModel.load()                                   # doctest: +SKIP
>>> model.predict_proba([np.zeros(16000 * 3, "float32")]).shape  # doctest: +SKIP
(1, 7)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError, UsageError
from ..media.audio_features import log_mel_np, trim_silence
from .calibration import softmax
from .network import NetworkModel

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "weights" / "voice"
MIN_SECONDS = 0.3


def chunk_wave(wave: np.ndarray, max_samples: int) -> list[np.ndarray]:
    """Split ``wave`` into windows of ``max_samples`` overlapping by half; the last is end-aligned.

    >>> [len(c) for c in chunk_wave(np.zeros(10), 4)]
    [4, 4, 4, 4]
    """
    if len(wave) <= max_samples:
        return [wave]
    step = max_samples // 2
    starts = [*range(0, len(wave) - max_samples, step), len(wave) - max_samples]
    return [wave[s : s + max_samples] for s in starts]


def label_merge_matrix(
    outputs: Sequence[str], labels: Sequence[str], merge: dict[str, str]
) -> np.ndarray:
    """``(len(outputs), len(labels))`` 0/1 matrix: output ``o`` -> ``labels[merge.get(o, o)]``.

    >>> label_merge_matrix(["neutral", "calm", "happy"], ["neutral", "happy"], {"calm": "neutral"})
    array([[1., 0.],
           [1., 0.],
           [0., 1.]])
    """
    labels = list(labels)
    m = np.zeros((len(outputs), len(labels)))
    for i, output in enumerate(outputs):
        target = merge.get(output, output)
        if target not in labels:
            raise DataError(f"native label {output!r} maps to {target!r}, not in {labels}")
        m[i, labels.index(target)] = 1.0
    return m


def pad_features(
    feats: Sequence[np.ndarray], min_frames: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Stack ``(n_mels, T_i)`` log-mels into float32 ``(N, 1, n_mels, max T)`` + int64 lengths.

    The batch is at least ``min_frames`` long (the network's time reduction).
    """
    lengths = np.array([f.shape[-1] for f in feats], dtype=np.int64)
    frames = max(int(lengths.max()), min_frames)
    x = np.zeros((len(feats), 1, feats[0].shape[0], frames), dtype=np.float32)
    for k, f in enumerate(feats):
        x[k, 0, :, : f.shape[-1]] = f
    return x, lengths


class VoiceModel(NetworkModel):
    """A trained voice emotion model: waves in, probabilities in :attr:`labels` order out.

    >>> model = VoiceModel.load()                                  # doctest: +SKIP
    >>> model.labels[:3]                                           # doctest: +SKIP
    ['neutral', 'happiness', 'sadness']
    """

    architecture = "voice_cnn"
    default_dir = DEFAULT_DIR
    modality = "voice"
    default_batch_size = 16

    @property
    def labels(self) -> list[str]:
        """The labels :meth:`predict_proba` returns (the canonical set for RAVDESS models)."""
        return list(self.meta.labels)

    @property
    def native_labels(self) -> list[str] | None:
        """The network's own output labels when they differ from :attr:`labels`, else ``None``."""
        native = self.meta.preprocessing.get("native_labels")
        return list(native) if native else None

    @property
    def output_labels(self) -> list[str]:
        """What the network's logits are over: :attr:`native_labels` or :attr:`labels`."""
        return self.native_labels or self.labels

    def merge_matrix(self) -> np.ndarray:
        """``(n_outputs, n_labels)`` 0/1 matrix summing output probabilities into labels."""
        if self.native_labels is None:
            return np.eye(len(self.labels))
        merge = self.meta.preprocessing.get("label_merge") or {}
        return label_merge_matrix(self.output_labels, self.labels, merge)

    @property
    def sample_rate(self) -> int:
        return int(self.meta.preprocessing.get("sample_rate", 16000))

    @property
    def reduction(self) -> int:
        """Factor by which the network shrinks time: the shortest input it takes, in frames."""
        return 2 ** len(self.meta.config.get("channels", [16, 32, 64, 128]))

    def features(self, wave: np.ndarray) -> np.ndarray:
        """Log-mel ``(n_mels, frames)`` of one (already trimmed/chunked) wave, as in training."""
        p = self.meta.preprocessing
        return log_mel_np(wave, self.sample_rate, p["n_fft"], p["hop"], p["n_mels"])

    def _prepare(self, wave: np.ndarray, i: int) -> list[np.ndarray]:
        wave = np.asarray(wave, dtype=np.float32)
        if wave.ndim != 1:
            raise DataError(f"wave {i}: expected mono 1-D samples, got shape {wave.shape}")
        if len(wave) < MIN_SECONDS * self.sample_rate:
            raise DataError(
                f"audio too short (wave {i}: {len(wave) / self.sample_rate:.2f} s; "
                f"need at least {MIN_SECONDS} s)"
            )
        if not np.isfinite(wave).all():
            raise DataError(f"wave {i} contains NaN or infinite samples")
        top_db = self.meta.preprocessing.get("trim_top_db")
        if top_db is not None:
            trimmed = trim_silence(wave, self.sample_rate, float(top_db))
            if len(trimmed) >= MIN_SECONDS * self.sample_rate:
                wave = trimmed
        max_samples = int(self.meta.preprocessing["max_seconds"] * self.sample_rate)
        return chunk_wave(wave, max_samples)

    def chunk_logits(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Raw network logits per wave, one row per window: ``[(n_windows_i, n_outputs), ...]``.

        ``n_outputs`` is ``len(output_labels)`` (8 for a native RAVDESS network). Windows of
        all waves are batched together, sorted by length and padded (with their lengths) to
        the longest of their batch.
        """
        if isinstance(waves, np.ndarray) and waves.ndim == 1:
            raise UsageError("pass a list of waves (or a 2-D array), not a single 1-D wave")
        chunks = [(i, c) for i, w in enumerate(waves) for c in self._prepare(w, i)]
        feats = [self.features(c) for _, c in chunks]
        out = np.zeros((len(feats), len(self.output_labels)), dtype=np.float32)
        order = sorted(range(len(feats)), key=lambda k: feats[k].shape[-1])
        for s in range(0, len(order), self.batch_size):
            idx = order[s : s + self.batch_size]
            x, lengths = pad_features([feats[k] for k in idx], self.reduction)
            out[idx] = self._network(x, lengths)
        owners = np.array([i for i, _ in chunks], dtype=int)
        return [out[owners == i] for i in range(len(waves))]

    def _output_proba(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        if len(waves) == 0:
            return np.zeros((0, len(self.output_labels)))
        t = float(self.meta.temperature)
        return np.stack([softmax(lg, t).mean(axis=0) for lg in self.chunk_logits(waves)])

    def predict_proba(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """Calibrated probabilities ``(N, n_labels)``; long waves average their windows.

        A native-label network's probabilities are summed into :attr:`labels` (calm into
        neutral) after the temperature softmax.
        """
        probs = self._output_proba(waves)
        if self.native_labels is not None:
            probs = probs @ self.merge_matrix()
        return probs.astype(np.float32)

    def predict_native_proba(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """Calibrated probabilities over :attr:`native_labels` ``(N, n_native)``, unmerged."""
        if self.native_labels is None:
            raise UsageError("this voice model has no native labels; use predict_proba")
        return self._output_proba(waves).astype(np.float32)

    def predict(self, waves: Sequence[np.ndarray]) -> list[str]:
        """Most likely label per wave."""
        return [self.labels[k] for k in self.predict_proba(waves).argmax(axis=1)]
