"""The fitted TF-IDF encoder: equals scikit-learn's TfidfVectorizer, refuses to run unfitted."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.encoders.base import build_encoder
from emofuse.encoders.tfidf import fit_tfidf
from emofuse.errors import DataError, UsageError
from emofuse.features import extract, load_features

TEXTS = ["so happy today", "so sad today", "happy happy day", "a sad day", "what a day"]


def test_matches_sklearn_tfidf(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer

    config = fit_tfidf(TEXTS, tmp_path / "state", min_df=1)
    enc = build_encoder("tfidf", config)
    ref = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(TEXTS)
    queries = ["happy day", "sad sad today", "unknown words"]
    want = ref.transform(queries).toarray()
    got = enc.encode(queries)
    assert got.shape == (3, len(ref.vocabulary_)) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert not got[2].any()  # no known term


def test_svd_state_and_fingerprint_follow_the_content(tmp_path):
    a = build_encoder("tfidf", fit_tfidf(TEXTS, tmp_path / "a", min_df=1, svd_dim=2))
    b = build_encoder("tfidf", fit_tfidf(TEXTS, tmp_path / "b", min_df=1, svd_dim=2))
    c = build_encoder("tfidf", fit_tfidf(TEXTS[:4], tmp_path / "c", min_df=1, svd_dim=2))
    assert a.dim == 2 and a.encode(["happy"]).shape == (1, 2)
    assert a.fingerprint() == b.fingerprint()  # same fit, another folder: same features
    assert a.fingerprint() != c.fingerprint()
    assert (tmp_path / "a" / "tfidf.safetensors").is_file()
    assert not list((tmp_path / "a").glob("*.pkl"))


def test_unfitted_or_missing_state_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="fitted"):
        build_encoder("tfidf").encode(["x"])
    with pytest.raises(DataError, match="no fitted tfidf state"):
        build_encoder("tfidf", state=str(tmp_path)).encode(["x"])
    with pytest.raises(DataError, match="cannot fit"):
        fit_tfidf(["", " "], tmp_path / "empty")


def test_goes_through_the_feature_store(tmp_path):
    from emofuse.data.manifest import Manifest

    m = Manifest.from_records(
        [{"id": f"t{i}", "corpus": "x", "text": t, "label": "neutral"} for i, t in enumerate(TEXTS)]
    )
    enc = build_encoder("tfidf", fit_tfidf(TEXTS, tmp_path / "s", min_df=1))
    first = extract(m, enc, tmp_path / "store", workers=0, progress=False)
    again = extract(m, enc, tmp_path / "store", workers=0, progress=False)
    assert (first.computed, again.cached) == (5, 5)
    _, x = load_features(tmp_path / "store")
    np.testing.assert_allclose(x, enc.encode(TEXTS))
