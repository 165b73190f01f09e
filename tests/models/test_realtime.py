"""Real-time audio-visual network: shapes, stream masks, size, artefacts and ONNX parity."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

from emofuse.data.clips import Clip, ClipSpec, synthesize
from emofuse.labels import CANONICAL
from emofuse.models.artifact import ModelMeta, save_model
from emofuse.models.realtime import (
    RealtimeAV,
    RealtimeConfig,
    RealtimeModel,
    drop_streams,
    example_inputs,
)
from emofuse.models.registry import ARCHITECTURES

PREP = {"sample_rate": 16000, "n_fft": 400, "hop": 160, "clip": ClipSpec(frames=4).to_dict()}


def _net(config: RealtimeConfig | None = None) -> RealtimeAV:
    torch.manual_seed(0)
    return RealtimeAV(config or RealtimeConfig()).eval()


def save_tiny_av(folder, config: RealtimeConfig | None = None):
    """A random real-time model folder (what a recipe saves as ``RUN_DIR/av``)."""
    net = _net(config)
    meta = ModelMeta(
        "tiny-av", "av", "realtime_av", asdict(net.config), list(CANONICAL), dict(PREP)
    )
    return save_model(net, meta, folder)


def _clips(n: int = 3, seed: int = 0) -> list[Clip]:
    rng = np.random.default_rng(seed)
    face = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    waves = [rng.normal(0, 0.1, int(s * 16000)).astype(np.float32) for s in (1.0, 2.2, 0.7)]
    return [synthesize(face, waves[i % 3], ClipSpec(frames=4), rng) for i in range(n)]


def test_registered_shapes_and_size():
    assert ARCHITECTURES["realtime_av"] is RealtimeAV
    net = _net()
    for batch, frames, mel in ((2, 8, 300), (1, 1, 16), (3, 5, 77)):
        assert net(*example_inputs(net.config, batch, frames, mel)).shape == (batch, 7)
    n_bytes = sum(p.numel() * p.element_size() for p in net.state_dict().values())
    assert n_bytes < 5e6  # "under 5 MB": the default config is ~0.9 MB


def test_a_missing_stream_is_ignored_whatever_its_values():
    net = _net()
    x = list(example_inputs(net.config, 2, 6, 120))
    x[1] = torch.zeros_like(x[1])  # no face in any frame
    with torch.inference_mode():
        base = net(*x)
        y = list(x)
        y[0] = torch.rand_like(x[0])
        torch.testing.assert_close(net(*y), base)
        x[1][:, 2] = 1.0  # one face: it is read
        assert not torch.allclose(net(*x), base)


def test_padding_frames_and_spectrogram_do_not_change_the_output():
    net = _net()
    x = example_inputs(net.config, 1, 4, 96)
    faces, fv, frames, frv, mel, mv = x
    pad = (
        torch.cat([faces, torch.rand(1, 3, *faces.shape[2:])], 1),
        torch.cat([fv, torch.zeros(1, 3)], 1),
        torch.cat([frames, torch.rand(1, 3, *frames.shape[2:])], 1),
        torch.cat([frv, torch.zeros(1, 3)], 1),
        torch.cat([mel, torch.randn(1, 1, mel.shape[2], 64) * 9], 3),
        torch.cat([mv, torch.zeros(1, 64)], 1),
    )
    with torch.inference_mode():
        torch.testing.assert_close(net(*pad), net(*x), atol=1e-5, rtol=1e-4)


def test_stream_dropout_keeps_one_stream():
    torch.manual_seed(0)
    valid = [torch.ones(400, 5) for _ in range(3)]
    valid[2][:200] = 0
    out = drop_streams(valid, 0.9)
    present = torch.stack([v.sum(1) > 0 for v in out], 1)
    assert present.any(1).all() and not present.all()


def test_model_predicts_clips_with_missing_parts(tmp_path):
    model = RealtimeModel.load(save_tiny_av(tmp_path / "av"), backend="torch")
    assert model.clip_spec.frames == 4 and model.labels == list(CANONICAL)
    clips = _clips()
    clips[1] = Clip(clips[1].faces, np.zeros(4, bool), clips[1].frames, None)  # no face, no sound
    probs = model.predict_proba(clips)
    assert probs.shape == (3, 7)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert RealtimeModel.streams_used(clips[1]) == ["frame"]
    assert RealtimeModel.streams_used(clips[0]) == ["face", "frame", "audio"]
    np.testing.assert_allclose(model.predict_proba(clips[:1]), probs[:1], atol=1e-5)


def test_onnx_export_parity_and_timings(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from emofuse.models.onnx import export as onnx_export
    from emofuse.models.onnx.export import export_onnx
    from emofuse.models.onnx.runtime import INFO_FILE, ONNX_FILE

    monkeypatch.setattr(onnx_export, "BENCH_SECONDS", 0.05)
    save_tiny_av(tmp_path / "run" / "av")
    written = export_onnx(tmp_path / "run")
    assert written == [tmp_path / "run" / "av" / ONNX_FILE, tmp_path / "run" / "av" / INFO_FILE]
    info = json.loads(written[1].read_text())
    assert info["max_abs_diff"] < 1e-4
    assert all(t["torch_ms"] > 0 and t["onnx_ms"] > 0 for t in info["timings"].values())
    clips = _clips(5, seed=3)
    probs = {
        b: RealtimeModel.load(tmp_path / "run" / "av", backend=b).predict_proba(clips)
        for b in ("torch", "onnx")
    }
    np.testing.assert_allclose(probs["onnx"], probs["torch"], atol=1e-4)
