"""The inference pipeline the CLI, the server and users call.

>>> rec = Recognizer.default()                                   # doctest: +SKIP
>>> result = rec.analyze("clip.mp4", transcript="clip.srt")      # doctest: +SKIP
>>> [(s.start, s.label) for s in result.segments]                # doctest: +SKIP
[(0.0, 'neutral'), (3.667, 'happiness'), ...]
>>> rec.predict_text(["I can't stand this any more"])[0].label  # doctest: +SKIP
'anger'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError, UsageError
from ..fusion import LateFusion
from ..labels import CANONICAL
from ..media import decode, faces
from ..media.segments import Segment, fixed_windows, read_transcript, segment_warnings
from ..media.text import clean_unicode
from ..models.bundled import DEFAULT_WEIGHTS, load_modality_model
from ..utils.checks import positive
from .result import MODALITIES, ModalityResult, Prediction, Result, SegmentResult

SAMPLE_RATE = 16000
MIN_VOICE_SECONDS = 0.3
SMALL_IMAGE = 96  # an image this small with no detectable face is taken as a face crop

Progress = Callable[[str, int, int | None], None]  # (task, advance, total)


class Recognizer:
    """Per-modality models (loaded on first use), a face detector and late fusion.

    ``model_dir`` holds ``face/``, ``voice/``, ``text/`` model folders and ``fusion.json``.
    ``backend`` (``"auto"``, ``"torch"`` or ``"onnx"``) picks what runs the face and voice
    networks: ``"auto"`` uses ONNX Runtime where ``emofuse export-onnx`` measured it
    faster, torch otherwise. The text model always runs on torch.
    """

    def __init__(
        self,
        model_dir: str | Path = DEFAULT_WEIGHTS,
        detector: faces.FaceDetector | None = None,
        backend: str = "auto",
    ):
        from ..models.onnx.runtime import check_backend

        self.backend = check_backend(backend)
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise DataError(f"model folder not found: {self.model_dir}")
        self.detector = detector or faces.FaceDetector()
        fusion_file = self.model_dir / "fusion.json"
        self.fusion = (
            LateFusion.load(fusion_file)
            if fusion_file.is_file()
            else LateFusion(weights=dict.fromkeys(MODALITIES, 1.0))
        )
        self.labels: list[str] = list(CANONICAL)
        self._models: dict[str, object] = {}
        from .realtime import load_av

        self.av = load_av(self.model_dir, backend)  # an audio-visual model fuses, if any

    @classmethod
    def default(cls, backend: str = "auto") -> Recognizer:
        """The bundled default models (trained by ``emofuse train-default``)."""
        return cls(DEFAULT_WEIGHTS, backend=backend)

    def model(self, modality: str):
        """The model of ``modality`` (``face``, ``voice`` or ``text``), loaded once."""
        if modality not in self._models:
            folder = self.model_dir / modality
            if not folder.is_dir() and self.av is not None:  # an av-only folder: bundled rows
                folder = DEFAULT_WEIGHTS / modality
            if not folder.is_dir():
                raise DataError(f"no {modality} model in {self.model_dir}")
            if modality not in MODALITIES:
                raise UsageError(
                    f"unknown modality {modality!r}; choose from {', '.join(MODALITIES)}"
                )
            model = load_modality_model(modality, folder, self.backend)
            if list(model.labels) != self.labels:
                raise DataError(f"{folder}: labels {model.labels} differ from {self.labels}")
            self._models[modality] = model
        return self._models[modality]

    # -- one modality at a time -------------------------------------------------------------

    def predict_text(
        self, texts: str | Sequence[str], context: Sequence[Sequence[str]] | None = None
    ) -> list[Prediction]:
        """Emotion of each text. Empty or whitespace-only text raises :class:`DataError`.

        ``context``: optionally, per text, the previous utterances (oldest first).
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        for t in texts:
            if not isinstance(t, str) or not t.strip():
                raise DataError("empty text")
        texts = [clean_unicode(t) for t in texts]  # lone surrogates would break the tokenizer
        ctx = None if context is None else [[clean_unicode(u) for u in c] for c in context]
        probs = self.model("text").predict_proba(texts, context=ctx)
        return [Prediction.from_probs(p, self.labels) for p in probs]

    def predict_voice(
        self, wave_or_path: np.ndarray | str | Path, sample_rate: int = SAMPLE_RATE
    ) -> Prediction:
        """Emotion in a voice recording (a file, or a mono float wave at ``sample_rate``)."""
        if isinstance(wave_or_path, (str, Path)):
            wave = decode.load_audio(wave_or_path, SAMPLE_RATE)
        else:
            wave = _resample(np.asarray(wave_or_path, dtype=np.float32), sample_rate, SAMPLE_RATE)
        status = _voice_status(wave)
        if status != "ok":
            raise DataError(f"cannot predict voice: audio is {status}")
        return Prediction.from_probs(self.model("voice").predict_proba([wave])[0], self.labels)

    def predict_face(self, image_or_path: np.ndarray | str | Path) -> Prediction:
        """Emotion of the main face in an image (a file or an RGB/gray array)."""
        image = decode.load_image(image_or_path)
        crop, _ = self.face_crop(image)
        if crop is None:
            raise DataError("no face found in the image")
        return Prediction.from_probs(self.model("face").predict_proba(crop[None])[0], self.labels)

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
        windows; faces are sampled at ``fps``. A modality with nothing to read in a
        segment (no face, silence, no text) is skipped there and its status says why.
        """
        t0 = time.perf_counter()
        modalities = _check_modalities(modalities)
        fps, window = positive("fps", fps), positive("window", window)  # NaN, inf, <= 0
        info = decode.probe(path)
        if info.kind == "image":
            segments = [Segment(0.0, 0.0)]
        elif transcript is not None:
            segments = read_transcript(transcript)
        else:
            segments = fixed_windows(info.duration, window)
        warnings = list(info.warnings)
        if info.kind != "image":
            warnings += segment_warnings(segments, info.duration, MIN_VOICE_SECONDS)

        results: dict[str, list[ModalityResult]] = {}
        if "face" in modalities:
            results["face"] = self._faces(path, info, segments, fps, progress)
        if "voice" in modalities:
            results["voice"] = self._voices(path, info, segments, progress)
        if "text" in modalities:
            results["text"] = self._texts(segments)

        av = None
        if self.av is not None and info.kind != "image":
            from .realtime import segment_probs

            av = segment_probs(self.av, path, info, segments, self.detector)
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

    # -- per-modality passes over the segments -----------------------------------------------

    def face_crop(self, image: np.ndarray) -> tuple[np.ndarray | None, faces.Box | None]:
        """The main face's model-ready crop and its box (``None, None`` when there is none)."""
        box = faces.main_face(self.detector.detect(image))
        size = self.model("face").meta.preprocessing.get("size", 48)
        if box is not None:
            return faces.crop_face(image, box, size=size), box
        h, w = image.shape[:2]
        if max(h, w) <= SMALL_IMAGE:  # already a face crop (FER-style)
            return faces.crop_face(image, faces.Box(0, 0, w, h), size=size), None
        return None, None

    def _faces(self, path, info, segments, fps, progress) -> list[ModalityResult]:
        if info.kind == "image":
            frames: Iterable[tuple[float, np.ndarray]] = [(0.0, decode.load_image(path))]
        elif info.has_video:
            frames = decode.iter_frames(path, fps=fps)
        else:
            return [ModalityResult("no video") for _ in segments]
        times, crops, boxes, frame_times = [], [], [], []
        total = None if info.kind == "image" else int(info.duration * fps) + 1
        for t, frame in frames:
            frame_times.append(t)
            crop, box = self.face_crop(frame)
            if crop is not None:
                times.append(t)
                crops.append(crop)
                boxes.append(box)
            if progress:
                progress("faces", 1, total)
        probs = (
            self.model("face").predict_proba(np.stack(crops))
            if crops
            else np.zeros((0, len(self.labels)))
        )
        times_arr, frames_arr = np.asarray(times), np.asarray(frame_times)
        out = []
        for seg in segments:
            if info.kind == "image":
                idx = np.arange(len(times))
            else:
                idx = np.flatnonzero((times_arr >= seg.start) & (times_arr < seg.end))
            if idx.size == 0:
                sampled = info.kind == "image" or bool(
                    ((frames_arr >= seg.start) & (frames_arr < seg.end)).any()
                )
                out.append(ModalityResult("no face" if sampled else "no frame sampled"))
                continue
            main = max(idx, key=lambda i: boxes[i].area if boxes[i] else 0)
            details = {"frames_with_face": int(idx.size)}
            if boxes[main] is not None:
                details["box"] = boxes[main].to_dict()
                details["box_time"] = round(float(times[main]), 3)
            out.append(
                ModalityResult(
                    "ok", Prediction.from_probs(probs[idx].mean(0), self.labels), details
                )
            )
        return out

    def _voices(self, path, info, segments, progress) -> list[ModalityResult]:
        if not info.has_audio:
            return [ModalityResult("no audio") for _ in segments]
        out: list[ModalityResult | None] = []
        waves, where = [], []
        for i, seg in enumerate(segments):
            wave = decode.load_audio(path, SAMPLE_RATE, start=seg.start, end=seg.end)
            status = _voice_status(wave)
            out.append(None if status == "ok" else ModalityResult(status))
            if status == "ok":
                waves.append(wave)
                where.append(i)
            if progress:
                progress("voice", 1, len(segments))
        if waves:
            for i, p in zip(where, self.model("voice").predict_proba(waves)):
                out[i] = ModalityResult("ok", Prediction.from_probs(p, self.labels))
        return out  # type: ignore[return-value]

    def _texts(self, segments) -> list[ModalityResult]:
        where = [i for i, s in enumerate(segments) if s.text and s.text.strip()]
        out = [ModalityResult("no text") for _ in segments]
        if where:
            texts = [segments[i].text for i in where]
            context = [texts[:k] for k in range(len(texts))]  # earlier transcript segments
            for i, pred in zip(where, self.predict_text(texts, context)):
                out[i] = ModalityResult("ok", pred)
        return out


def _check_modalities(modalities: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(m.strip() for m in modalities if m.strip()))
    unknown = [m for m in chosen if m not in MODALITIES]
    if unknown or not chosen:
        raise UsageError(f"unknown modalities {unknown}; choose from {', '.join(MODALITIES)}")
    return chosen


def _voice_status(wave: np.ndarray) -> str:
    if wave.size < MIN_VOICE_SECONDS * SAMPLE_RATE:
        return "too short"
    if decode.is_silent(wave):
        return "silent"
    return "ok"


def _probs(pred: Prediction, labels: list[str]) -> np.ndarray:
    return np.array([pred.probabilities[lab] for lab in labels])


def _resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    if wave.ndim == 2:  # (samples, channels) -> mono
        wave = wave.mean(axis=1)
    if wave.ndim != 1:
        raise DataError(f"expected a mono or (samples, channels) wave, got shape {wave.shape}")
    if rate == target:
        return wave.astype(np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, target)
    return resample_poly(wave, target // g, rate // g).astype(np.float32)
