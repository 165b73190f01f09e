import json

import pandas as pd
import pytest

from emofuse.inference.result import ModalityResult, Prediction, Result, SegmentResult

LABELS = ["neutral", "happiness", "sadness"]


def _result() -> Result:
    face = Prediction.from_probs([0.1, 0.8, 0.1], LABELS)
    segs = [
        SegmentResult(
            0.0,
            2.0,
            "hello",
            {
                "face": ModalityResult("ok", face, {"box": {"x": 1}}),
                "voice": ModalityResult("silent"),
            },
            face,
        ),
        SegmentResult(
            2.0,
            4.0,
            None,
            {"face": ModalityResult("no face"), "voice": ModalityResult("silent")},
            None,
        ),
    ]
    return Result("clip.mp4", LABELS, segs, {"modalities": ["face", "voice"]})


def test_prediction_from_probs():
    p = Prediction.from_probs([0.2, 0.5, 0.3], LABELS)
    assert (p.label, p.confidence) == ("happiness", 0.5)
    assert list(p.probabilities) == LABELS


def test_json_round_trips_statuses_and_labels():
    data = json.loads(_result().to_json())
    assert [s["label"] for s in data["segments"]] == ["happiness", None]
    assert data["segments"][1]["modalities"]["face"]["status"] == "no face"
    assert data["segments"][0]["modalities"]["face"]["details"]["box"] == {"x": 1}


def test_dataframe_and_csv(tmp_path):
    df = _result().to_dataframe()
    assert df.loc[0, "label"] == "happiness" and pd.isna(df.loc[1, "label"])
    assert {"p_neutral", "face_status", "voice_label"} <= set(df.columns)
    _result().to_csv(tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv")
    assert len(back) == 2 and back.loc[0, "face_label"] == "happiness"


def test_require_prediction():
    from emofuse.errors import DataError

    labels = ["neutral", "happiness"]
    empty = SegmentResult(0, 1, None, {"voice": ModalityResult("silent")}, None)
    short = SegmentResult(1, 1.1, None, {"voice": ModalityResult("too short")}, None)
    result = Result("a.wav", labels, [empty, short])
    with pytest.raises(DataError, match=r"in a\.wav: voice: silent, too short"):
        result.require_prediction()
    fused = Prediction.from_probs([0.2, 0.8], labels)
    ok = SegmentResult(2, 3, None, {"voice": ModalityResult("ok", fused)}, fused)
    assert Result("a.wav", labels, [empty, ok]).require_prediction().segments[1] is ok
