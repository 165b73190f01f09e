"""Protocols: folds cover the data, keep groups on one side, and refuse leaking persons."""

from __future__ import annotations

import numpy as np
import pytest

from emofuse.data.manifest import Manifest
from emofuse.errors import DataError, UsageError
from emofuse.evaluate.protocols import Fold, ProtocolConfig, check_fold, make_folds
from emofuse.labels import CANONICAL


def manifest(n_speakers: int = 10, per: int = 6, **extra_cols) -> Manifest:
    rows = []
    for s in range(n_speakers):
        for i in range(per):
            rows.append(
                {
                    "id": f"s{s}-{i}",
                    "corpus": "c" if s % 2 else "d",
                    "text": "x",
                    "label": CANONICAL[i % 3],
                    "label_canonical": CANONICAL[i % 3],
                    "speaker": f"spk{s}",
                    "session": f"Ses0{s % 5 + 1}",
                    "split": "test" if s >= 8 else ("validation" if s == 7 else "train"),
                }
            )
    return Manifest.from_records(rows)


def speakers(m: Manifest, rows: np.ndarray) -> set[str]:
    return set(m.frame["speaker"].iloc[rows])


def test_group_kfold_covers_every_item_once_and_keeps_speakers_apart():
    m = manifest()
    folds = make_folds(m, ProtocolConfig(name="group_kfold", k=5))
    assert [f.name for f in folds] == [f"fold{i}" for i in range(1, 6)]
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested) == list(range(len(m)))
    for f in folds:
        assert not speakers(m, f.train) & speakers(m, f.test)
        assert len(f.train) + len(f.test) == len(m)


def test_repeated_seeds_give_other_shuffles():
    m = manifest(n_speakers=12)
    folds = make_folds(m, ProtocolConfig(name="group_kfold", k=3, seeds=[0, 1]))
    assert [f.name for f in folds][:3] == ["s0-fold1", "s0-fold2", "s0-fold3"]
    assert {f.seed for f in folds} == {0, 1}
    first = {frozenset(speakers(m, f.test)) for f in folds if f.seed == 0}
    second = {frozenset(speakers(m, f.test)) for f in folds if f.seed == 1}
    assert first != second


def test_official_split_uses_the_split_column():
    m = manifest()
    (fold,) = make_folds(m, ProtocolConfig(name="official"))
    split = m.frame["split"]
    assert set(split.iloc[fold.train]) == {"train"}
    assert set(split.iloc[fold.test]) == {"test"}
    assert set(split.iloc[fold.validation]) == {"validation"}
    with pytest.raises(DataError, match="no test items"):
        make_folds(m, ProtocolConfig(name="official", test_parts=["dev"]))


def test_official_split_with_a_person_on_both_sides_is_refused():
    m = manifest()
    f = m.frame.copy()
    f.loc[0, "split"] = "test"  # spk0 now has an item in test and the rest in train
    with pytest.raises(DataError, match="spk0"):
        make_folds(Manifest(f), ProtocolConfig(name="official"))


def test_leakage_check_covers_per_source_person_columns():
    m = manifest()
    f = m.frame.copy()
    f["speaker_face"] = "same-face"  # one face person everywhere
    with pytest.raises(DataError, match="speaker_face"):
        make_folds(Manifest(f), ProtocolConfig(name="group_kfold", k=2))


def test_leave_one_session_out_and_corpus_out():
    m = manifest()
    folds = make_folds(m, ProtocolConfig(name="leave_one_session_out"))
    assert [f.name for f in folds] == ["Ses01", "Ses02", "Ses03", "Ses04", "Ses05"]
    for f in folds:
        assert set(m.frame["session"].iloc[f.test]) == {f.name}
        assert f.name not in set(m.frame["session"].iloc[f.train])
    loco = make_folds(m, ProtocolConfig(name="leave_one_corpus_out"))
    assert [f.name for f in loco] == ["c", "d"]


def test_leave_one_group_out_refuses_a_person_in_two_groups():
    m = manifest()
    f = m.frame.copy()
    f.loc[0, "session"] = "Ses02"  # spk0's other items are in Ses01
    with pytest.raises(DataError, match="refused"):
        make_folds(Manifest(f), ProtocolConfig(name="leave_one_session_out"))


def test_validation_holdout_is_person_disjoint():
    m = manifest(n_speakers=12)
    folds = make_folds(m, ProtocolConfig(name="group_kfold", k=3, validation=0.25))
    for f in folds:
        assert f.validation is not None and len(f.validation)
        assert not speakers(m, f.validation) & speakers(m, f.train)
        assert not speakers(m, f.validation) & speakers(m, f.test)


def test_bad_configs_are_usage_errors():
    m = manifest()
    with pytest.raises(UsageError):
        make_folds(m, ProtocolConfig(name="group_kfold", k=1))
    with pytest.raises(UsageError, match="seeds"):
        make_folds(m, ProtocolConfig(seeds=[]))
    with pytest.raises(UsageError, match="'room'"):
        make_folds(m, ProtocolConfig(name="leave_one_group_out", group="room"))
    with pytest.raises(DataError, match="at least 5"):
        make_folds(manifest(n_speakers=3), ProtocolConfig(name="group_kfold", k=5))
    with pytest.raises(UsageError):
        ProtocolConfig.from_dict({"name": "random_split"})


def test_check_fold_refuses_an_item_on_two_sides():
    m = manifest()
    with pytest.raises(DataError, match="two parts"):
        check_fold(m, Fold("x", np.array([0, 1]), np.array([1, 2])), ["speaker"])
