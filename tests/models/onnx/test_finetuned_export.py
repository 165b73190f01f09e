"""ONNX export of the fine-tuned text network (adapters merged) against its torch forward."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime not installed: pip install 'emofuse[onnx]'")
pytest.importorskip("onnx", reason="onnx not installed: pip install 'emofuse[onnx]'")

from emofuse.errors import DataError
from emofuse.models.bundled import find_text_export, load_modality_model
from emofuse.models.onnx import export as onnx_export
from emofuse.models.onnx import text_export
from emofuse.models.onnx.finetuned_export import (
    export_finetuned,
    export_text,
    export_text_finetuned,
)
from emofuse.models.onnx.runtime import INFO_FILE, make_session
from emofuse.models.text_finetuned import FineTunedTextModel, find_onnx_export, onnx_export_dir
from emofuse.models.text_finetuned_inputs import batched_logits, pad_items
from tests.models.test_text_finetuned import CONTEXT, TEXTS, save_tiny_model

SRC = Path(__file__).resolve().parents[3] / "src"


def test_export_matches_torch_on_texts_with_and_without_context(tiny_bert, tmp_path):
    model = save_tiny_model(tiny_bert, tmp_path / "m")
    data, diff = export_finetuned(model.net, tmp_path / "ft.onnx")
    assert diff < onnx_export.TOLERANCE
    assert (tmp_path / "ft.onnx").read_bytes() == data
    session = make_session(tmp_path / "ft.onnx")
    pad = model.tokenizer.pad_token_id
    for context in (None, CONTEXT):  # tokenised without torch, run without torch
        items, _ = model.prepare(TEXTS, context)
        got = session.run(None, pad_items(items, pad))[0]
        want = batched_logits(model.net, items, pad_id=pad)
        np.testing.assert_allclose(got, want, atol=1e-4)
        torch_p = model.predict_proba(TEXTS, context)
        model.session = session  # the whole model with the network on onnxruntime
        np.testing.assert_allclose(model.predict_proba(TEXTS, context), torch_p, atol=1e-5)
        model.session = None


def test_a_disagreeing_export_is_refused(tiny_bert, tmp_path, monkeypatch):
    model = save_tiny_model(tiny_bert, tmp_path / "m")
    monkeypatch.setattr(onnx_export, "TOLERANCE", 0.0)  # no export is that exact
    with pytest.raises(DataError, match="disagrees with torch"):
        export_finetuned(model.net, tmp_path / "ft.onnx")
    assert not (tmp_path / "ft.onnx").exists()


@pytest.fixture
def cached(tiny_bert, tmp_path, monkeypatch):
    """A tiny fine-tuned model (with a TF-IDF branch) exported into a temporary user cache."""
    monkeypatch.setenv("EMOFUSE_CACHE", str(tmp_path / "cache"))
    save_tiny_model(tiny_bert, tmp_path / "m", lexical=True)
    return tmp_path / "m", export_text_finetuned(tmp_path / "m")


def test_export_into_the_cache_is_what_load_runs(cached):
    folder, written = cached
    assert [p.name for p in written] == ["model.onnx", "model.onnx.data", INFO_FILE]
    assert written[0].parent == onnx_export_dir(folder) == find_onnx_export(folder)
    info = json.loads(written[-1].read_text())
    assert info["max_abs_diff"] < 1e-4 and info["max_abs_probability_diff"] < 1e-4
    assert set(info["weights"]["extra"]) == {"delta_sha256", "config_sha256"}
    assert {t["batch"] for t in info["timings"].values()} == {1, 64}
    # every weight (the frozen base ones too) lies in the data file, mapped at load time
    import onnx

    graph = onnx.load(str(written[0]), load_external_data=False).graph
    big = [n for n in graph.node if n.op_type == "Constant" and n.attribute[0].t.ByteSize() > 1100]
    assert not big and len(graph.initializer) > 10
    fast, slow = FineTunedTextModel.load(folder), FineTunedTextModel.load(folder, backend="torch")
    assert (fast.backend, fast.net, slow.backend) == ("onnx", None, "torch")
    for context in (None, CONTEXT, [None, [], ["why?"]]):
        np.testing.assert_allclose(
            fast.predict_proba(TEXTS, context), slow.predict_proba(TEXTS, context), atol=1e-5
        )
    assert load_modality_model("text", folder).backend == "onnx"
    assert find_text_export(folder) == written[0].parent


def test_a_changed_delta_or_config_makes_the_export_stale(cached):
    folder, _ = cached
    meta = json.loads((folder / "model.json").read_text())
    meta["config"]["lora_alpha"] *= 2  # the same delta means another network
    (folder / "model.json").write_text(json.dumps(meta))
    assert find_onnx_export(folder) is None
    assert FineTunedTextModel.load(folder).backend == "torch"  # falls back: still correct
    with pytest.raises(DataError, match="export-onnx --only text"):
        FineTunedTextModel.load(folder, backend="onnx")
    export_text_finetuned(folder)
    assert FineTunedTextModel.load(folder).backend == "onnx"
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of the delta (same size, first MiB unchanged)
    weights.write_bytes(bytes(data))
    assert find_onnx_export(folder) is None


def test_the_onnx_path_imports_no_torch(cached):
    folder, _ = cached
    code = (
        "import sys\n"
        "from emofuse.models.bundled import load_modality_model\n"
        f"m = load_modality_model('text', {str(folder)!r})\n"
        "p = m.predict_proba(['so happy', 'and you?'], [None, ['hi']])\n"
        "assert m.backend == 'onnx' and p.shape == (2, 7), m.backend\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'torch', 'transformers'}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_export_text_picks_the_exporter_by_architecture(cached, monkeypatch):
    folder, _ = cached
    assert export_text(folder, missing=True) == []  # current: nothing to do
    calls = []
    monkeypatch.setattr(text_export, "export_minilm", lambda root=None: calls.append(root) or [])
    meta = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**meta, "architecture": "text_head"}))
    assert export_text(folder) == [] and calls == [None]
