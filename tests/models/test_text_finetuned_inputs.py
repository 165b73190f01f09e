"""Texts + dialogue context -> word-piece items of the fine-tuned text network."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.errors import DataError, UsageError
from emofuse.models.text_base import load_tokenizer
from emofuse.models.text_finetuned_inputs import DOMAINS, encode_inputs, pad_items, read_context


def test_encode_inputs_truncates_and_types(tiny_bert):
    tok = load_tokenizer(tiny_bert)
    (ids, types, dom), (ids2, types2, dom2) = encode_inputs(
        tok, ["abcdef", "xy"], ["uvw", "ignored"], [1, 0], max_tokens=3, max_context_tokens=2
    )
    cls, sep = tok.cls_token_id, tok.sep_token_id
    assert ids[0] == cls and len(ids) == 1 + 3 + 1 + 2 + 1 and dom == 1
    assert types == [0] * 5 + [1] * 3
    assert tok.convert_ids_to_tokens(ids[5:7]) == ["##v", "##w"]  # the context keeps its end
    assert ids2 == [cls, *tok("xy", add_special_tokens=False)["input_ids"], sep] and dom2 == 0
    assert set(types2) == {0}
    # a dialogue item without a previous utterance still closes an empty segment B
    (ids3, types3, _), = encode_inputs(tok, ["ab"], [None], [1], 3, 2)  # fmt: skip
    assert ids3[-2:] == [sep, sep] and types3[-1] == 1


def test_the_tokenizers_library_alone_gives_the_same_items(tiny_bert):
    from tokenizers import Tokenizer

    rust = Tokenizer.from_file(str(tiny_bert / "tokenizer.json"))
    rust.no_truncation()
    rust.no_padding()
    texts, prev = ["So happy!!", "what NOW", "ok"], ["hello there", None, "a" * 40]
    args = (texts, prev, [1, 0, 1], 4, 3)
    assert encode_inputs(rust, *args) == encode_inputs(load_tokenizer(tiny_bert), *args)


def test_read_context_domains_and_the_last_utterance():
    norm, prev, dom = read_context(["I\x92m ok", "b"], [["first", "second", "  "], []])
    assert norm[0] == "I'm ok" and prev == ["second", None]
    assert dom == [DOMAINS.index("dialogue")] * 2
    assert read_context(["a"], None) == (["a"], [None], [DOMAINS.index("text")])
    # per text: None stands alone (a comment among utterances), a list is dialogue
    _, prev, dom = read_context(["a", "b", "c"], [None, [], ["x"]])
    assert prev == [None, None, "x"] and dom == [
        DOMAINS.index(d) for d in ("text", "dialogue", "dialogue")
    ]
    with pytest.raises(DataError, match="empty text"):
        read_context(["ok", " "], None)
    with pytest.raises(UsageError):
        read_context("one string", None)
    with pytest.raises(UsageError):
        read_context(["a", "b"], [["x"]])
    with pytest.raises(UsageError):
        read_context(["a"], ["not a list"])


def test_pad_items():
    b = pad_items([([2, 7, 3], [0, 0, 0], 0), ([2, 3, 9, 3], [0, 0, 1, 1], 1)], pad_id=0)
    assert b["input_ids"].tolist() == [[2, 7, 3, 0], [2, 3, 9, 3]]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]
    assert b["token_type_ids"][1].tolist() == [0, 0, 1, 1] and b["domain"].tolist() == [0, 1]
    assert all(v.dtype == np.int64 for v in b.values())
