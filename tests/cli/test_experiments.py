"""``emofuse train`` and ``emofuse evaluate`` end to end on generated corpora."""

from __future__ import annotations

from typer.testing import CliRunner

from emofuse.cli import app
from tests.experiments.conftest import RECIPES, corpora  # noqa: F401  (fixture)

runner = CliRunner()


def test_train_then_evaluate(corpora, tmp_path):  # noqa: F811
    run = tmp_path / "run"
    args = ["train", str(RECIPES / "iemocap_loso.yaml"), "-o", str(run), "--data", str(corpora),
            "--set", "features.text={name: tfidf, config: {min_df: 1}}",
            "--set", "fusion=[late_mean]", "--set", "classifiers=[logreg]",
            "--set", f"cache={tmp_path / 'cache'}", "--set", "report.bootstrap=20"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "late_mean" in res.stdout and "report.html" in res.stdout
    assert (run / "report.html").is_file()
    res = runner.invoke(app, ["evaluate", str(run), str(run / "manifest.jsonl")])
    assert res.exit_code == 0, res.output
    assert "voice/logreg" in res.stdout and "uar" in res.stdout


def test_errors_are_one_line(tmp_path):
    res = runner.invoke(app, ["train", str(tmp_path / "none.yaml"), "-o", str(tmp_path / "r")])
    assert res.exit_code == 1 and "recipe not found" in res.output
    res = runner.invoke(
        app, ["train", str(RECIPES / "meld_text.yaml"), "-o", str(tmp_path), "--set", "oops"]
    )
    assert res.exit_code == 2 and "key=value" in res.output
    res = runner.invoke(app, ["evaluate", str(tmp_path), str(tmp_path / "m.jsonl")])
    assert res.exit_code == 2 and "not a finished run" in " ".join(res.output.split())
