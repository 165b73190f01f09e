"""The lexical branch of the text model: TF-IDF word + character n-grams -> linear logits.

Trained with scikit-learn (``TfidfVectorizer(analyzer=analyze)`` + logistic regression),
stored without pickle: ``lexical.json`` (analyzer settings + the ordered vocabulary) and
``lexical.safetensors`` (``idf``, ``coef``, ``intercept``). Inference needs numpy only
(no scipy, no scikit-learn)::

    >>> lex = LexicalModel.load(folder)                     # doctest: +SKIP
    >>> lex.logits(["I love it!"]).shape                     # doctest: +SKIP
    (1, 7)
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..utils.io import array_bytes, write_atomic

JSON_FILE = "lexical.json"
WEIGHTS_FILE = "lexical.safetensors"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")


def analyze(text: str, char_min: int = 2, char_max: int = 4, word_ngrams: int = 2) -> list[str]:
    """Terms of ``text``: lower-cased words (``w:``), word bigrams (``b:``) and character
    n-grams of space-padded words (``c:``, like scikit-learn's ``char_wb``).

    >>> analyze("Oh no!", 3, 3)
    ['w:oh', 'w:no', 'w:!', 'b:oh no', 'b:no !', 'c: oh', 'c:oh ', 'c: no', 'c:no!', 'c:o! ']
    """
    t = " ".join(text.lower().split())
    toks = _WORD.findall(t)
    out = [f"w:{w}" for w in toks]
    if word_ngrams >= 2:
        out += [f"b:{a} {b}" for a, b in itertools.pairwise(toks)]
    if char_max > 0:
        for w in t.split():
            w = f" {w} "
            for n in range(char_min, char_max + 1):
                if len(w) < n:
                    break
                out += [f"c:{w[i : i + n]}" for i in range(len(w) - n + 1)]
    return out


@dataclass
class LexicalModel:
    """Sublinear TF-IDF (l2-normalised) over :func:`analyze` terms, then ``x @ coef.T + b``."""

    vocabulary: list[str]
    idf: np.ndarray  # (V,)
    coef: np.ndarray  # (n_classes, V)
    intercept: np.ndarray  # (n_classes,)
    settings: dict[str, int]

    def __post_init__(self) -> None:
        self._index = {t: i for i, t in enumerate(self.vocabulary)}

    @classmethod
    def fit(
        cls,
        texts: list[str],
        labels: np.ndarray,
        sample_weight: np.ndarray,
        *,
        c: float = 2.0,
        min_df: int = 3,
        max_features: int = 80_000,
        char_min: int = 2,
        char_max: int = 4,
        word_ngrams: int = 2,
        max_iter: int = 300,
    ) -> LexicalModel:
        """Fit vectoriser + multinomial logistic regression (scikit-learn) on label ids."""
        import warnings
        from functools import partial

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        settings = {"char_min": char_min, "char_max": char_max, "word_ngrams": word_ngrams}
        vec = TfidfVectorizer(
            analyzer=partial(analyze, **settings),
            sublinear_tf=True,
            min_df=min_df,
            max_features=max_features,
            dtype=np.float32,
        )
        x = vec.fit_transform(texts)
        lr = LogisticRegression(C=c, max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            lr.fit(x, labels, sample_weight=sample_weight)
        n_classes = int(labels.max()) + 1 if len(lr.classes_) else 0
        coef = np.zeros((max(n_classes, 7), x.shape[1]), dtype=np.float32)
        intercept = np.full(coef.shape[0], -30.0, dtype=np.float32)  # unseen classes
        if len(lr.classes_) == 2:  # binary: scikit-learn keeps one row
            coef[lr.classes_[1]], intercept[lr.classes_[1]] = lr.coef_[0], lr.intercept_[0]
            coef[lr.classes_[0]], intercept[lr.classes_[0]] = 0.0, 0.0
        else:
            coef[lr.classes_], intercept[lr.classes_] = lr.coef_, lr.intercept_
        vocab = [""] * len(vec.vocabulary_)
        for term, i in vec.vocabulary_.items():
            vocab[i] = term
        return cls(vocab, vec.idf_.astype(np.float32), coef, intercept, settings)

    def _rows(self, texts: list[str]):
        """Per text: the vocabulary columns it hits and their l2-normalised TF-IDF values."""
        for text in texts:
            counts: dict[int, int] = {}
            for term in analyze(text, **self.settings):
                j = self._index.get(term)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            v = tf * self.idf[cols]
            norm = np.sqrt((v**2).sum())
            yield cols, (v / norm if norm > 0 else v)

    def features(self, texts: list[str]):
        """``(N, V)`` scipy CSR TF-IDF matrix (same as the fitted scikit-learn vectoriser)."""
        from scipy.sparse import csr_matrix

        indptr, indices, values = [0], [], []
        for cols, v in self._rows(texts):
            indices.append(cols)
            values.append(v)
            indptr.append(indptr[-1] + len(cols))
        return csr_matrix(
            (
                np.concatenate(values) if values else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
                indptr,
            ),
            shape=(len(texts), len(self.vocabulary)),
        )

    def logits(self, texts: list[str]) -> np.ndarray:
        """``(N, n_classes)`` float32 logits (numpy only: no scipy at inference)."""
        out = np.tile(self.intercept.astype(np.float64), (len(texts), 1))
        for i, (cols, v) in enumerate(self._rows(texts)):
            out[i] += self.coef[:, cols].astype(np.float64) @ v
        return out.astype(np.float32)

    def save(self, directory: str | Path) -> None:

        directory = Path(directory)
        tensors = {
            "idf": self.idf.astype(np.float32),
            "coef": self.coef.astype(np.float32),
            "intercept": self.intercept.astype(np.float32),
        }
        write_atomic(directory / WEIGHTS_FILE, array_bytes(tensors))
        doc = {
            "format": "emofuse-lexical-1",
            "settings": self.settings,
            "vocabulary": self.vocabulary,
        }
        write_atomic(directory / JSON_FILE, json.dumps(doc, ensure_ascii=False).encode())

    @classmethod
    def load(cls, directory: str | Path) -> LexicalModel:
        from safetensors.numpy import load_file

        directory = Path(directory)
        try:
            doc: dict[str, Any] = json.loads((directory / JSON_FILE).read_text(encoding="utf-8"))
            w = load_file(str(directory / WEIGHTS_FILE))
        except (OSError, ValueError) as e:
            raise DataError(f"cannot read the lexical branch in {directory}: {e}") from None
        return cls(doc["vocabulary"], w["idf"], w["coef"], w["intercept"], doc["settings"])
