"""Atomic writes and the output check: one-line UsageErrors, never an OSError traceback."""

from __future__ import annotations

import numpy as np
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


def test_atomic_writer_publishes_only_a_finished_file(tmp_path):
    from emofuse.utils.io import atomic_writer

    path = tmp_path / "big.bin"
    with atomic_writer(path) as f:
        f.write(b"abc")
        assert not path.exists()  # nothing visible while writing
    assert path.read_bytes() == b"abc"
    with pytest.raises(RuntimeError), atomic_writer(path) as f:
        f.write(b"half")
        raise RuntimeError("killed")
    assert path.read_bytes() == b"abc" and [p.name for p in tmp_path.iterdir()] == ["big.bin"]


def test_array_bytes_keeps_fortran_ordered_arrays_intact():
    from safetensors.numpy import load

    from emofuse.utils.io import array_bytes

    a = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    back = load(array_bytes({"a": a, "b": np.arange(3)}))
    np.testing.assert_array_equal(back["a"], a)
    np.testing.assert_array_equal(back["b"], np.arange(3))
