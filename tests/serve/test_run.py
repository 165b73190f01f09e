"""``emofuse serve``'s runner: the exposure warning and uvicorn's own limits."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("uvicorn")

from emofuse.serve import run as run_module


@pytest.fixture
def calls(monkeypatch, tiny_models):
    import uvicorn

    from emofuse.inference.recognizer import Recognizer

    seen = []
    monkeypatch.setattr(run_module, "load_recognizer", lambda m, b: Recognizer(tiny_models))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.append((app, kw)))
    return seen


def test_public_host_without_key_warns(calls, caplog):
    with caplog.at_level(logging.WARNING, logger="emofuse.serve"):
        run_module.run(host="0.0.0.0", port=8123)
    assert "serving on 0.0.0.0 without an API key" in caplog.text
    app, kw = calls[0]
    assert kw["host"] == "0.0.0.0" and kw["ws_max_size"] < 16 * 2**20 and kw["ws_max_queue"] <= 8
    assert kw["limit_concurrency"] > 0
    settings = app.state.settings
    assert "localhost:8123" in settings.allowed_hosts and settings.api_key is None


def test_loopback_or_key_does_not_warn(calls, caplog):
    with caplog.at_level(logging.WARNING, logger="emofuse.serve"):
        run_module.run(host="127.0.0.1", port=8123)
        run_module.run(host="0.0.0.0", port=8123, api_key="k", allow_hosts=["emo.example"])
    assert "without an API key" not in caplog.text
    settings = calls[1][0].state.settings
    assert settings.api_key == "k" and "emo.example" in settings.allowed_hosts


def test_cli_takes_the_key_from_the_environment(monkeypatch):
    from typer.testing import CliRunner

    from emofuse.cli import app

    seen = []
    monkeypatch.setattr(run_module, "run", lambda **kw: seen.append(kw))
    res = CliRunner().invoke(app, ["serve", "--allow-host", "a.example"],
                             env={"EMOFUSE_API_KEY": "from-env"})  # fmt: skip
    assert res.exit_code == 0, res.output
    assert seen[0]["api_key"] == "from-env" and seen[0]["allow_hosts"] == ["a.example"]
