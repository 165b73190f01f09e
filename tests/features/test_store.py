"""Feature store and extract: cache keys, reuse, failures, kill -9 resume, order."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from emofuse.data.manifest import Manifest
from emofuse.encoders.base import EncoderConfig, build_encoder, config_fingerprint, register_encoder
from emofuse.features import FeatureStore, extract, load_features

ROOT = Path(__file__).resolve().parents[2]
#: a subprocess imports this checkout's emofuse and tests, not an installed copy
SUBPROCESS_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


@dataclass
class ToyConfig(EncoderConfig):
    dim: int = 4
    scale: float = 1.0
    sleep: float = 0.0  # seconds per batch, to make a run slow enough to kill
    batch_size: int = 8  # a runtime field: not in the key


class _Toy:
    def __init__(self, config: ToyConfig):
        self.config = config

    @property
    def dim(self) -> int:
        return self.config.dim

    def fingerprint(self) -> str:
        return config_fingerprint(self.config, "toy-weights-v1")

    def encode(self, batch: list) -> np.ndarray:
        time.sleep(self.config.sleep)
        rows = []
        for item in batch:
            digest = hashlib.sha256(_bytes(item)).digest()
            rows.append(np.frombuffer(digest[: self.dim], np.uint8) / 255.0 * self.config.scale)
        return np.asarray(rows, dtype=np.float32).reshape(len(batch), self.dim)

    def encode_sequence(self, batch: list) -> list[np.ndarray]:
        """A ragged sequence per item: one row per word (text) or per 0.05 s (audio)."""
        time.sleep(self.config.sleep)
        out = []
        for item in batch:
            n = len(item.split()) if isinstance(item, str) else max(1, len(item) // 800)
            rng = np.random.default_rng(list(hashlib.sha256(_bytes(item)).digest()))
            out.append(rng.random((n, self.dim), dtype=np.float32) * self.config.scale)
        return out


def _bytes(item) -> bytes:
    return item.encode() if isinstance(item, str) else np.asarray(item).tobytes()


@register_encoder("toy_text", ToyConfig)
class ToyText(_Toy):
    modality = "text"


@register_encoder("toy_voice", ToyConfig)
class ToyVoice(_Toy):
    modality = "voice"


def write_wav(path: Path, seed: int, seconds: float = 0.2) -> None:
    rng = np.random.default_rng(seed)
    pcm = (rng.uniform(-0.5, 0.5, int(16000 * seconds)) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())


def text_manifest(n: int = 12) -> Manifest:
    return Manifest.from_records(
        [{"id": f"t{i:02d}", "corpus": "toy", "text": f"sentence number {i}"} for i in range(n)]
    )


def voice_manifest(tmp_path: Path, n: int = 6, corrupt: bool = False) -> Manifest:
    rows = []
    for i in range(n):
        write_wav(tmp_path / f"a{i}.wav", seed=i)
        rows.append({"id": f"a{i}", "corpus": "toy", "audio": f"a{i}.wav"})
    if corrupt:
        (tmp_path / "bad.wav").write_bytes(b"RIFF not really a wav file")
        rows.insert(2, {"id": "bad", "corpus": "toy", "audio": "bad.wav"})
        rows.append({"id": "gone", "corpus": "toy", "audio": "missing.wav"})
    return Manifest.from_records(rows, root=tmp_path)


def run(manifest, store, **kw):
    kw.setdefault("workers", 0)
    kw.setdefault("progress", False)
    enc = build_encoder(kw.pop("encoder", "toy_text"), **kw.pop("config", {}))
    return extract(manifest, enc, store, **kw)


def test_extract_then_rerun_computes_nothing(tmp_path):
    m = text_manifest()
    first = run(m, tmp_path / "s", batch_size=5)
    assert (first.computed, first.cached, first.failed) == (12, 0, 0)
    shards = list((tmp_path / "s" / "shards").glob("*.npz"))
    assert len(shards) == 3  # one per batch
    again = run(m, tmp_path / "s", batch_size=5)
    assert (again.computed, again.cached, again.failed) == (0, 12, 0)


def test_runtime_knobs_reuse_config_changes_recompute(tmp_path):
    m = text_manifest()
    run(m, tmp_path / "s", batch_size=4)
    other_batch = run(m, tmp_path / "s", batch_size=7, config={"batch_size": 3})
    assert (other_batch.computed, other_batch.cached) == (0, 12)
    new_config = run(m, tmp_path / "s", batch_size=4, config={"scale": 2.0})
    assert (new_config.computed, new_config.cached) == (12, 0)
    _, x = load_features(tmp_path / "s")
    assert x.max() > 1.0  # the last extract (scale 2) is what load_features returns


def test_content_change_recomputes_only_that_item(tmp_path):
    m = text_manifest(4)
    run(m, tmp_path / "s")
    m.frame.loc[1, "text"] = "an edited sentence"
    s = run(m, tmp_path / "s")
    assert (s.computed, s.cached) == (1, 3)


def test_corrupt_media_recorded_rest_succeed(tmp_path):
    m = voice_manifest(tmp_path, corrupt=True)
    s = run(m, tmp_path / "s", encoder="toy_voice", batch_size=3)
    assert (s.computed, s.failed) == (6, 2)
    assert set(s.errors) == {"bad", "gone"}
    assert "decode" in s.errors["bad"] and "missing.wav" in s.errors["gone"]
    ids, x = load_features(tmp_path / "s")
    assert ids == [f"a{i}" for i in range(6)] and x.shape == (6, 4)
    assert set(FeatureStore(tmp_path / "s").failures()) == {"bad", "gone"}
    again = run(m, tmp_path / "s", encoder="toy_voice", batch_size=3)
    assert (again.computed, again.cached, again.failed) == (0, 6, 2)


def test_load_features_manifest_order(tmp_path):
    m = text_manifest(6)
    run(m, tmp_path / "s", batch_size=4)
    shuffled = Manifest.from_frame(m.frame.iloc[[5, 0, 3, 1, 4, 2]])
    s = run(shuffled, tmp_path / "s", batch_size=4)
    assert s.cached == 6
    ids, x = load_features(tmp_path / "s")
    assert ids == ["t05", "t00", "t03", "t01", "t04", "t02"]
    ref = build_encoder("toy_text").encode(list(shuffled.frame["text"]))
    np.testing.assert_array_equal(x, ref)


def test_kill_9_mid_run_then_resume(tmp_path):
    n = 12
    manifest = tmp_path / "m.jsonl"
    text_manifest(n).write(manifest)
    store = tmp_path / "s"
    script = (
        "from tests.features.test_store import run; from emofuse.data.manifest import Manifest; "
        f"run(Manifest.read({str(manifest)!r}), {str(store)!r}, batch_size=2, "
        "config={'sleep': 0.4})"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=SUBPROCESS_ENV)
    index = store / "index.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if index.is_file() and len(index.read_text().splitlines()) >= 4:  # >= 2 shards
            break
        assert proc.poll() is None, "the extraction ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_keys = {json.loads(line)["key"] for line in index.read_text().splitlines()}
    assert 4 <= len(done_keys) < n
    shards = store / "shards"
    (shards / ".00000000000000000001-dead.npz.tmp123").write_bytes(b"PK\x03\x04 half")
    with index.open("a") as f:
        f.write('{"id": "t11", "key": "torn')  # a torn last index line
    s = run(Manifest.read(manifest), store, batch_size=2, config={"sleep": 0.4})
    assert s.cached == len(done_keys)
    assert s.computed == n - len(done_keys) and s.failed == 0
    assert not [p for p in shards.iterdir() if p.name.startswith(".")]
    ids, x = load_features(store)
    assert ids == [f"t{i:02d}" for i in range(n)]
    fresh = run(text_manifest(n), tmp_path / "fresh", config={"sleep": 0.0})
    assert fresh.computed == n
    np.testing.assert_array_equal(x, load_features(tmp_path / "fresh")[1])


def test_unindexed_shard_is_rescanned(tmp_path):
    m = text_manifest(6)
    run(m, tmp_path / "s", batch_size=3)
    (tmp_path / "s" / "index.jsonl").write_text("")  # killed between shard and index
    s = run(m, tmp_path / "s", batch_size=3)
    assert (s.computed, s.cached) == (0, 6)


def test_cli_extract(tmp_path):
    from typer.testing import CliRunner

    from emofuse.cli import app

    text_manifest(5).write(tmp_path / "m.jsonl")
    args = ["extract", str(tmp_path / "m.jsonl"), "--encoder", "toy_text", "--set", "dim=3"]
    args += ["-o", str(tmp_path / "s"), "--workers", "0", "--batch-size", "2"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "5 computed, 0 cached, 0 failed" in res.output
    assert load_features(tmp_path / "s")[1].shape == (5, 3)
    bad = CliRunner().invoke(app, [*args[:4], "--set", "nope=1", *args[6:]])
    assert bad.exit_code == 2 and "nope" in bad.output


@pytest.mark.parametrize("engine", ["bogus"])
def test_unknown_engine(tmp_path, engine):
    from emofuse.errors import UsageError

    with pytest.raises(UsageError):
        run(text_manifest(2), tmp_path / "s", engine=engine)
