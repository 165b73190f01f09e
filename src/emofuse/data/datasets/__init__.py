"""One module per corpus: ``prepare_<corpus>(root)`` returns a :class:`Manifest`.

Corpora are registered as ``"module:function"`` and imported only when prepared, so a
third party adds one without editing the core::

    >>> register_corpus("mycorpus", "mypkg.corpus:prepare_mycorpus")
    >>> "mycorpus" in CORPORA
    True
    >>> m = prepare("ravdess", "../shared/data/ravdess")   # doctest: +SKIP
    >>> len(m)                                              # doctest: +SKIP
    1200
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import UsageError
from ...utils.registry import Registry

if TYPE_CHECKING:
    from ..manifest import Manifest

_PKG = "emofuse.data.datasets"
#: corpus name -> ``"module:prepare_function"`` (imported when first prepared)
CORPORA = Registry(
    "corpus",
    {
        "ravdess": f"{_PKG}.ravdess:prepare_ravdess",
        "fer2013": f"{_PKG}.fer2013:prepare_fer2013",
        "meld": f"{_PKG}.meld:prepare_meld",
        "goemotions": f"{_PKG}.goemotions:prepare_goemotions",
        "cremad": f"{_PKG}.cremad:prepare_cremad",
        "iemocap": f"{_PKG}.iemocap:prepare_iemocap",
        "savee": f"{_PKG}.savee:prepare_savee",
        "emodb": f"{_PKG}.emodb:prepare_emodb",
        "emobank": f"{_PKG}.emobank:prepare_emobank",
        "folder": f"{_PKG}.folder:prepare_folder",
        "manifest": f"{_PKG}.user:prepare_user_manifest",
    },
    group="emofuse.corpora",
)


def register_corpus(name: str, target: str) -> None:
    """Register ``name`` -> ``"module:function"`` (the function takes ``root, **options``)."""
    if ":" not in target:
        raise UsageError(f"corpus target must be 'module:function', got {target!r}")
    CORPORA.add(name, target)


def preparer(corpus: str):
    """The ``prepare_<corpus>`` function registered for ``corpus`` (imported now)."""
    return CORPORA.get(corpus)


def prepare(corpus: str, root: str | Path, **options: Any) -> Manifest:
    """Prepare ``corpus`` found under ``root``; ``options`` go to its preparer."""
    return preparer(corpus)(root, **options)
