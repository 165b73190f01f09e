"""The shared check of user-given numbers."""

from __future__ import annotations

import pytest

from emofuse.errors import UsageError
from emofuse.utils.checks import positive


def test_positive_accepts_finite_positive_numbers():
    assert positive("fps", 2) == 2.0 and positive("fps", "0.5") == 0.5
    assert positive("window", 0.3, minimum=0.3) == 0.3


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "nan", "abc", None, 10**400])
def test_positive_refuses_the_rest(bad):
    with pytest.raises(UsageError, match="fps must be a"):
        positive("fps", bad)


def test_positive_minimum():
    with pytest.raises(UsageError, match=r"window must be at least 0\.3, got 0\.1"):
        positive("window", 0.1, minimum=0.3)
