"""The recipe schema: YAML round trip, overrides, paths, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from emofuse.errors import DataError, UsageError
from emofuse.experiments.recipe import Recipe, apply_overrides
from tests.experiments.conftest import RECIPES

BASE = {
    "data": {"sources": [{"manifest": "m.jsonl"}]},
    "features": {"text": {"name": "minilm"}},
}


def test_every_committed_recipe_parses_and_round_trips():
    names = sorted(p.stem for p in RECIPES.glob("*.yaml"))
    assert names == ["av_corpus", "emobank_vad", "iemocap_loso", "meld_text", "paired_fusion"]
    for name in names:
        r = Recipe.read(RECIPES / f"{name}.yaml")
        assert Recipe.from_yaml(r.to_yaml()) == r
        assert Path(r.data_root).is_absolute()


def test_defaults_and_methods():
    r = Recipe.from_dict({**BASE, "fusion": ["late_mean", "late_mean"]})
    assert r.methods() == ["text", "late_mean"]
    assert r.heads() == ["logreg"] and r.reference_head() == "logreg"
    assert r.protocol.name == "group_kfold" and r.protocol.k == 5


def test_overrides_are_yaml_values_at_dotted_paths(tmp_path):
    doc = apply_overrides({"protocol": {"k": 5}}, {"protocol.k": "3", "fusion": "[late_mean]"})
    assert doc == {"protocol": {"k": 3}, "fusion": ["late_mean"]}
    path = tmp_path / "r.yaml"
    path.write_text("features: {text: {name: minilm}}\ndata: {sources: [{manifest: m.jsonl}]}\n")
    r = Recipe.read(path, {"classifiers": "[mlp, logreg]"})
    assert r.classifiers == ["mlp", "logreg"]
    assert r.data_root == str(tmp_path.resolve())  # default: the recipe's folder
    assert r.resolve("m.jsonl") == tmp_path.resolve() / "m.jsonl"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features": {}}, "at least one feature set"),
        ({"features": {"text": {}}}, "encoder `name`"),
        ({"data": {"sources": []}}, "at least one data source"),
        ({"data": {"sources": [{"corpus": "x", "manifest": "m"}]}}, "`manifest` or a `corpus`"),
        ({"fusion": ["late_magic"]}, "late_magic"),
        ({"classifiers": ["svm9000"]}, "svm9000"),
        ({"fusion": ["late_mean"], "features": {"late_mean": {"name": "minilm"}}}, "named like"),
        ({"protocol": {"name": "random"}}, "random"),
        ({"task": "ranking"}, "ranking"),
        ({"colour": "red"}, "colour"),
        ({"protocol": 3}, "mapping"),
    ],
)
def test_bad_recipes_are_usage_errors(change, message):
    with pytest.raises(UsageError, match=message):
        Recipe.from_dict({**BASE, **change})


def test_file_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        Recipe.read(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("features: [unclosed\n")
    with pytest.raises(UsageError, match="malformed"):
        Recipe.read(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(UsageError, match="mapping"):
        Recipe.read(tmp_path / "list.yaml")
