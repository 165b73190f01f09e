"""ONNX export of the fine-tuned text network (adapters merged) against its torch forward."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime not installed: pip install 'emofuse[onnx]'")
pytest.importorskip("onnx", reason="onnx not installed: pip install 'emofuse[onnx]'")

from emofuse.errors import DataError
from emofuse.models.onnx import export as onnx_export
from emofuse.models.onnx.finetuned_export import export_finetuned
from emofuse.models.onnx.runtime import make_session
from emofuse.models.text_finetuned_inputs import batched_logits, pad_items
from tests.models.test_text_finetuned import CONTEXT, TEXTS, save_tiny_model


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
