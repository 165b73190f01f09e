"""The architecture contract, checked on every registered architecture; and a third-party
architecture saved here, then loaded in a fresh process only when its package is trusted."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import pytest
import torch

from emofuse.errors import UsageError
from emofuse.models.artifact import META_FILE, ModelMeta, load_meta, load_model, save_model
from emofuse.models.registry import ARCHITECTURES, build
from emofuse.utils.registry import path_of
from tests.features.test_store import ROOT, SUBPROCESS_ENV

#: name -> example inputs for a built config (a new built-in architecture must add one)
EXAMPLES = {
    "face_cnn": lambda c: (torch.randn(2, 1, c.input_size, c.input_size),),
    "voice_cnn": lambda c: (torch.randn(2, 1, c.n_mels, 64), torch.tensor([64, 40])),
    "text_head": lambda c: (torch.randn(2, c.in_dim),),
    "crossmodal_attention": lambda c: ARCHITECTURES.get("crossmodal_attention").example_inputs(c),
    "biencoder": lambda c: ARCHITECTURES.get("biencoder").example_inputs(c),
    "realtime_av": lambda c: ARCHITECTURES.get("realtime_av").example_inputs(c),
}


def _batch_size(inputs) -> int:
    first = inputs[0]  # a tensor, or a dict of them (per modality, maybe nested)
    while isinstance(first, dict):
        first = next(iter(first.values()))
    return first.shape[0]


def _examples(name: str, config):
    if name in EXAMPLES:
        return EXAMPLES[name](config)
    cls = ARCHITECTURES.get(name)
    if not hasattr(cls, "example_inputs"):
        pytest.skip(f"{name}: give the class an example_inputs(config) to have it checked")
    return tuple(cls.example_inputs(config))


def test_every_builtin_architecture_is_checked():
    builtin = [n for n in ARCHITECTURES.names() if ARCHITECTURES.path(n).startswith("emofuse.")]
    assert builtin and set(builtin) <= set(EXAMPLES), set(builtin) - set(EXAMPLES)


@pytest.mark.parametrize("name", ARCHITECTURES.names())
def test_architecture_contract(name, tmp_path):
    torch.manual_seed(0)
    cls = ARCHITECTURES.get(name)
    assert dataclasses.is_dataclass(cls.Config) and cls.architecture == name
    config = cls.Config()
    plain = json.loads(json.dumps(dataclasses.asdict(config)))  # JSON-serialisable config
    assert cls.Config(**plain) == config
    net = build(name, plain).eval()
    assert isinstance(net, torch.nn.Module) and type(net) is cls
    inputs = _examples(name, config)
    with torch.inference_mode():
        out = net(*inputs)
        assert torch.isfinite(out).all() and out.shape[0] == _batch_size(inputs)
        assert torch.equal(out, net(*inputs))  # eval mode: deterministic
    meta = ModelMeta(f"contract-{name}", "test", name, plain, ["a", "b"])
    save_model(net, meta, tmp_path / "m")
    saved = load_meta(tmp_path / "m")
    assert saved.architecture == name and saved.architecture_path == path_of(cls)
    assert saved.architecture_path == ARCHITECTURES.path(name)
    art = load_model(tmp_path / "m", architecture=name)
    assert not art.module.training and art.meta.config == plain
    with torch.inference_mode():
        assert torch.equal(art.module(*inputs), out)


THIRD_PARTY = """
from dataclasses import dataclass

import torch

from emofuse.models.registry import register_architecture


@dataclass
class TinyConfig:
    width: int = 3
    n_classes: int = 2


@register_architecture("thirdpkg_tiny")
class Tiny(torch.nn.Module):
    Config = TinyConfig

    def __init__(self, config: TinyConfig):
        super().__init__()
        self.config = config
        self.net = torch.nn.Linear(config.width, config.n_classes)

    def forward(self, x):
        return self.net(x)
"""

FRESH = """
import json, sys
sys.path.insert(0, {pkg_root!r})
import torch
from emofuse.errors import UsageError
from emofuse.models.artifact import load_model

try:
    load_model({model!r})
    refused = ""
except UsageError as e:
    refused = str(e)
imported_when_refused = "thirdpkg_contract" in sys.modules
art = load_model({model!r}, trusted=["thirdpkg_contract"])
builtin = load_model({builtin!r})  # a registered architecture needs no trust
print(json.dumps({{
    "refused": refused,
    "imported_when_refused": imported_when_refused,
    "out": art.module(torch.ones(1, 4)).tolist(),
    "cls": type(art.module).__module__ + ":" + type(art.module).__qualname__,
    "builtin": builtin.meta.architecture,
}}))
"""


def test_third_party_architecture_loads_in_a_fresh_process_only_when_trusted(
    tmp_path, monkeypatch, tiny_models
):
    pkg = tmp_path / "pkgs" / "thirdpkg_contract"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(THIRD_PARTY))
    monkeypatch.syspath_prepend(str(pkg.parent))
    try:
        from thirdpkg_contract import Tiny, TinyConfig

        torch.manual_seed(0)
        net = Tiny(TinyConfig(width=4)).eval()
        meta = ModelMeta("third", "test", "thirdpkg_tiny", {"width": 4, "n_classes": 2}, ["a", "b"])
        save_model(net, meta, tmp_path / "model")
        with torch.inference_mode():
            want = net(torch.ones(1, 4)).tolist()
    finally:
        ARCHITECTURES.unregister("thirdpkg_tiny")
        sys.modules.pop("thirdpkg_contract", None)
    assert load_meta(tmp_path / "model").architecture_path == "thirdpkg_contract:Tiny"
    script = FRESH.format(
        pkg_root=str(pkg.parent), model=str(tmp_path / "model"), builtin=str(tiny_models / "face")
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=SUBPROCESS_ENV,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "unknown architecture 'thirdpkg_tiny'" in got["refused"]
    assert "trusted=['thirdpkg_contract']" in got["refused"]
    assert not got["imported_when_refused"]  # refused without importing the recorded path
    assert got["cls"] == "thirdpkg_contract:Tiny" and got["builtin"] == "face_cnn"
    assert got["out"][0] == pytest.approx(want[0], abs=1e-6)


def test_a_forged_architecture_path_is_never_imported(tmp_path, tiny_models):
    import shutil

    folder = shutil.copytree(tiny_models / "text", tmp_path / "forged")
    meta = json.loads((folder / META_FILE).read_text())
    meta.update(architecture="evil", architecture_path="os:system")
    (folder / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(UsageError, match="unknown architecture 'evil'"):
        load_model(folder)
    with pytest.raises(UsageError, match="unknown architecture 'evil'"):
        load_model(folder, trusted=["emofuse"])  # trusting another package does not help
