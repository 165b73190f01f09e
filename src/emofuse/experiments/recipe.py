"""The experiment recipe: a YAML file naming data, encoders, fusion, heads, protocol, metrics.

A recipe is plain data (:class:`Recipe`, a :class:`~emofuse.utils.config.Config`), so it
round-trips through YAML and takes dotted overrides from the command line::

    >>> r = Recipe.from_dict({"name": "x", "data": {"sources": [{"manifest": "m.jsonl"}]},
    ...                       "features": {"text": {"name": "minilm"}}})
    >>> r.protocol.name, r.classifiers
    ('group_kfold', ['logreg'])
    >>> apply_overrides(r.to_dict(), {"protocol.k": "3"})["protocol"]["k"]
    3

Relative paths (corpus roots, manifests) resolve under ``data_root`` (itself relative to
the current folder, like ``--data``; default: the recipe's folder); the resolved recipe is
what ``RUN_DIR/config.yaml`` records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from ..errors import DataError, UsageError
from ..evaluate.protocols import ProtocolConfig
from ..utils.config import Config

MAX_GRID = 500  # methods x classifiers: a bound on what a recipe can ask for


@dataclass
class SourceConfig(Config):
    """One corpus (``corpus`` + ``root`` folder) or a prepared ``manifest`` file.

    ``options`` go to the corpus preparer; ``splits`` keeps only these ``split`` values;
    ``limit`` keeps a seeded, label-stratified sample of at most that many items.
    """

    corpus: str | None = None
    root: str | None = None
    manifest: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    splits: list[str] | None = None
    limit: int | None = None


@dataclass
class DataConfig(Config):
    """Where the items come from: one or more sources, concatenated or paired.

    ``pair``: join 2-3 unimodal sources on the emotion (:func:`emofuse.data.pairing.
    pair_manifests`, person-disjoint ``pair_ratios``); otherwise sources are stacked (for
    leave-one-corpus-out). ``limit``: a seeded, label-stratified sample of the result.
    """

    sources: list[dict[str, Any]] = field(default_factory=list)
    pair: bool = False
    pair_ratios: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    limit: int | None = None
    seed: int = 0

    def source_configs(self) -> list[SourceConfig]:
        return [SourceConfig.from_dict(s) for s in self.sources]


@dataclass
class FeatureConfig(Config):
    """A feature set: a registered encoder and its config (``modality`` is the encoder's)."""

    name: str = ""
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReportConfig(Config):
    """``headline``: the metric tables rank by; ``bootstrap``: resamples of its 95% CI;
    ``classifier``: the one whose per-label and per-fold tables are shown (default: first);
    ``pca``: PCA scatter plots (at most ``pca_points`` points each)."""

    headline: str = "uar"
    bootstrap: int = 1000
    classifier: str | None = None
    pca: bool = True
    pca_points: int = 2000


@dataclass
class Recipe(Config):
    """A whole experiment; see ``recipes/*.yaml`` for commented examples.

    ``task``: ``classification`` (labels from ``label_column``, restricted to ``labels``
    when given) or ``regression`` (``targets`` columns, e.g. valence/arousal/dominance).
    ``features``: feature-set name -> encoder; each is a unimodal baseline with every
    head, and ``fusion`` methods combine them. ``classifiers``/``regressors``: head
    names (``params`` per name: keyword arguments). ``save_models``: ``final`` (one model
    per method and head, refit on every protocol item; the official protocol's train
    part), ``folds`` (also each fold's) or ``none``. ``cache``: the feature store's root;
    ``workers``/``batch_size``: extraction knobs; ``threads``: BLAS/OpenMP threads while
    fitting (``null``: the libraries' default). One thread is much faster for these small
    models on a busy machine (measured 10-25x on two shared cores: threads spin-wait).
    """

    name: str = "experiment"
    task: Literal["classification", "regression"] = "classification"
    data: DataConfig = field(default_factory=DataConfig)
    data_root: str | None = None
    label_column: str = "label_canonical"
    labels: list[str] | None = None
    targets: list[str] = field(default_factory=lambda: ["valence", "arousal", "dominance"])
    features: dict[str, dict[str, Any]] = field(default_factory=dict)
    fusion: list[str] = field(default_factory=list)
    fusion_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    classifiers: list[str] = field(default_factory=lambda: ["logreg"])
    regressors: list[str] = field(default_factory=lambda: ["ridge"])
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    save_models: Literal["final", "folds", "none"] = "final"
    cache: str = ".cache/emofuse/features"
    workers: int = 0
    batch_size: int = 32
    threads: int | None = 1

    NESTED: ClassVar[dict[str, type]] = {
        "data": DataConfig,
        "protocol": ProtocolConfig,
        "report": ReportConfig,
    }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Recipe:
        data = dict(data or {})
        for key, sub in cls.NESTED.items():
            value = data.get(key)
            if value is not None and not isinstance(value, (dict, sub)):
                raise UsageError(f"recipe.{key} must be a mapping, got {value!r}")
            if isinstance(value, dict):
                data[key] = sub.from_dict(value)
        recipe = super().from_dict(data)
        recipe.check()
        return recipe

    @classmethod
    def read(cls, path: str | Path, overrides: dict[str, str] | None = None) -> Recipe:
        """Read a YAML recipe, apply dotted ``overrides``; ``data_root`` defaults to its folder."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise DataError(f"recipe not found: {path}")
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise UsageError(f"malformed recipe {path}: {e}") from None
        if not isinstance(doc, dict):
            raise UsageError(f"malformed recipe {path}: expected a mapping at the top")
        doc = apply_overrides(doc, overrides or {})
        root = doc.get("data_root")
        base = Path(root).expanduser() if root is not None else path.resolve().parent
        doc["data_root"] = str(base.resolve())  # a relative data_root: from the current folder
        return cls.from_dict(doc)

    def check(self) -> None:
        if not self.features:
            raise UsageError("a recipe names at least one feature set under `features`")
        for name, spec in self.features.items():
            if not isinstance(spec, dict) or not spec.get("name"):
                raise UsageError(f"features.{name} needs an encoder `name` (and `config`)")
            FeatureConfig.from_dict(spec)
        clash = sorted(set(self.features) & set(self.fusion))
        if clash:
            raise UsageError(f"feature sets named like fusion methods: {clash}")
        if not self.data.sources:
            raise UsageError("a recipe names at least one data source under `data.sources`")
        for source in self.data.source_configs():
            if (source.manifest is None) == (source.corpus is None):
                raise UsageError(f"a data source has a `manifest` or a `corpus`: {source}")
        from ..classifiers.base import classifier_names, regressor_names
        from ..fusion.base import fusion_names

        heads = self.heads()
        if not heads:
            raise UsageError(f"no {self.task} heads named")
        known = classifier_names() if self.task == "classification" else regressor_names()
        unknown = [h for h in heads if h not in known] + [
            m for m in self.fusion if m not in fusion_names()
        ]
        if unknown:
            raise UsageError(f"unknown heads or fusion methods {unknown}; heads: {known}, "
                             f"fusion: {fusion_names()}")  # fmt: skip
        if len(self.methods()) * len(heads) > MAX_GRID:
            raise UsageError(f"at most {MAX_GRID} method x head runs per recipe")
        if self.task == "regression" and not self.targets:
            raise UsageError("a regression recipe names its `targets`")

    def heads(self) -> list[str]:
        """The classifiers (classification) or regressors (regression), de-duplicated."""
        return list(
            dict.fromkeys(self.classifiers if self.task == "classification" else self.regressors)
        )

    def methods(self) -> list[str]:
        """Unimodal baselines (named after their feature set) then the fusion methods."""
        return list(self.features) + list(dict.fromkeys(self.fusion))

    def feature_configs(self) -> dict[str, FeatureConfig]:
        return {k: FeatureConfig.from_dict(v) for k, v in self.features.items()}

    def reference_head(self) -> str:
        """The head whose per-label and per-fold tables the report shows."""
        name = self.report.classifier
        heads = self.heads()
        if name is not None and name not in heads:
            raise UsageError(f"report.classifier {name!r} is not one of the heads {heads}")
        return name or heads[0]

    def resolve(self, path: str | None) -> Path | None:
        """``path`` under ``data_root`` unless absolute."""
        if path is None:
            return None
        p = Path(path).expanduser()
        return p if p.is_absolute() or self.data_root is None else Path(self.data_root) / p

    def identity(self) -> dict[str, Any]:
        """What defines the items, features and folds (a resumed run must match it)."""
        d = self.to_dict()
        return {k: d[k] for k in ("task", "data", "data_root", "label_column", "labels",
                                  "targets", "features", "protocol")}  # fmt: skip


def apply_overrides(doc: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """``{"protocol.k": "3"}`` -> ``doc["protocol"]["k"] = "3"`` (YAML-parsed values)."""
    import copy

    import yaml

    doc = copy.deepcopy(doc)
    for key, value in overrides.items():
        parts = key.split(".")
        node = doc
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UsageError(f"cannot set {key}: {part} is not a mapping")
        try:
            node[parts[-1]] = yaml.safe_load(value) if isinstance(value, str) else value
        except yaml.YAMLError:
            node[parts[-1]] = value
    return doc


def head_params(recipe: Recipe, head: str) -> dict[str, Any]:
    return dict(recipe.params.get(head) or {})
