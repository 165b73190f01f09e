import pandas as pd
import pytest
from typer.testing import CliRunner

from emofuse.cli import app
from emofuse.data.manifest import Manifest
from emofuse.data.splits import check_leakage
from tests.fixtures import SHARED

runner = CliRunner()
DATA = SHARED / "data"


def write_ravdess(root, actors=6):
    for a in range(1, actors + 1):
        (root / f"Actor_{a:02d}").mkdir(parents=True)
        for emo in range(1, 9):
            for rep in (1, 2):
                name = f"03-01-{emo:02d}-01-01-{rep:02d}-{a:02d}.wav"
                (root / f"Actor_{a:02d}" / name).write_bytes(b"")
    return root


def write_faces(path, n=40):
    labels = ["neutral", "happiness", "sadness", "anger", "fear", "disgust", "surprise"]
    rows = [
        {"id": f"f{i}", "corpus": "faces", "image": f"{i}.jpg", "label": lab,
         "label_canonical": lab}
        for i in range(n)
        for lab in labels
    ]  # fmt: skip
    Manifest.from_records(rows, root=path.parent).to_jsonl(path)
    return path


def test_prepare_split_pair_stats(tmp_path):
    root = write_ravdess(tmp_path / "ravdess")
    (root / "Actor_01" / "03-01-01-01-01-01-01.wav").unlink()
    voice = tmp_path / "voice.jsonl"
    r = runner.invoke(app, ["data", "prepare", "ravdess", str(root), "-o", str(voice)])
    assert r.exit_code == 0, r.output
    assert "95 items" in r.output and "'calm': 'neutral'" in r.output
    assert "0 items with missing media" in r.output
    (root / "Actor_02" / "03-01-02-01-01-01-02.wav").unlink()
    r = runner.invoke(app, ["data", "prepare", "ravdess", str(root), "-o", str(voice)])
    assert r.exit_code == 0, r.output
    (root / "Actor_03" / "03-01-02-01-01-01-03.wav").unlink()  # gone after prepare
    assert Manifest.read(voice).missing_media() == ["03-01-02-01-01-01-03"]

    split = tmp_path / "split.jsonl"
    r = runner.invoke(
        app, ["data", "split", str(voice), "--ratios", "0.6,0.2,0.2", "-o", str(split)]
    )
    assert r.exit_code == 0, r.output
    assert check_leakage(Manifest.read(split)).empty

    faces = write_faces(tmp_path / "faces.jsonl")
    paired, stats = tmp_path / "paired.jsonl", tmp_path / "stats.csv"
    args = ["data", "pair", str(voice), str(faces), "-o", str(paired), "--stats", str(stats)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    table = pd.read_csv(stats, index_col=0)
    assert table.loc["total", "total"] == len(Manifest.read(paired)) > 0

    png = tmp_path / "stats.png"
    r = runner.invoke(app, ["data", "stats", str(split), "--plot", str(png)])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:4] == b"\x89PNG" and "items per speaker" in r.output


def test_errors_are_one_line(tmp_path):
    r = runner.invoke(app, ["data", "prepare", "nosuch", str(tmp_path), "-o", "x.jsonl"])
    assert r.exit_code == 2 and "known:" in r.output and "ravdess" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\nnot json\n')
    r = runner.invoke(app, ["data", "stats", str(bad)])
    assert r.exit_code == 1 and "bad.jsonl:2" in r.output


@pytest.mark.integration
def test_paired_voice_face_text_from_shared(tmp_path):
    if not DATA.is_dir():
        pytest.skip(f"real data not found at {DATA} (../shared is absent)")
    paths = {}
    for corpus, folder in [
        ("ravdess", "ravdess"),
        ("fer2013", "fer2013"),
        ("goemotions", "goemotions"),
    ]:
        paths[corpus] = tmp_path / f"{corpus}.jsonl"
        r = runner.invoke(
            app, ["data", "prepare", corpus, str(DATA / folder), "-o", str(paths[corpus])]
        )
        assert r.exit_code == 0, r.output
    paired, stats = tmp_path / "paired.jsonl", tmp_path / "stats.csv"
    r = runner.invoke(app, ["data", "pair", *map(str, paths.values()), "-o", str(paired),
                            "--stats", str(stats)])  # fmt: skip
    assert r.exit_code == 0, r.output
    table = pd.read_csv(stats, index_col=0)
    assert table.loc["total", "total"] == 1200  # every RAVDESS clip finds a face and a text
    assert table.loc["total", ["train", "validation", "test"]].tolist() == [960, 120, 120]
    m = Manifest.read(paired)
    assert check_leakage(m).empty
    assert (m.frame.groupby("speaker_voice")["split"].nunique() == 1).all()
    for source in ("voice", "face", "text"):
        assert m.frame[f"id_{source}"].is_unique
