"""Generated corpora (once per session) and a helper that runs a recipe on them quickly."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.experiments import Recipe, run_experiment
from tests.experiments.corpora import write_all

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
#: MiniLM costs ~9 s to import; the smoke tests read texts with a small fitted TF-IDF
TFIDF = "{name: tfidf, config: {min_df: 1}}"


@pytest.fixture(scope="session")
def corpora(tmp_path_factory) -> Path:
    return write_all(tmp_path_factory.mktemp("corpora"))


@pytest.fixture()
def run_recipe(corpora, tmp_path):
    """``run_recipe(name, {"protocol.k": "3"}, run="run")`` -> ``(metrics, run_dir)``."""

    def run(name: str, overrides: dict[str, str] | None = None, run: str = "run"):
        recipe = load(name, corpora, tmp_path, overrides)
        return run_experiment(recipe, tmp_path / run, progress=False), tmp_path / run

    return run


def load(name: str, corpora: Path, tmp_path: Path, overrides: dict | None = None) -> Recipe:
    base = {"data_root": str(corpora), "cache": str(tmp_path / "cache"), "report.bootstrap": "50"}
    return Recipe.read(RECIPES / f"{name}.yaml", {**base, **(overrides or {})})
