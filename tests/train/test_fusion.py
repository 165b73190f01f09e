import numpy as np

from emofuse.labels import CANONICAL
from emofuse.train.fusion import pair_triples

K = len(CANONICAL)


def _val(n_voice=14, n_pool=70, seed=0):
    rng = np.random.default_rng(seed)

    def onehot(y):
        return np.eye(K)[y]

    v_y = np.arange(n_voice) % K
    f_y, t_y = rng.permutation(np.arange(n_pool) % K), rng.permutation(np.arange(n_pool) % K)
    speakers = np.array([f"Actor_{17 + i % 4}" for i in range(n_voice)])
    return {
        "voice": (onehot(v_y), v_y, speakers),
        "face": (onehot(f_y), f_y, None),
        "text": (onehot(t_y), t_y, None),
    }


def test_triples_share_the_voice_label():
    probs, y = pair_triples(_val(), np.random.default_rng(0), draws=3)
    assert len(y) == 14 * 3
    for m in ("voice", "face", "text"):
        assert (probs[m].argmax(1) == y).all()


def test_halves_use_disjoint_face_and_text_items():
    val = _val()
    val["face"] = (
        np.arange(70)[:, None] * np.ones((1, K)),
        val["face"][1],
        None,
    )  # row id in probs
    p0, _ = pair_triples(val, np.random.default_rng(0), 5, half=0)
    p1, _ = pair_triples(val, np.random.default_rng(0), 5, half=1)
    ids0, ids1 = set(p0["face"][:, 0].astype(int)), set(p1["face"][:, 0].astype(int))
    assert ids0 and ids1 and not ids0 & ids1


def test_voice_mask_selects_clips():
    val = _val()
    mask = np.isin(val["voice"][2], ["Actor_17"])
    _, y = pair_triples(val, np.random.default_rng(0), 1, voice_mask=mask)
    assert len(y) == mask.sum()
