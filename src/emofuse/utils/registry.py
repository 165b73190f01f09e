"""Lazy registries: a name resolves to ``"module:attr"``, imported only when asked for.

A base module lists its built-in implementations as strings, so it never imports them
(no import circles, no cost until used). Third-party packages add theirs in code
(``REGISTRY.register("mine", MyClass)``) or, without being imported first, through an
entry point in the group ``emofuse.<kind>s`` (e.g. ``emofuse.encoders``)::

    >>> reg = Registry("serializer", {"dumps": "json:dumps"})
    >>> reg.get("dumps")({"a": 1})
    '{"a": 1}'
    >>> reg.names()
    ['dumps']
    >>> reg.path("dumps")
    'json:dumps'

Paths are only ever taken from code (the built-in table, ``register``, installed entry
points) or from modules a caller explicitly trusts (:meth:`Registry.load_path`): never
imported just because a file names them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from ..errors import UsageError


def import_path(path: str) -> Any:
    """The object at ``"package.module:attr"`` (``attr`` may be dotted)."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"expected 'module:attr', got {path!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def path_of(obj: Any) -> str:
    """``"module:qualname"`` of a class or function (what :func:`import_path` reverses)."""
    return f"{obj.__module__}:{obj.__qualname__}"


class Registry:
    """Names -> objects, resolved lazily from ``"module:attr"`` strings."""

    def __init__(self, kind: str, builtins: dict[str, str] | None = None, group: str | None = None):
        self.kind = kind  # what one entry is, for messages: "encoder", "corpus", ...
        self.group = group or f"emofuse.{kind}s"  # the entry-point group of third parties
        self._paths: dict[str, str] = dict(builtins or {})
        self._objects: dict[str, Any] = {}
        self._entry_points_read = False

    def register(self, name: str, obj: Any) -> Any:
        """Register ``obj`` under ``name`` (replacing an earlier one); returns ``obj``."""
        self._objects[name] = obj
        self._paths[name] = path_of(obj)
        return obj

    def add(self, name: str, path: str) -> None:
        """Register ``name`` lazily as ``"module:attr"`` (imported on first :meth:`get`)."""
        self._objects.pop(name, None)
        self._paths[name] = path

    def unregister(self, name: str) -> None:
        """Forget ``name`` (a no-op when it is not registered)."""
        self._objects.pop(name, None)
        self._paths.pop(name, None)

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.group):
            self._paths.setdefault(ep.name, ep.value)

    def names(self) -> list[str]:
        self._read_entry_points()
        return sorted(self._paths)

    def __contains__(self, name: str) -> bool:
        self._read_entry_points()
        return name in self._paths

    def path(self, name: str) -> str:
        self._read_entry_points()
        try:
            return self._paths[name]
        except KeyError:
            known = ", ".join(sorted(self._paths))
            raise UsageError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def get(self, name: str) -> Any:
        """The object registered as ``name`` (imported now if it was registered lazily)."""
        if name not in self._objects:
            path = self.path(name)
            obj = import_path(path)
            # importing may have registered it (a decorator); keep what the module set
            self._objects.setdefault(name, obj)
        return self._objects[name]

    __getitem__ = get

    def load_path(self, name: str, path: str, trusted: Iterable[str] = ()) -> Any:
        """``get(name)``, or import ``path`` if its top-level package is in ``trusted``.

        For artefacts that record where their class lives: a model saved with a
        third-party architecture loads in a fresh process when the caller trusts that
        package; a path in a file is never imported otherwise.
        """
        if name in self:
            return self.get(name)
        top = path.partition(":")[0].split(".")[0]
        if top not in set(trusted):
            raise UsageError(
                f"unknown {self.kind} {name!r} (recorded as {path!r}); if you trust that "
                f"code, pass trusted=[{top!r}] or register it first"
            )
        self.add(name, path)
        return self.get(name)
