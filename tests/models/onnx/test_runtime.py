"""ONNX export and the onnxruntime backend of FaceModel/VoiceModel, on tiny random models."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

pytest.importorskip("onnxruntime", reason="onnxruntime not installed: pip install 'emofuse[onnx]'")
pytest.importorskip("onnx", reason="onnx not installed: pip install 'emofuse[onnx]'")

from emofuse.cli import app
from emofuse.errors import DataError, UsageError
from emofuse.inference.recognizer import Recognizer
from emofuse.models.face_cnn import FaceModel
from emofuse.models.onnx import export as onnx_export
from emofuse.models.onnx.export import export_onnx
from emofuse.models.onnx.runtime import (
    INFO_FILE,
    ONNX_FILE,
    choose_backend,
    make_session,
    run_session,
)
from emofuse.models.voice_cnn import VoiceModel


@pytest.fixture(autouse=True, scope="module")
def quick_benchmarks():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(onnx_export, "BENCH_SECONDS", 0.05)
        yield


@pytest.fixture(scope="module")
def exported(tiny_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx") / "models"
    shutil.copytree(tiny_models, root)
    written = export_onnx(root)
    return root, written


@pytest.fixture
def fresh(tiny_models, tmp_path):
    """A copy of the tiny models without any ONNX files."""
    return shutil.copytree(tiny_models, tmp_path / "models")


def _set_choice(folder, backend: str) -> None:
    """Rewrite the recorded timings so that ``backend`` wins at every batch size."""
    info = json.loads((folder / INFO_FILE).read_text())
    for t in info["timings"].values():
        t["onnx_ms"] = t["torch_ms"] * (0.5 if backend == "onnx" else 2.0)
    (folder / INFO_FILE).write_text(json.dumps(info))


def test_export_writes_files_that_match_torch(exported):
    root, written = exported
    assert written == [
        root / "face" / ONNX_FILE,
        root / "face" / INFO_FILE,
        root / "voice" / ONNX_FILE,
        root / "voice" / INFO_FILE,
    ]
    for m in ("face", "voice"):
        info = json.loads((root / m / INFO_FILE).read_text())
        assert info["max_abs_diff"] < 1e-4
        assert info["backend"] in ("torch", "onnx")
        assert all(t["torch_ms"] > 0 and t["onnx_ms"] > 0 for t in info["timings"].values())
    face_timings = json.loads((root / "face" / INFO_FILE).read_text())["timings"]
    assert {k: t["batch"] for k, t in face_timings.items()} == {
        "1 crop": 1,
        "8 crops": 8,
        "32 crops": 32,
    }

    # independent check: dynamic batch (face), dynamic batch + time with lengths (voice)
    face = FaceModel.load(root / "face", backend="torch").module
    sess = make_session(root / "face" / ONNX_FILE)
    x = torch.randn(7, 1, 48, 48)
    with torch.inference_mode():
        np.testing.assert_allclose(face(x).numpy(), run_session(sess, x), atol=1e-4)
    voice = VoiceModel.load(root / "voice", backend="torch").module
    sess = make_session(root / "voice" / ONNX_FILE)
    x, lengths = torch.randn(3, 1, 64, 123), torch.tensor([123, 80, 20])
    with torch.inference_mode():
        want = voice(x, lengths).numpy()
        np.testing.assert_allclose(want, run_session(sess, x.numpy(), lengths.numpy()), atol=1e-4)


def test_export_mismatch_is_an_error_and_writes_nothing(fresh, monkeypatch):
    monkeypatch.setattr(onnx_export, "TOLERANCE", -1.0)  # nothing can pass
    with pytest.raises(DataError, match="disagrees with torch"):
        export_onnx(fresh)
    assert not list(fresh.rglob("*.onnx")) and not list(fresh.rglob(INFO_FILE))


def test_export_into_out_dir(fresh, tmp_path):
    written = export_onnx(fresh, out_dir=tmp_path / "out")
    assert all(p.is_file() and p.is_relative_to(tmp_path / "out") for p in written)
    assert not (fresh / "face" / ONNX_FILE).exists()


def test_export_needs_model_folders(tmp_path):
    with pytest.raises(DataError, match="no face/ or voice/"):
        export_onnx(tmp_path)


@pytest.mark.parametrize("tta_flip", [False, True])
def test_face_onnx_matches_torch(exported, tta_flip):
    root, _ = exported
    crops = np.random.default_rng(0).integers(0, 256, (40, 48, 48), dtype=np.uint8)
    probs = {}
    for backend in ("torch", "onnx"):
        model = FaceModel.load(root / "face", backend=backend)
        assert model.backend == backend
        model.meta.preprocessing["tta_flip"] = tta_flip
        model.meta.temperature = 1.7
        probs[backend] = model.predict_proba(crops)  # 40 > batch_size: two batches
    np.testing.assert_allclose(probs["onnx"], probs["torch"], atol=1e-4)


def test_voice_onnx_matches_torch(exported):
    root, _ = exported
    rng = np.random.default_rng(0)
    # different lengths, and a 9 s wave that is chunked into 4 s windows
    waves = [rng.normal(0, 0.1, int(s * 16000)).astype(np.float32) for s in (1.0, 2.5, 9.0, 1.0)]
    torch_model = VoiceModel.load(root / "voice", backend="torch")
    onnx_model = VoiceModel.load(root / "voice", backend="onnx")
    assert (torch_model.backend, onnx_model.backend) == ("torch", "onnx")
    np.testing.assert_allclose(
        onnx_model.predict_proba(waves), torch_model.predict_proba(waves), atol=1e-4
    )


@pytest.mark.parametrize("choice", ["onnx", "torch"])
def test_auto_follows_the_json(fresh, choice):
    export_onnx(fresh)
    for m, cls in (("face", FaceModel), ("voice", VoiceModel)):
        _set_choice(fresh / m, choice)
        assert cls.load(fresh / m, backend="auto").backend == choice
        assert cls.load(fresh / m, backend="torch").backend == "torch"
    assert Recognizer(fresh, backend="auto").model("voice").backend == choice


def test_auto_picks_per_batch_size(fresh):
    """onnxruntime faster for one crop, torch for 32: the batch the caller sends decides."""
    export_onnx(fresh, modalities=("face",))
    info = json.loads((fresh / "face" / INFO_FILE).read_text())
    for t in info["timings"].values():
        t["onnx_ms"] = t["torch_ms"] * (0.5 if t["batch"] == 1 else 1.5)
    (fresh / "face" / INFO_FILE).write_text(json.dumps(info))
    assert choose_backend(info, 1) == "onnx" and choose_backend(info, 32) == "torch"
    assert choose_backend(info, 24) == "torch"  # the nearest measured batch decides
    assert FaceModel.load(fresh / "face", batch=1).backend == "onnx"
    assert FaceModel.load(fresh / "face", batch=32).backend == "torch"
    # a tie (within 10%) goes to onnxruntime: it needs no torch import
    for t in info["timings"].values():
        t["onnx_ms"] = t["torch_ms"] * 1.05
    assert choose_backend(info, 32) == "onnx"


def test_onnx_backend_never_builds_the_torch_module(fresh):
    export_onnx(fresh, modalities=("face",))
    model = FaceModel.load(fresh / "face", backend="onnx")
    assert model._module is None  # torch is not needed to predict
    model.predict_proba(np.zeros((2, 48, 48), np.uint8))
    assert model._module is None
    assert model.module is not None  # built on demand (e.g. for embeddings)


def test_auto_without_onnx_files_is_torch(fresh):
    assert FaceModel.load(fresh / "face").backend == "torch"
    assert VoiceModel.load(fresh / "voice").backend == "torch"


def test_onnx_without_file_tells_to_export(fresh):
    for cls, m in ((FaceModel, "face"), (VoiceModel, "voice")):
        with pytest.raises(DataError, match="emofuse export-onnx"):
            cls.load(fresh / m, backend="onnx")
    with pytest.raises(DataError, match="emofuse export-onnx"):
        Recognizer(fresh, backend="onnx").model("face")


def test_stale_onnx_is_refused(fresh):
    from safetensors.torch import load_file, save_file

    export_onnx(fresh)
    _set_choice(fresh / "face", "onnx")
    weights = fresh / "face" / "model.safetensors"
    state = load_file(str(weights))
    name = next(iter(state))
    state[name] = state[name] + 0.01  # retrained weights: the export no longer matches
    save_file(state, str(weights))
    assert FaceModel.load(fresh / "face", backend="auto").backend == "torch"
    with pytest.raises(DataError, match="export-onnx"):
        FaceModel.load(fresh / "face", backend="onnx")


def test_backend_is_checked(fresh):
    with pytest.raises(UsageError, match="unknown backend"):
        Recognizer(fresh, backend="tensorrt")
    with pytest.raises(UsageError, match="unknown backend"):
        FaceModel.load(fresh / "face", backend="gpu")


def test_cli_export_onnx(fresh):
    res = CliRunner().invoke(
        app, ["export-onnx", "--model-dir", str(fresh), "--only", "face,voice"]
    )
    assert res.exit_code == 0, res.output
    assert "model.onnx" in res.stdout and "speed-up" in res.stdout and "4 s clip" in res.stdout
    assert (fresh / "voice" / ONNX_FILE).is_file()
    args = ["export-onnx", "--model-dir", str(fresh / "nope"), "--only", "face"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1 and "no face/ or voice/" in res.output


def test_default_recognizer_loads_either_way():
    rec = Recognizer.default()
    assert rec.model("face").backend in ("torch", "onnx")
    assert Recognizer.default(backend="torch").model("voice").backend == "torch"
