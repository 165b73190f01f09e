"""FineTunedTextNet on a tiny random BERT folder: delta-only state, frozen split, merging."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from emofuse.errors import DataError
from emofuse.labels import CANONICAL
from emofuse.models.artifact import ModelMeta, load_model, save_model
from emofuse.models.lora import LoRALinear
from emofuse.models.registry import ARCHITECTURES
from emofuse.models.text_base import load_encoder, load_tokenizer, weights_sha256
from emofuse.models.text_finetuned_inputs import collate, encode_inputs
from emofuse.models.text_finetuned_net import FineTunedConfig, FineTunedTextNet
from tests.fixtures import write_tiny_bert


def tiny_net(base: Path, seed: int = 0, **kw) -> FineTunedTextNet:
    """A fine-tuned net over ``base`` with a trained-looking (non-zero, random) delta."""
    config = FineTunedConfig(lora_r=4, lora_alpha=8.0, max_tokens=12, max_context_tokens=6,
                             base=str(base), base_sha256=weights_sha256(base), **kw)  # fmt: skip
    net = FineTunedTextNet(config)
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return net.eval()


def batch(base: Path, net: FineTunedTextNet) -> dict:
    tok, c = load_tokenizer(base), net.config
    items = encode_inputs(tok, ["so happy", "what now", "ok"], ["hello there", None, "hm"],
                          [1, 0, 1], c.max_tokens, c.max_context_tokens)  # fmt: skip
    return collate(items, tok.pad_token_id)


def test_registered_and_starts_as_the_base(tiny_bert):
    assert ARCHITECTURES["text_finetuned"] is FineTunedTextNet
    encoder = load_encoder(tiny_bert)
    ids = torch.randint(5, 40, (3, 7))
    with torch.no_grad():
        before = encoder(input_ids=ids).last_hidden_state
        net = FineTunedTextNet(FineTunedConfig(lora_r=4, base=str(tiny_bert)))
        after = net.encoder(input_ids=ids).last_hidden_state
    torch.testing.assert_close(after, before, rtol=0, atol=0)  # B = 0 at init: the base
    assert sum(isinstance(m, LoRALinear) for m in net.modules()) == 2 * 6


def test_state_dict_is_the_trained_delta(tiny_bert):
    net = FineTunedTextNet(FineTunedConfig(lora_r=4, base=str(tiny_bert), frozen_layers=1))
    state = net.state_dict()
    assert set(state) == {n for n, p in net.named_parameters()}
    assert all(p.requires_grad for p in net.parameters())
    assert all("lora_" in k or "LayerNorm" in k or k.startswith(("classifier", "domain_bias"))
               for k in state)  # fmt: skip
    assert not any(k.startswith(("encoder.embeddings", "encoder.encoder.layer.0.")) for k in state)
    assert any(k.startswith("encoder.encoder.layer.1.") and "lora_" in k for k in state)
    full = FineTunedTextNet(FineTunedConfig(lora_r=4, base=str(tiny_bert)))
    assert "encoder.embeddings.token_type_embeddings.weight" in full.state_dict()


def test_frozen_bottom_blocks_split_exactly(tiny_bert):
    net = tiny_net(tiny_bert, frozen_layers=1)
    b = batch(tiny_bert, net)
    with torch.no_grad():
        full = net(**b)
        hidden = net.bottom(b["input_ids"], b["attention_mask"], b["token_type_ids"])
        split = net.top(hidden, b["attention_mask"], b["token_type_ids"], b["domain"])
    assert full.shape == (3, len(CANONICAL))
    torch.testing.assert_close(split, full, atol=1e-5, rtol=1e-5)
    assert len(net.encoder.encoder.layer) == 2  # the blocks are put back


def test_context_informs_through_attention(tiny_bert):
    net = tiny_net(tiny_bert)
    tok, c = load_tokenizer(tiny_bert), net.config
    one = collate(encode_inputs(tok, ["so happy"] * 2, ["hello there", "go away now"], [1, 1],
                                c.max_tokens, c.max_context_tokens))  # fmt: skip
    with torch.no_grad():
        z = net(**one)
    assert not torch.allclose(z[0], z[1])


def test_save_and_load_model_rebuild_base_plus_delta(tiny_bert, tmp_path):
    net = tiny_net(tiny_bert, frozen_layers=1)
    meta = ModelMeta("tiny-ft", "text", "text_finetuned", {}, list(CANONICAL))
    meta.config = net.config.__dict__
    save_model(net, meta, tmp_path / "m")
    size = (tmp_path / "m" / "model.safetensors").stat().st_size
    assert size < (tiny_bert / "model.safetensors").stat().st_size  # the delta only
    art = load_model(tmp_path / "m")
    b = batch(tiny_bert, net)
    with torch.no_grad():
        torch.testing.assert_close(art.module(**b), net(**b), rtol=0, atol=0)
    other = write_tiny_bert(tmp_path / "other", seed=1)
    with pytest.raises(DataError, match="base weights"):
        FineTunedTextNet(FineTunedConfig(base=str(other), base_sha256=net.config.base_sha256))
    with pytest.raises(DataError, match="frozen_layers"):
        FineTunedTextNet(FineTunedConfig(base=str(tiny_bert), frozen_layers=2))


def test_merged_network_and_state_dict(tiny_bert):
    from transformers import BertModel

    net = tiny_net(tiny_bert, frozen_layers=1)
    b = batch(tiny_bert, net)
    merged = net.merged()
    assert not any(isinstance(m, LoRALinear) for m in merged.modules())
    assert any(isinstance(m, LoRALinear) for m in net.modules())  # a copy: net unchanged
    with torch.no_grad():
        torch.testing.assert_close(merged(**b), net(**b), rtol=1e-5, atol=1e-5)
    state = net.merged_state_dict()
    plain = BertModel.from_pretrained(str(tiny_bert), add_pooling_layer=False).eval()
    plain.load_state_dict({k.removeprefix("encoder."): v for k, v in state.items()
                           if k.startswith("encoder.")})  # fmt: skip
    assert {"classifier.weight", "classifier.bias", "domain_bias"} <= set(state)
    with torch.no_grad():
        want = net.encoder(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                           token_type_ids=b["token_type_ids"]).last_hidden_state  # fmt: skip
        got = plain(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                    token_type_ids=b["token_type_ids"]).last_hidden_state  # fmt: skip
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
