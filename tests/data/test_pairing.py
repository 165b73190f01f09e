import pytest

from emofuse.data.manifest import Manifest
from emofuse.data.pairing import pair_manifests
from emofuse.data.splits import check_leakage
from emofuse.errors import UsageError

LABELS = ("happiness", "anger", "neutral")


def unimodal(column: str, n_people: int, per: int, people: bool = True, demo: bool = True):
    rows = []
    for p in range(n_people):
        for lab in LABELS:
            for i in range(per):
                row = {"id": f"{column}{p}-{lab}-{i}", "corpus": column, column: f"{p}/{lab}{i}",
                       "label": lab, "label_canonical": lab}  # fmt: skip
                if people:
                    row["speaker"] = f"{column}-p{p}"
                if demo:
                    row["gender"] = "male" if p % 2 else "female"
                    row["age_group"] = "adult" if p % 3 else "senior"
                rows.append(row)
    return Manifest.from_records(rows, root=f"/data/{column}")


def test_pairs_match_cells_and_take_the_smaller_side():
    voice = unimodal("audio", 20, 3)
    face = unimodal("image", 30, 1, people=False)
    paired, stats = pair_manifests([voice, face], seed=1)
    f = paired.frame
    v = voice.frame.set_index("id")
    fa = face.frame.set_index("id")
    for col in ("label_canonical", "gender", "age_group"):  # both have all three keys
        assert (f[col].to_numpy() == v.loc[f["id_voice"], col].to_numpy()).all()
        assert (f[col].to_numpy() == fa.loc[f["id_face"], col].to_numpy()).all()
    assert f["id_voice"].is_unique and f["id_face"].is_unique
    assert f["audio"].str.startswith("/data/audio/").all() and paired.root is None
    # each (cell, split) holds as many pairs as its smaller side
    assert stats.loc["total", "total"] == len(paired) <= min(len(voice), len(face))
    assert set(f["split"]) == {"train", "validation", "test"}


def test_three_sources_person_disjoint_and_keys_only_where_all_have_them():
    voice = unimodal("audio", 20, 2)
    face = unimodal("image", 10, 6)
    text = unimodal("text", 50, 1, people=False, demo=False)
    paired, stats = pair_manifests([voice, face, text], seed=0)
    f = paired.frame
    assert f["gender"].isna().all()  # text has no gender: the join is on emotion alone
    for source in ("voice", "face", "text"):
        assert f[f"id_{source}"].is_unique
    assert check_leakage(paired).empty  # speaker_voice, speaker_face
    for col in ("speaker_voice", "speaker_face"):
        assert (f.groupby(col)["split"].nunique() == 1).all()
    assert stats.loc[list(LABELS), "total"].sum() == stats.loc["total", "total"] == len(f)
    assert (stats.loc["total", ["train", "validation", "test"]].sum()) == len(f)
    assert stats.loc["total", "train"] > stats.loc["total", "test"]


def test_deterministic_for_a_seed():
    args = [unimodal("audio", 10, 2), unimodal("image", 20, 2, people=False)]
    a, _ = pair_manifests(args, seed=5)
    b, _ = pair_manifests(args, seed=5)
    c, _ = pair_manifests(args, seed=6)
    assert a.frame.equals(b.frame) and not a.frame.equals(c.frame)


def test_rejects_bad_inputs():
    voice = unimodal("audio", 4, 1)
    with pytest.raises(UsageError):
        pair_manifests([voice])
    with pytest.raises(UsageError, match="different modalities"):
        pair_manifests([voice, voice])
