"""Any corpus laid out one folder per label: ``root/<label>/*.{wav,jpg,mp4,...}``.

Folder names are matched case-insensitively to canonical labels or common synonyms
(``happy``, ``angry``, ``sad``, ``fearful``, ``disgusted``, ``surprised``...); an unknown
folder raises :class:`DataError` unless ``unknown="keep"`` (then ``label_canonical`` is
``None``).

>>> m = prepare_folder("my_faces")                               # doctest: +SKIP
>>> m.frame.loc[0, ["id", "image", "label", "label_canonical"]].tolist()  # doctest: +SKIP
['happy/001', 'happy/001.jpg', 'happy', 'happiness']
"""

from __future__ import annotations

from pathlib import Path

from ...errors import DataError, UsageError
from ...labels import MAPPINGS
from ..manifest import Manifest

SUFFIXES: dict[str, tuple[str, ...]] = {
    "audio": (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus"),
    "image": (".jpg", ".jpeg", ".png", ".bmp", ".webp"),
    "video": (".mp4", ".mov", ".mkv", ".avi", ".webm", ".flv"),
}
UNKNOWN = ("error", "keep")


def _modality(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return next((m for m, sfx in SUFFIXES.items() if suffix in sfx), None)


def prepare_folder(
    root: str | Path, modality: str = "auto", unknown: str = "error", corpus: str | None = None
) -> Manifest:
    """Manifest of the media files in ``root/<label>/`` (sub-folders included).

    ``modality`` is ``"auto"`` (each file by its suffix) or one of ``audio, image,
    video`` (other files ignored). ``corpus`` defaults to the root folder's name.
    Files with other suffixes (notes, ``.DS_Store``) are ignored.
    """
    if modality != "auto" and modality not in SUFFIXES:
        raise UsageError(f"unknown modality {modality!r}; use auto or one of {list(SUFFIXES)}")
    if unknown not in UNKNOWN:
        raise UsageError(f"unknown={unknown!r}: use one of {list(UNKNOWN)}")
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"folder corpus root not found: {root}")
    synonyms = MAPPINGS["folder"]
    records = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        key = folder.name.lower()
        if key not in synonyms and unknown == "error":
            raise DataError(
                f"unknown label folder {folder} ({folder.name!r}); rename it to one of "
                f"{sorted(synonyms)} or pass unknown='keep'"
            )
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            kind = _modality(path)
            if kind is None or (modality != "auto" and kind != modality):
                continue
            rel = path.relative_to(root)
            records.append(
                {
                    "id": rel.with_suffix("").as_posix(),
                    "corpus": corpus or root.name,
                    kind: rel.as_posix(),
                    "label": folder.name,
                    "label_canonical": synonyms.get(key),
                }
            )
    if not records:
        wanted = "media" if modality == "auto" else f"{modality} files"
        raise DataError(f"no {wanted} in label folders (<label>/*) under {root}")
    return Manifest.from_records(records, root=root)
