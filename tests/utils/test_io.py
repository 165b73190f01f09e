"""Atomic writes and the output check: one-line UsageErrors, never an OSError traceback."""

from __future__ import annotations

import pytest

from emofuse.errors import UsageError
from emofuse.utils.io import check_output, write_atomic


def test_write_atomic_creates_parents(tmp_path):
    write_atomic(tmp_path / "a" / "b.txt", b"hi")
    assert (tmp_path / "a" / "b.txt").read_bytes() == b"hi"


def test_a_folder_is_not_an_output(tmp_path):
    with pytest.raises(UsageError, match="is a folder; give a file name"):
        check_output(tmp_path)
    with pytest.raises(UsageError, match="is a folder"):
        write_atomic(tmp_path, b"x")
    assert list(tmp_path.iterdir()) == []  # no stray temporary file


def test_output_under_a_file(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(UsageError, match="plain is not a folder"):
        write_atomic(tmp_path / "plain" / "out.json", b"{}")
