"""The Python examples in docs/*.md run as written (each as a module of its own)."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    out = []
    for page in sorted(DOCS.glob("*.md")):
        for k, code in enumerate(BLOCK.findall(page.read_text())):
            out.append((f"{page.stem}_{k}", code))
    return out


@pytest.mark.parametrize(("name", "code"), examples(), ids=[n for n, _ in examples()])
def test_doc_example_runs(name, code, tmp_path, monkeypatch):
    module = f"docs_example_{name}"
    (tmp_path / f"{module}.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        importlib.import_module(module)
    finally:
        sys.modules.pop(module, None)
    from emofuse.classifiers.base import CLASSIFIERS
    from emofuse.data.datasets import CORPORA
    from emofuse.encoders.base import ENCODERS
    from emofuse.fusion.base import FUSIONS
    from emofuse.models.registry import ARCHITECTURES

    for registry in (ENCODERS, ARCHITECTURES, CORPORA, CLASSIFIERS, FUSIONS):  # no toy left
        for toy in ("text_length", "tiny_head", "diary", "centroid", "late_max"):
            registry.unregister(toy)
