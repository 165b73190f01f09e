"""The recipe's report pieces: the TF-IDF branch (reused on a rerun) and the baseline."""

from __future__ import annotations

from emofuse.train.text_data import load_text_corpora
from emofuse.train.text_finetune import FinetuneSettings
from emofuse.train.text_finetune_data import prepare_rows
from emofuse.train.text_finetune_report import fit_lexical, logreg_baseline
from tests.train.test_text_data import StoreEncoder
from tests.train.test_text_finetune import TINY, data_root  # noqa: F401  (module fixture)


def test_lexical_branch_is_fitted_once(data_root, tmp_path, monkeypatch):  # noqa: F811
    rows = prepare_rows(load_text_corpora(data_root), FinetuneSettings(**TINY))
    monkeypatch.setattr("emofuse.train.text_finetune_report.FIT_OPTIONS", {"min_df": 1})
    first = fit_lexical(rows, tmp_path)
    assert (tmp_path / "lexical" / "lexical.json").is_file()
    assert first.logits(["so happy"]).shape == (1, 7)
    monkeypatch.setattr("emofuse.models.text_lexical.LexicalModel.fit", None)  # not called again
    assert fit_lexical(rows, tmp_path).vocabulary == first.vocabulary


def test_baseline_selects_on_the_holdout_and_scores_dev(data_root, tmp_path):  # noqa: F811
    df = load_text_corpora(data_root)
    rows = prepare_rows(df, FinetuneSettings(**TINY))
    encoder = StoreEncoder()
    out = logreg_baseline(df, rows, tmp_path, encoder)
    for k in ("meld", "goemotions"):
        assert len(out[k]["holdout_grid"]) == 8 and out[k]["selected"] in out[k]["holdout_grid"]
        assert out[k]["dev"]["n"] == {"meld": 14, "goemotions": 12}[k]
    calls = encoder.calls
    logreg_baseline(df, rows, tmp_path, encoder)
    assert encoder.calls == calls  # embeddings read back from the feature store
