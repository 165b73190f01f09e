"""Sequences in the store: ragged round trip, kinds, kill -9 resume, engines, padding."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import pytest

from emofuse.data.manifest import Manifest
from emofuse.encoders.base import ENCODERS, EncoderConfig, build_encoder, register_encoder
from emofuse.errors import DataError, UsageError
from emofuse.features import FeatureStore, load_features, load_sequences, pad_sequences
from tests.features.test_store import ROOT, SUBPROCESS_ENV, run, text_manifest, voice_manifest


def test_ragged_round_trip_both_kinds(tmp_path):
    m = text_manifest(9)
    s = run(m, tmp_path / "s", batch_size=4, kind="both")
    assert (s.computed, s.failed) == (9, 0)
    enc = build_encoder("toy_text")
    texts = list(m.frame["text"])
    ids, seqs = load_sequences(tmp_path / "s")
    assert ids == list(m.frame["id"])
    want = enc.encode_sequence(texts)
    assert [q.shape for q in seqs] == [w.shape for w in want] == [(3, 4)] * 9
    for got, ref in zip(seqs, want):
        np.testing.assert_array_equal(got, ref)
        assert got.dtype == np.float32 and got.flags.c_contiguous
    ids_x, x = load_features(tmp_path / "s")
    assert ids_x == ids
    np.testing.assert_array_equal(x, enc.encode(texts))
    with np.load(next((tmp_path / "s" / "shards").glob("*.npz"))) as z:
        assert {"x", "seq", "offsets"} <= set(z.files) and z["offsets"][0] == 0


def test_kinds_are_cached_separately(tmp_path):
    m = text_manifest(6)
    assert run(m, tmp_path / "s", kind="pooled").computed == 6
    seq = run(m, tmp_path / "s", kind="sequence")
    assert (seq.computed, seq.cached) == (6, 0)  # pooled vectors are not sequences
    both = run(m, tmp_path / "s", kind="both")
    assert (both.computed, both.cached) == (0, 6)
    run(m, tmp_path / "t", kind="sequence")
    with pytest.raises(DataError, match="stored sequence, not pooled: use load_sequences"):
        load_features(tmp_path / "t")
    run(m, tmp_path / "u", kind="pooled")
    with pytest.raises(DataError, match="stored pooled, not sequence: use load_features"):
        load_sequences(tmp_path / "u")
    with pytest.raises(UsageError, match="kind"):
        run(m, tmp_path / "v", kind="frames")


def test_variable_lengths_and_failures(tmp_path):
    m = voice_manifest(tmp_path, n=4, corrupt=True)
    m.frame.loc[m.frame["id"] == "a1", "end"] = 0.1  # a shorter segment: fewer rows
    s = run(m, tmp_path / "s", encoder="toy_voice", batch_size=3, kind="both")
    assert (s.computed, s.failed) == (4, 2)
    ids, seqs = load_sequences(tmp_path / "s")
    assert ids == ["a0", "a1", "a2", "a3"]
    assert [len(q) for q in seqs] == [4, 2, 4, 4]  # 0.2 s (0.1 s) at one row per 800 samples
    x, mask = pad_sequences(seqs)
    assert x.shape == (4, 4, 4) and mask.sum(1).tolist() == [4, 2, 4, 4]
    assert not x[1, 2:].any()


def test_encoder_without_sequences_is_refused(tmp_path):
    from emofuse.encoders.audio import LogMelStatsConfig

    @register_encoder("pooled_only", LogMelStatsConfig)
    class PooledOnly:
        modality = "text"
        dim = 2

        def __init__(self, config):
            self.config = config

        def encode(self, batch):
            return np.zeros((len(batch), 2), np.float32)

        def fingerprint(self):
            return "p"

    try:
        with pytest.raises(UsageError, match="encode_sequence"):
            run(text_manifest(2), tmp_path / "s", encoder="pooled_only", kind="sequence")
    finally:
        ENCODERS.unregister("pooled_only")


@dataclass
class BadConfig(EncoderConfig):
    pass


@register_encoder("bad_seq", BadConfig)
class BadSequences:
    """Returns a wrong-width sequence for texts containing 'bad'."""

    modality = "text"
    dim = 2

    def __init__(self, config):
        self.config = config

    def encode(self, batch):
        return np.ones((len(batch), 2), np.float32)

    def encode_sequence(self, batch):
        return [np.ones((2, 3 if "bad" in t else 2), np.float32) for t in batch]

    def fingerprint(self):
        return "b"


def test_a_bad_sequence_fails_its_item_only(tmp_path):
    m = Manifest.from_records(
        [{"id": str(i), "corpus": "x", "text": t} for i, t in enumerate(["ok", "bad", "fine"])]
    )
    s = run(m, tmp_path / "s", encoder="bad_seq", kind="sequence")
    assert (s.computed, s.failed) == (2, 1) and "(T >= 1, 2)" in s.errors["1"]
    assert load_sequences(tmp_path / "s")[0] == ["0", "2"]


def test_unindexed_sequence_shard_is_rescanned(tmp_path):
    m = text_manifest(5)
    run(m, tmp_path / "s", batch_size=2, kind="both")
    (tmp_path / "s" / "index.jsonl").write_text("")  # killed between shard and index
    store = FeatureStore(tmp_path / "s")
    assert len(store.locations["pooled"]) == len(store.locations["sequence"]) == 5
    s = run(m, tmp_path / "s", batch_size=2, kind="both")
    assert (s.computed, s.cached) == (0, 5)


def test_process_pool_equals_in_process(tmp_path):
    m = voice_manifest(tmp_path, n=5, corrupt=True)
    kw = {"encoder": "toy_voice", "batch_size": 2, "kind": "both"}
    inline = run(m, tmp_path / "inline", workers=0, **kw)
    pool = run(m, tmp_path / "pool", workers=2, **kw)
    assert (pool.computed, pool.failed) == (inline.computed, inline.failed) == (5, 2)
    ids_a, a = load_sequences(tmp_path / "inline")
    ids_b, b = load_sequences(tmp_path / "pool")
    assert ids_a == ids_b
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_kill_9_mid_run_then_resume_with_sequences(tmp_path):
    n = 12
    manifest = tmp_path / "m.jsonl"
    text_manifest(n).write(manifest)
    store = tmp_path / "s"
    script = (
        "from tests.features.test_store import run; from emofuse.data.manifest import Manifest; "
        f"run(Manifest.read({str(manifest)!r}), {str(store)!r}, batch_size=2, kind='both', "
        "config={'sleep': 0.2})"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=SUBPROCESS_ENV)
    index = store / "index.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # 2 lines per item (pooled + sequence): >= 2 shards
        if index.is_file() and len(index.read_text().splitlines()) >= 8:
            break
        assert proc.poll() is None, "the extraction ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines = [json.loads(line) for line in index.read_text().splitlines()]
    done = {e["key"] for e in lines if e.get("kind") == "sequence"}
    assert 4 <= len(done) < n
    s = run(Manifest.read(manifest), store, batch_size=2, kind="both", config={"sleep": 0.2})
    assert (s.cached, s.computed, s.failed) == (len(done), n - len(done), 0)
    assert run(text_manifest(n), tmp_path / "fresh", kind="both").computed == n
    ids, seqs = load_sequences(store)
    ids_f, fresh = load_sequences(tmp_path / "fresh")
    assert ids == ids_f == [f"t{i:02d}" for i in range(n)]
    for x, y in zip(seqs, fresh):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(load_features(store)[1], load_features(tmp_path / "fresh")[1])


def test_pad_sequences():
    a, b = np.arange(6, dtype=np.float32).reshape(3, 2), np.ones((1, 2), np.float32)
    x, mask = pad_sequences([a, b], value=-1.0)
    assert x.shape == (2, 3, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0], a)
    assert (x[1, 1:] == -1).all() and mask.tolist() == [[True] * 3, [True, False, False]]
    x, mask = pad_sequences([a, b], max_len=2)
    assert x.shape == (2, 2, 2) and mask[0].all()
    assert pad_sequences([])[0].shape == (0, 0, 0)
    with pytest.raises(DataError):
        pad_sequences([a, np.ones((2, 3))])


def test_cli_extract_sequences(tmp_path):
    from typer.testing import CliRunner

    from emofuse.cli import app

    text_manifest(4).write(tmp_path / "m.jsonl")
    args = ["extract", str(tmp_path / "m.jsonl"), "-e", "toy_text", "-o", str(tmp_path / "s")]
    res = CliRunner().invoke(app, [*args, "--workers", "0", "--kind", "sequence"])
    assert res.exit_code == 0 and "4 computed" in res.output, res.output
    assert [q.shape for q in load_sequences(tmp_path / "s")[1]] == [(3, 4)] * 4
    res = CliRunner().invoke(app, [*args, "--workers", "0", "--crop-faces"])
    assert res.exit_code == 2 and "crop_faces" in res.output
