"""The per-segment emotion timeline: one row per modality and the fused row."""

from __future__ import annotations

from emofuse.inference.result import ModalityResult, Prediction, Result, SegmentResult
from emofuse.report.timeline import timeline_html, timeline_plot

LABELS = ["neutral", "happiness", "anger"]


def result() -> Result:
    def p(i, conf=0.8):
        probs = [0.1, 0.1, 0.1]
        probs[i] = conf
        return Prediction.from_probs(probs, LABELS)

    segs = [
        SegmentResult(0.0, 2.0, "hi", {"face": ModalityResult("ok", p(0)),
                                       "voice": ModalityResult("ok", p(1)),
                                       "text": ModalityResult("ok", p(0))}, p(0)),
        SegmentResult(2.0, 4.5, "grr", {"face": ModalityResult("no face"),
                                        "voice": ModalityResult("ok", p(2)),
                                        "text": ModalityResult("ok", p(2, 0.6))}, p(2)),
    ]  # fmt: skip
    return Result("clip.mp4", LABELS, segs, {"modalities": ["face", "voice", "text"]})


def test_timeline_png_and_html(tmp_path):
    png = timeline_plot(result(), tmp_path / "t.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    page = timeline_html(result())
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page
    assert "grr" in page and "clip.mp4" in page


def test_empty_result_still_plots(tmp_path):
    empty = Result("x.wav", LABELS, [], {})
    assert timeline_plot(empty, tmp_path / "e.png").stat().st_size > 0
