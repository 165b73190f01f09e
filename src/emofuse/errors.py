"""Errors users see. The CLI turns them into one-line messages and exit codes."""

from __future__ import annotations


class EmofuseError(Exception):
    """Base class of every error emofuse raises on purpose."""

    exit_code = 1


class DataError(EmofuseError):
    """The input data is bad: missing, corrupt, empty, silent, undecodable (exit 1)."""

    exit_code = 1


class UsageError(EmofuseError):
    """The call itself is wrong: unknown option value, unsupported format (exit 2)."""

    exit_code = 2


class MissingExtraError(EmofuseError):
    """An optional dependency is not installed."""

    exit_code = 2

    def __init__(self, package: str, extra: str):
        super().__init__(f"{package} is not installed: pip install 'emofuse[{extra}]'")
