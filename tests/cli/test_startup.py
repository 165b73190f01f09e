"""Start-up stays light: what `emofuse --help`, `info` and `analyze --text` import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
MODEL_LIBRARIES = ("torch", "transformers", "sentence_transformers", "sklearn", "scipy")
MEDIA_LIBRARIES = ("av", "cv2", "pandas", "pyarrow")


def imported_after(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """Top-level modules loaded by running ``emofuse ARGS`` in a fresh interpreter."""
    code = (
        "import sys, json\n"
        "from emofuse.cli import app\n"
        f"sys.argv = ['emofuse', *{args!r}]\n"
        "try:\n"
        "    app(prog_name='emofuse')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('MODULES=' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    run_env = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=run_env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


@pytest.mark.parametrize("args", [["--help"], ["info"], ["analyze", "--help"]])
def test_help_and_info_import_no_model_or_media_library(args):
    loaded = imported_after(args)
    assert not loaded & {*MODEL_LIBRARIES, *MEDIA_LIBRARIES, "onnxruntime"}, loaded


def test_analyze_text_imports_no_torch_when_the_text_model_is_exported(tmp_path):
    from emofuse.models.bundled import find_text_export

    cache = os.environ.get("EMOFUSE_CACHE")
    if find_text_export() is None:
        pytest.skip("the text model is not exported here: run `emofuse export-onnx --only text`")
    env = {"EMOFUSE_CACHE": cache} if cache else None
    loaded = imported_after(["analyze", "--text", "What a day!", "--format", "json"], env)
    assert "onnxruntime" in loaded and "tokenizers" in loaded
    assert not loaded & {*MODEL_LIBRARIES, *MEDIA_LIBRARIES}, loaded


def test_analyze_video_imports_no_torch(tmp_path):
    """Face and voice run on their bundled ONNX exports: no torch, scipy or pandas."""
    from tests.fixtures import write_tiny_video

    clip = write_tiny_video(tmp_path / "c.mp4", seconds=2, speech=True)
    out = tmp_path / "r.json"
    args = ["analyze", str(clip), "--modalities", "face,voice", "--format", "json", "-o", str(out)]
    loaded = imported_after(args)
    assert json.loads(out.read_text())["segments"]
    assert {"av", "cv2", "onnxruntime"} <= loaded
    assert not loaded & {*MODEL_LIBRARIES, "pandas", "pyarrow"}, loaded
