"""FER2013 faces in the image-folder layout ``root/{train,validation}/<label>/*.jpg``.

``train`` is the original *Training* usage and ``validation`` the *PublicTest* one; no
identities are known, so this official split is the only honest one.

>>> m = prepare_fer2013("../shared/data/fer2013")              # doctest: +SKIP
>>> m.frame.groupby("split").size().to_dict()                       # doctest: +SKIP
{'train': 28709, 'validation': 3589}
>>> m.frame[["image", "label", "label_canonical"]].iloc[0].tolist()  # doctest: +SKIP
['train/angry/Training_10118481.jpg', 'angry', 'anger']
"""

from __future__ import annotations

from pathlib import Path

from ...errors import DataError
from ...labels import MAPPINGS, to_canonical
from ..manifest import Manifest

SPLITS = ("train", "validation")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
COLUMNS = ["id", "corpus", "image", "label", "label_canonical", "split"]


def prepare_fer2013(root: str | Path, splits: tuple[str, ...] = SPLITS) -> Manifest:
    """:class:`Manifest` (``root`` set) of every FER2013 image under ``root``.

    Filled: ``id`` (``image`` without its suffix: a few file names recur under two
    labels), ``corpus`` (``"fer2013"``), ``image`` (path relative to
    ``root``), ``label`` (native folder name), ``label_canonical``, ``split``. Rows are
    sorted by split, then ``image``. A missing root or split folder, or an unknown label
    folder, raises :class:`DataError` naming it.
    """
    import pandas as pd

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"FER2013 root not found: {root}")
    rows = []
    for split in splits:
        split_dir = root / split
        if not split_dir.is_dir():
            raise DataError(f"FER2013 split folder not found: {split_dir}")
        for label_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            if label_dir.name not in MAPPINGS["fer2013"]:
                raise DataError(
                    f"unknown FER2013 label folder {label_dir}; "
                    f"known: {sorted(MAPPINGS['fer2013'])}"
                )
            canonical = to_canonical("fer2013", label_dir.name)
            for path in sorted(label_dir.iterdir()):
                if path.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                rows.append(
                    {
                        "id": path.relative_to(root).with_suffix("").as_posix(),
                        "corpus": "fer2013",
                        "image": path.relative_to(root).as_posix(),
                        "label": label_dir.name,
                        "label_canonical": canonical,
                        "split": split,
                    }
                )
    if not rows:
        raise DataError(f"no FER2013 images ({'/'.join(splits)}/<label>/*.jpg) under {root}")
    df = pd.DataFrame(rows, columns=COLUMNS)
    order = {s: i for i, s in enumerate(splits)}
    df = df.sort_values(["split", "image"], key=lambda c: c.map(order) if c.name == "split" else c)
    return Manifest(df, root)
