"""Cross-modal attention network: shapes, masks for padding and missing modalities, artefacts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from emofuse.errors import DataError, UsageError
from emofuse.labels import CANONICAL
from emofuse.models.artifact import ModelMeta, load_model, save_model
from emofuse.models.crossmodal import CrossModalAttention, CrossModalConfig, drop_modalities
from emofuse.models.registry import ARCHITECTURES

CONFIG = CrossModalConfig(
    modalities=["voice", "face", "text"], input_dims=[8, 5, 6], width=16, heads=2
)


def _net(config: CrossModalConfig = CONFIG) -> CrossModalAttention:
    torch.manual_seed(0)
    return CrossModalAttention(config).eval()


def _inputs(n: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = {
        "voice": torch.randn(n, 20, 8, generator=g),
        "face": torch.randn(n, 4, 5, generator=g),
        "text": torch.randn(n, 7, 6, generator=g),
    }
    return x, {m: torch.ones(v.shape[:2], dtype=torch.bool) for m, v in x.items()}


def test_registered_and_shapes():
    assert ARCHITECTURES["crossmodal_attention"] is CrossModalAttention
    x, valid = _inputs()
    assert _net()(x, valid).shape == (3, len(CANONICAL))
    pair = CrossModalConfig(modalities=["voice", "text"], input_dims=[8, 6], width=16, heads=2)
    assert len(_net(pair).cross) == 2  # co-attention: both directions
    assert len(_net().cross) == 6  # three modalities: the six ordered pairs (MulT)
    reg = CrossModalConfig(**{**CONFIG.__dict__, "task": "regression", "n_outputs": 3})
    assert _net(reg)(x, valid).shape == (3, 3)


def test_a_missing_modality_is_ignored_whatever_its_values():
    x, valid = _inputs()
    net = _net()
    valid["text"][:] = False
    with torch.inference_mode():
        base = net(x, valid)
        noisy = net({**x, "text": x["text"] * 1000 + 5}, valid)
        absent = net({m: x[m] for m in ("voice", "face")}, {m: valid[m] for m in ("voice", "face")})
        nan = net({**x, "text": torch.full_like(x["text"], float("nan"))})
    torch.testing.assert_close(base, noisy)
    torch.testing.assert_close(base, absent)
    torch.testing.assert_close(base, nan)  # NaN rows are missing too
    with torch.inference_mode():  # and it does matter when present
        assert not torch.allclose(net(x), base)


def test_padding_does_not_change_the_output():
    x, valid = _inputs()
    net = _net()
    padded = {m: torch.cat([v, torch.randn(3, 5, v.shape[2]) * 50], 1) for m, v in x.items()}
    pvalid = {m: torch.cat([v, torch.zeros(3, 5, dtype=torch.bool)], 1) for m, v in valid.items()}
    with torch.inference_mode():
        torch.testing.assert_close(net(padded, pvalid), net(x, valid), atol=1e-5, rtol=1e-5)


def test_modality_dropout_keeps_one_modality_per_item():
    torch.manual_seed(0)
    valid = {m: torch.ones(500, 3, dtype=torch.bool) for m in ("a", "b", "c")}
    valid["c"][:250] = False
    dropped = drop_modalities(valid, 0.9)
    present = torch.stack([v.any(1) for v in dropped.values()], 1)
    assert present.any(1).all() and (~present).any()
    assert not dropped["c"][:250].any()


def test_bad_inputs_are_clear_errors():
    net = _net()
    x, _ = _inputs()
    with pytest.raises(DataError, match="unknown modalities"):
        net({**x, "smell": x["text"]})
    with pytest.raises(DataError, match="expected"):
        net({**x, "text": torch.randn(3, 7, 9)})
    with pytest.raises(DataError, match="no modality"):
        net({})
    with pytest.raises(UsageError):
        CrossModalAttention(CrossModalConfig(modalities=["a"], input_dims=[1, 2]))


def test_save_load_round_trip_in_a_fresh_process(tmp_path):
    net = _net()
    meta = ModelMeta("att", "fusion", "crossmodal_attention", CONFIG.__dict__, list(CANONICAL))
    save_model(net, meta, tmp_path / "m")
    x, valid = _inputs()
    with torch.inference_mode():
        want = net(x, valid)
        torch.testing.assert_close(load_model(tmp_path / "m").module(x, valid), want)
    code = (
        "import sys, json, torch\n"
        "from emofuse.models.artifact import load_model\n"
        "net = load_model(sys.argv[1]).module\n"
        "g = torch.Generator().manual_seed(1)\n"
        "x = {'voice': torch.randn(2, 9, 8, generator=g),\n"
        "     'text': torch.randn(2, 3, 6, generator=g)}\n"
        "print(json.dumps(net(x).tolist()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "m")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    g = torch.Generator().manual_seed(1)
    x2 = {"voice": torch.randn(2, 9, 8, generator=g), "text": torch.randn(2, 3, 6, generator=g)}
    with torch.inference_mode():
        torch.testing.assert_close(torch.tensor(json.loads(out.stdout)), net(x2))
