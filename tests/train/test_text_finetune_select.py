"""Per-domain selection on the holdout: fast F1, logit bias, lexical weight, temperature."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.train.text_finetune_select import (
    ablations,
    choose_per_domain,
    crossfit_ece,
    f1_all_classes,
    holdout_scores,
    tune_bias,
)


def test_fast_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 6, 300)  # class 6 never occurs: it counts as 0 in the macro mean
    z = rng.normal(size=(300, 7))
    for avg in ("macro", "weighted"):
        want = f1_score(y, z.argmax(1), labels=list(range(7)), average=avg, zero_division=0)
        assert f1_all_classes(y, z, avg) == pytest.approx(want, abs=1e-12)


def _skewed(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 7, n)
    z = rng.normal(size=(n, 7)) + 3.0 * np.eye(7)[y]
    z[:, 0] += 2.5  # a prior that drowns the other classes
    return z, y


def test_tune_bias_and_crossfit_ece():
    from sklearn.metrics import f1_score

    z, y = _skewed()
    b = tune_bias(z, y, "macro")
    assert b[0] < 0
    assert f1_score(y, (z + b).argmax(1), average="macro") > f1_score(
        y, z.argmax(1), average="macro"
    )
    before, after = crossfit_ece(4.0 * z, y, np.arange(400))
    assert after < before
    assert crossfit_ece(z, y, np.zeros(400)) == (None, None)  # one group: nothing to cross-fit
    scores = holdout_scores({"meld": z, "goemotions": z}, {"meld": y, "goemotions": y})
    assert scores["meld"] >= scores["meld_raw"] and scores["objective"] == pytest.approx(
        (scores["meld"] + scores["goemotions"]) / 2, abs=1e-4
    )


def test_choose_per_domain_takes_the_lexical_branch_only_where_it_helps():
    z, y = _skewed()
    rng = np.random.default_rng(3)
    helpful = 4.0 * np.eye(7)[y] + rng.normal(size=z.shape)  # informative lexical logits
    logits = {"hold_meld": z, "hold_goemotions": z}
    lex = {"hold_meld": rng.normal(size=z.shape), "hold_goemotions": helpful}
    y_hold = {"meld": y, "goemotions": y}
    groups = {"meld": np.arange(400) // 4, "goemotions": np.arange(400)}
    choice, grids, calib = choose_per_domain(logits, lex, y_hold, groups)
    assert choice["text"]["lexical"] > 0 and set(grids) == {"dialogue", "text"}
    assert choice["dialogue"]["lexical"] <= choice["text"]["lexical"]
    assert all(c["temperature"] > 0 and len(c["bias"]) == 7 for c in choice.values())
    assert {"meld_holdout_crossfit", "goemotions_holdout_crossfit"} == set(calib)
    nolex, grids, _ = choose_per_domain(logits, {}, y_hold, groups)
    assert all(c["lexical"] == 0.0 for c in nolex.values()) and grids["text"].keys() == {"0.0"}
    dev = {**logits, "dev_meld": z, "dev_goemotions": z, "dev_meld_nocontext": z}
    lex |= {"dev_meld": lex["hold_meld"], "dev_goemotions": helpful}
    table = ablations(dev, lex, choice, y_hold, y_hold)
    assert set(table) == {"meld_weighted_f1", "goemotions_macro_f1"}
    assert "network + bias, MELD dev without context" in table["meld_weighted_f1"]
