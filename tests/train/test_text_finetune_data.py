"""The fine-tuning recipe's rows and epoch plans, on generated MELD + GoEmotions files."""

from __future__ import annotations

import numpy as np

from emofuse.models.text_finetuned_inputs import DOMAINS
from emofuse.train.text_data import load_text_corpora
from emofuse.train.text_finetune import FinetuneSettings
from emofuse.train.text_finetune_data import class_weights, epoch_batches, eval_sets, prepare_rows
from tests.train.test_text_finetune import TINY, data_root  # noqa: F401  (module fixture)


def test_rows_masks_context_and_domains(data_root):  # noqa: F811
    df = load_text_corpora(data_root)
    rows = prepare_rows(df, FinetuneSettings(**TINY))
    assert not (rows["fit"] & rows["hold"]).any() and not (rows["fit"] & rows["dev"]).any()
    meld = np.flatnonzero(rows["meld"])
    assert (rows["domain"][meld] == DOMAINS.index("dialogue")).all()
    assert (rows["domain"][~rows["meld"]] == DOMAINS.index("text")).all()
    assert all(p is None for i, p in enumerate(rows["previous"]) if not rows["meld"][i])
    dev = eval_sets(rows, rows["dev"])
    assert len(dev["meld"]) == 14 and len(dev["goemotions"]) == 12  # multi-label comments out
    single = FinetuneSettings(**{**TINY, "multilabel": "single"})
    assert (prepare_rows(df, single)["fit"] <= rows["fit"]).all()


def test_class_weights_have_mean_one_per_corpus(data_root):  # noqa: F811
    rows = prepare_rows(load_text_corpora(data_root), FinetuneSettings(**TINY))
    w = class_weights(rows, 0.5)
    for corpus in (rows["meld"], ~rows["meld"]):
        assert np.isclose(w[rows["fit"] & corpus].mean(), 1.0)
    assert (w[~rows["fit"]] == 1.0).all() and w[rows["fit"]].std() > 0
    assert np.allclose(class_weights(rows, 0.0)[rows["fit"]], 1.0)  # power 0: no weighting


def test_epoch_batches_are_deterministic_and_cover_meld(data_root):  # noqa: F811
    rows = prepare_rows(load_text_corpora(data_root), FinetuneSettings(**TINY))
    s = FinetuneSettings(**TINY)
    b0, b0_again, b1 = (epoch_batches(rows, s, e) for e in (0, 0, 1))
    assert [x.tolist() for x in b0] == [x.tolist() for x in b0_again]
    goemo = []
    for b in (b0, b1):
        chosen = np.concatenate(b)
        assert set(np.flatnonzero(rows["fit"] & rows["meld"])) <= set(chosen)
        assert (~rows["meld"][chosen]).sum() == 8 and rows["fit"][chosen].all()
        assert max(len(x) for x in b) == s.batch_size
        goemo.append(set(chosen[~rows["meld"][chosen]]))
    assert goemo[0] != goemo[1]  # the GoEmotions cycle moves on
