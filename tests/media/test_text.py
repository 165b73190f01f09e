"""Text normalisation and Unicode cleaning."""

from __future__ import annotations

from emofuse.media.text import clean_unicode, normalize_text


def test_lone_surrogates_become_replacement_characters():
    cleaned = clean_unicode("caf\udce9 \ud800ok")  # undecodable argv byte; JSON "\ud800"
    assert cleaned == "caf\ufffd \ufffdok"
    cleaned.encode("utf-8")  # encodable now
    assert clean_unicode("plain ☺") == "plain ☺" and clean_unicode(None) is None


def test_normalize_text_repairs_mojibake():
    assert normalize_text("I\x92m fine \u2026") == "I'm fine ..."
