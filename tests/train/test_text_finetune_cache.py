"""The frozen blocks' hidden states, cached once: the top blocks on them equal the network."""

from __future__ import annotations

import numpy as np
import torch

from emofuse.models.text_base import load_tokenizer
from emofuse.models.text_finetuned_inputs import batched_logits
from emofuse.train.text_data import load_text_corpora
from emofuse.train.text_finetune import FinetuneSettings
from emofuse.train.text_finetune_cache import Feeder, load_arrays, save_arrays
from emofuse.train.text_finetune_data import eval_sets, make_items, prepare_rows
from tests.models.test_text_finetuned_net import tiny_net
from tests.train.test_text_finetune import TINY, data_root  # noqa: F401  (module fixture)


def test_arrays_round_trip(tmp_path):
    save_arrays(tmp_path / "a.npz", {"x": np.arange(3), "y": np.eye(2, dtype=np.float16)})
    got = load_arrays(tmp_path / "a.npz")
    assert got["x"].tolist() == [0, 1, 2] and got["y"].dtype == np.float16


def test_cached_bottom_blocks_give_the_network_logits(data_root, tiny_bert, tmp_path):  # noqa: F811
    s = FinetuneSettings(**TINY)
    rows = prepare_rows(load_text_corpora(data_root), s)
    net, tok = tiny_net(tiny_bert, frozen_layers=1), load_tokenizer(tiny_bert)
    hold = eval_sets(rows, rows["hold"])
    feeder = Feeder(net, tok, rows, hold, s, tmp_path, progress=False)
    cached = list(tmp_path.glob("hidden-*.npz"))
    assert len(cached) == 1
    z = feeder.holdout_logits()
    for k, idx in hold.items():  # float16 hidden states: close to the float32 network
        want = batched_logits(net, make_items(tok, rows, idx, net.config))
        np.testing.assert_allclose(z[k], want, atol=2e-3)
    idx = np.flatnonzero(rows["fit"] & rows["meld"])[:3]
    drop = np.array([True, False, True])
    with torch.no_grad():
        got = feeder.train_logits(idx, drop).numpy()
    want = batched_logits(net, make_items(tok, rows, idx, net.config, drop))
    np.testing.assert_allclose(got, want, atol=2e-3)
    again = Feeder(net, tok, rows, hold, s, tmp_path, progress=False)  # read, not recomputed
    assert np.array_equal(again.cache.hidden, feeder.cache.hidden)
    whole = Feeder(tiny_net(tiny_bert), tok, rows, hold, s, tmp_path / "x", progress=False)
    assert whole.cache is None and not (tmp_path / "x").exists()  # nothing frozen: no cache
