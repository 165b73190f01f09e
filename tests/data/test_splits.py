import numpy as np
import pandas as pd
import pytest

from emofuse.data.manifest import Manifest
from emofuse.data.splits import (
    check_leakage,
    group_kfold,
    leave_one_group_out,
    speaker_split,
)
from emofuse.errors import DataError
from emofuse.labels import CANONICAL


def corpus(speakers: int = 20, per_label: int = 4) -> Manifest:
    rows = [
        {"id": f"s{s:02d}-{lab}-{i}", "corpus": "gen", "label": lab, "label_canonical": lab,
         "speaker": f"s{s:02d}", "session": f"Ses0{s % 5 + 1}"}
        for s in range(speakers)
        for lab in CANONICAL
        for i in range(per_label)
    ]  # fmt: skip
    return Manifest.from_records(rows)


def parts_of(m: Manifest) -> dict[str, set[str]]:
    return {p: set(g["speaker"]) for p, g in m.frame.groupby("split")}


def test_speaker_split_is_disjoint_stratified_and_deterministic():
    m = speaker_split(corpus(), (0.8, 0.1, 0.1), seed=3)
    parts = parts_of(m)
    assert set(parts) == {"train", "validation", "test"}
    assert not (parts["train"] & parts["test"] or parts["train"] & parts["validation"])
    assert not parts["validation"] & parts["test"]
    share = m.frame["split"].value_counts(normalize=True)
    assert abs(share["train"] - 0.8) < 0.11 and share["test"] > 0.04
    table = pd.crosstab(m.frame["label_canonical"], m.frame["split"], normalize="columns")
    assert np.allclose(table.to_numpy(), 1 / len(CANONICAL), atol=0.05)  # labels balanced
    assert speaker_split(corpus(), seed=3).frame.equals(m.frame)
    assert check_leakage(m).empty


def test_group_kfold_covers_everything_once():
    folds = group_kfold(corpus(), k=4)
    tests = [set(te.frame["id"]) for _, te in folds]
    assert sum(len(t) for t in tests) == len(corpus()) and len(set().union(*tests)) == len(corpus())
    for tr, te in folds:
        assert not set(tr.frame["speaker"]) & set(te.frame["speaker"])


def test_leave_one_session_out():
    folds = leave_one_group_out(corpus(), "session")
    assert [name for name, _, _ in folds] == [f"Ses0{i}" for i in range(1, 6)]
    for name, tr, te in folds:
        assert set(te.frame["session"]) == {name} and name not in set(tr.frame["session"])
    assert len(leave_one_group_out(corpus(6), "speaker")) == 6


def test_leaking_split_is_refused_naming_speakers():
    f = corpus(4).frame.copy()
    f["split"] = np.where(np.arange(len(f)) % 2, "train", "test")
    f.loc[f["speaker"].isin(["s02", "s03"]), "split"] = "train"
    m = Manifest(f)
    with pytest.raises(DataError, match=r"speaker s00 in test,train.*speaker s01"):
        check_leakage(m)
    report = check_leakage(m, allow=True)
    assert report["person"].tolist() == ["s00", "s01"]
    assert set(report["parts"]) == {"test,train"}


def test_paired_person_columns_are_checked():
    f = corpus(2, 1).frame.copy()
    f["speaker_face"] = "same-face"
    f["split"] = ["train", "test"] * (len(f) // 2)
    f["speaker"] = None
    with pytest.raises(DataError, match="speaker_face same-face"):
        check_leakage(Manifest(f))


def test_bad_ratios():
    with pytest.raises(Exception, match="ratios"):
        speaker_split(corpus(), (0.5, 0.1))
