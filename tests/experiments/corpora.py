"""Tiny generated corpora in the real layouts, with a learnable emotion signal in each.

Voices are tones whose pitch depends on the emotion, faces are gray images whose
brightness does, texts carry an emotion word; everything else is seeded noise. Each
writer returns the corpus folder; a recipe pointed at their parent reads them like
``../shared/data``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from tests.fixtures import write_tone_wav

# RAVDESS emotion code -> canonical index (calm counts as neutral)
RAVDESS_CODES = {"01": 0, "02": 0, "03": 1, "04": 2, "05": 3, "06": 4, "07": 5, "08": 6}
FER_FOLDERS = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")
EKMAN = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
WORDS = ("okay", "wonderful", "miserable", "furious", "terrified", "gross", "unexpected")
FILLER = ("the a we it this that then so very really just today here there again").split()  # noqa: SIM905


def _sentence(rng: np.random.Generator, k: int, p_word: float = 0.8) -> str:
    words = list(rng.choice(FILLER, 5))
    word = WORDS[k] if rng.random() < p_word else WORDS[int(rng.integers(7))]
    words.insert(int(rng.integers(6)), word)
    return " ".join(words)


def write_ravdess(root: Path, actors: int = 6, reps: int = 1, seed: int = 0) -> Path:
    """``Actor_XX/03-01-EE-01-SS-RR-AA.wav``: 0.5 s tones, pitch by emotion, plus noise."""
    rng = np.random.default_rng(seed)
    for a in range(1, actors + 1):
        folder = root / f"Actor_{a:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for code, k in RAVDESS_CODES.items():
            for stmt in ("01", "02"):
                for rep in range(1, reps + 1):
                    freq = 220 + 90 * k + rng.normal(0, 25)
                    name = f"03-01-{code}-01-{stmt}-{rep:02d}-{a:02d}.wav"
                    write_tone_wav(folder / name, 0.5, 16000, freq, amp=0.3 + 0.4 * rng.random())
    return root


def write_fer(root: Path, per_label: int = 12, seed: int = 0) -> Path:
    """``{train,validation}/<label>/*.jpg``: 48x48 gray, brightness by emotion, plus noise."""
    rng = np.random.default_rng(seed)
    for split in ("train", "validation"):
        for k, label in enumerate(FER_FOLDERS):
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_label):
                img = np.clip(rng.normal(40 + 28 * k, 30, (48, 48)), 0, 255).astype(np.uint8)
                cv2.imwrite(str(folder / f"{label}_{i}.jpg"), img)
    return root


def write_goemotions(root: Path, per_label: int = 12, seed: int = 0) -> Path:
    """``ekman/{labels.txt,train.tsv,dev.tsv}`` with an emotion word in most texts."""
    rng = np.random.default_rng(seed)
    folder = root / "ekman"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.txt").write_text("\n".join(EKMAN))
    canon_of = {"anger": 3, "disgust": 5, "fear": 4, "joy": 1, "neutral": 0, "sadness": 2,
                "surprise": 6}  # fmt: skip
    for split in ("train", "dev"):
        lines = []
        for j, name in enumerate(EKMAN):
            for i in range(per_label):
                text = _sentence(rng, canon_of[name])
                lines.append(f"{text}\t{j}\t{split}{j}x{i}\n")
        (folder / f"{split}.tsv").write_text("".join(lines))
    return root


def write_meld(root: Path, per_label: int = 12, speakers: int = 8, seed: int = 0) -> Path:
    """``{train,dev}_sent_emo.csv`` with MELD's columns and an emotion word in most texts."""
    rng = np.random.default_rng(seed)
    meld = ("neutral", "joy", "sadness", "anger", "fear", "disgust", "surprise")
    header = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID",
              "Utterance_ID", "Season", "Episode", "StartTime", "EndTime"]  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev"):
        with (root / f"{split}_sent_emo.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            n = 0
            for k, emotion in enumerate(meld):
                for _ in range(per_label):
                    who = f"Person{int(rng.integers(speakers))}"
                    w.writerow([n, _sentence(rng, k), who, emotion, "neutral", n // 4, n % 4,
                                1, 1, "00:00:01,000", "00:00:02,000"])  # fmt: skip
                    n += 1
    return root


def write_emobank(root: Path, n: int = 80, seed: int = 0) -> Path:
    """``emobank.csv``: valence/arousal/dominance follow the emotion word of each text."""
    rng = np.random.default_rng(seed)
    vad = np.array([[3, 3, 3], [4.5, 3.8, 3.5], [1.6, 2.2, 2.0], [1.8, 4.4, 3.9],
                    [1.7, 4.0, 1.8], [1.9, 3.2, 3.0], [3.4, 4.2, 2.9]])  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    with (root / "emobank.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "split", "V", "A", "D", "text"])
        for i in range(n):
            k = int(rng.integers(7))
            v, a, d = np.clip(vad[k] + rng.normal(0, 0.25, 3), 1, 5)
            split = "dev" if i % 5 == 0 else "train"
            w.writerow([f"eb{i}", split, f"{v:.2f}", f"{a:.2f}", f"{d:.2f}", _sentence(rng, k)])
    return root


def write_iemocap(root: Path, per_speaker: int = 8, seed: int = 0) -> Path:
    """Five sessions, two speakers each, 4-class turns with tones and words by emotion."""
    from tests.data.datasets.test_iemocap import write_dialog

    rng = np.random.default_rng(seed)
    codes = {"neu": 0, "hap": 1, "sad": 2, "ang": 3}
    for n in range(1, 6):
        dialog = f"Ses0{n}F_impro01"
        turns, t = [], 1.0
        for i in range(2 * per_speaker):
            who = "F" if i % 2 == 0 else "M"
            code = list(codes)[int(rng.integers(4))]
            words = _sentence(rng, codes[code])
            turns.append((f"{who}{i:03d}", t, t + 1.0, code, 3.0, 3.0, 3.0, words))
            t += 1.5
        turns.insert(0, ("F900", 0.0, 0.5, "xxx", 3.0, 3.0, 3.0, "Hm."))  # has no wav
        write_dialog(root, n, dialog, turns)
        wav = root / f"Session{n}" / "sentences" / "wav" / dialog
        for turn in turns[1:]:
            freq = 220 + 110 * codes[turn[3]] + rng.normal(0, 20)
            write_tone_wav(wav / f"{dialog}_{turn[0]}.wav", 0.5, 16000, freq)
    return root


def write_all(root: Path) -> Path:
    """Every corpus above under ``root`` (named like the folders of ``../shared/data``)."""
    write_ravdess(root / "ravdess")
    write_fer(root / "fer2013")
    write_goemotions(root / "goemotions")
    write_meld(root / "meld")
    write_emobank(root / "emobank")
    write_iemocap(root / "iemocap")
    return root
