"""The encoder registry, config conversion and YAML round trip."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import yaml

from emofuse.encoders.base import (
    ENCODERS,
    Encoder,
    EncoderConfig,
    build_encoder,
    config_fingerprint,
    encoder_from_spec,
    encoder_names,
    encoder_spec,
    parse_set_options,
    register_encoder,
)
from emofuse.encoders.hf.text import HFTextConfig
from emofuse.errors import MissingExtraError, UsageError


@dataclass
class TinyConfig(EncoderConfig):
    width: int = 3
    scale: float = 1.0
    upper: bool = False
    tag: str | None = None
    sizes: list[int] = field(default_factory=lambda: [1, 2])
    batch_size: int = 8


@pytest.fixture
def tiny():
    @register_encoder("tiny_test", TinyConfig)
    class Tiny:
        modality = "text"

        def __init__(self, config):
            self.config = config

        @property
        def dim(self):
            return self.config.width

        def encode(self, batch):
            return np.full((len(batch), self.dim), self.config.scale, dtype=np.float32)

        def fingerprint(self):
            return config_fingerprint(self.config, "tiny-v1")

    yield Tiny
    ENCODERS.unregister("tiny_test")


def test_third_party_registration_and_build(tiny):
    assert "tiny_test" in encoder_names() and "tiny_test" in encoder_names("text")
    assert "tiny_test" not in encoder_names("voice")
    enc = build_encoder("tiny_test", width="5", scale="0.5", upper="yes", tag="none")
    assert isinstance(enc, Encoder) and enc.name == "tiny_test"
    assert enc.config == TinyConfig(width=5, scale=0.5, upper=True, tag=None)
    assert enc.encode(["a", "b"]).shape == (2, 5)
    assert build_encoder("tiny_test", sizes="3,4").config.sizes == [3, 4]
    assert build_encoder("tiny_test", {"width": 2}, scale=2).config == TinyConfig(2, 2.0)


def test_conversion_errors(tiny):
    with pytest.raises(UsageError, match="no field"):
        build_encoder("tiny_test", depth=3)
    with pytest.raises(UsageError, match="width"):
        build_encoder("tiny_test", width="wide")
    with pytest.raises(UsageError, match="boolean"):
        build_encoder("tiny_test", upper="maybe")
    with pytest.raises(UsageError, match="unknown encoder 'nope'"):
        build_encoder("nope")
    with pytest.raises(UsageError, match="not one of"):
        build_encoder("hf_text", pooling="max")
    with pytest.raises(TypeError, match="modality"):
        register_encoder("bad", TinyConfig)(type("Bad", (), {"modality": "smell"}))


def test_minilm_batch_size_string_is_converted():
    enc = build_encoder("minilm", batch_size="8")
    assert enc.config.batch_size == 8 and isinstance(enc.config.batch_size, int)
    assert enc.dim == 384 and enc.modality == "text"


def test_yaml_and_spec_round_trip(tiny):
    cfg = HFTextConfig(model="some/folder", pooling="cls", layer=-2, normalize=True)
    text = cfg.to_yaml()
    assert yaml.safe_load(text)["pooling"] == "cls"
    assert HFTextConfig.from_yaml(text) == cfg
    assert HFTextConfig.from_dict(cfg.to_dict()) == cfg
    enc = build_encoder("tiny_test", width=4, tag="x")
    spec = yaml.safe_load(yaml.safe_dump(encoder_spec(enc)))
    again = encoder_from_spec(spec)
    assert again.config == enc.config and again.fingerprint() == enc.fingerprint()


def test_fingerprint_ignores_runtime_fields(tiny):
    a = build_encoder("tiny_test", batch_size=1).fingerprint()
    assert a == build_encoder("tiny_test", batch_size=64).fingerprint()
    assert a != build_encoder("tiny_test", width=4).fingerprint()


def test_every_builtin_is_registered_with_a_modality():
    names = set(encoder_names())
    assert {"minilm", "logmel_stats", "default_face", "default_voice"} <= names
    assert {"hf_text", "hf_speech", "hf_image", "hf_video", "clip_zeroshot"} <= names
    assert {"egemaps", "compare"} <= names


def test_parse_set_options():
    assert parse_set_options(["layer=3", "template=a=b"]) == {"layer": "3", "template": "a=b"}
    with pytest.raises(UsageError):
        parse_set_options(["layer"])


def test_opensmile_without_the_extra_names_it():
    pytest.importorskip("emofuse")
    try:
        import opensmile  # noqa: F401

        pytest.skip("opensmile is installed")
    except ImportError:
        pass
    enc = build_encoder("egemaps")
    with pytest.raises(MissingExtraError, match=r"emofuse\[opensmile\]"):
        enc.encode([np.zeros(16000, "float32")])


def test_encoders_listing():
    from emofuse.encoders.listing import encoder_rows, encoders_text

    rows = {name: (modality, dim) for name, modality, dim in encoder_rows()}
    assert rows["logmel_stats"] == ("voice", "128")
    assert rows["minilm"] == ("text", "384")
    assert rows["clip_zeroshot"] == ("video", "7")
    assert encoders_text().splitlines()[0].split() == ["name", "modality", "dim"]
