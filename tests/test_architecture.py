"""The house rules of the package layout: layers, no import circles, small files.

The import graph is read from the source (module-level and function-level imports both
count); every module is also imported for real, each time into an interpreter state
with no emofuse module loaded, so an import order that only breaks at run time shows.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "emofuse"
MAX_LINES = 400

#: lower layers never import higher ones; a layer may import itself and anything below
LAYERS: list[set[str]] = [
    {"_version", "errors", "labels", "utils"},
    {"media"},
    {"data"},
    {"encoders"},
    {"features"},
    {"models"},
    {"fusion", "classifiers"},
    {"evaluate", "train", "report", "experiments"},
    {"inference"},
    {"serve", "cli"},
    {"__init__", "__main__"},
]


def modules() -> dict[str, Path]:
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = list(f.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The emofuse modules ``name`` imports anywhere in its source."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            if node.level:
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            candidates = [mod] + [f"{mod}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        out |= {c for c in candidates if c in known and c != name}
    return out


def layer_of(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{module}: its folder {top!r} is in no layer of tests/test_architecture")


GRAPH = {m: imports(m, p, modules()) for m, p in modules().items()}


def test_every_module_is_in_a_layer():
    for module in GRAPH:
        layer_of(module)


def test_no_import_from_a_lower_layer_to_a_higher_one():
    bad = [
        f"{m} (layer {layer_of(m)}) imports {d} (layer {layer_of(d)})"
        for m, deps in GRAPH.items()
        for d in deps
        if layer_of(d) > layer_of(m)
    ]
    assert not bad, "\n".join(bad)


def test_no_import_circles():
    seen: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        seen.add(v)
        stack.append(v)
        for w in sorted(GRAPH[v]):
            if w in stack:
                cycles.append([*stack[stack.index(w) :], w])
            elif w not in seen:
                visit(w)
        stack.pop()

    for v in sorted(GRAPH):
        if v not in seen:
            visit(v)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles[:5])


def test_no_source_file_over_the_limit():
    long = {
        str(p.relative_to(SRC)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these at their seams (> {MAX_LINES} lines): {long}"


def test_base_modules_do_not_import_their_implementations():
    bases = {
        "emofuse.encoders.base": "emofuse.encoders.",
        "emofuse.models.registry": "emofuse.models.",
        "emofuse.data.datasets": "emofuse.data.datasets.",
    }
    for base, implementations in bases.items():
        imported = {d for d in GRAPH[base] if d.startswith(implementations)}
        assert not imported, f"{base} imports its implementations {imported}"


@pytest.mark.timeout(300)
def test_every_module_imports_on_its_own():
    script = (
        "import importlib, sys\n"
        f"names = {sorted(m for m in GRAPH if not m.endswith('__main__'))!r}\n"
        "failed = []\n"
        "for name in names:\n"
        "    for m in [k for k in sys.modules if k == 'emofuse' or k.startswith('emofuse.')]:\n"
        "        del sys.modules[m]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as e:\n"
        "        if 'emofuse' in str(e) or 'circular' in str(e):\n"
        "            failed.append(f'{name}: {e}')\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=SRC.parent
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
