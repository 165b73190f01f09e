"""What an encoder reads for a manifest row: the text, or the media decoded for its modality."""

from __future__ import annotations

from typing import Any

from ..errors import DataError

#: manifest column(s) that hold each modality's input, tried in order
INPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "voice": ("audio", "video"),
    "face": ("image",),
    "image": ("image",),
    "video": ("video",),
}
VIDEO_FPS = 2.0


def item_ref(manifest: Any, row: Any, modality: str) -> str:
    """The text itself or the absolute media path of one manifest row."""
    from ..data.manifest import _is_null

    for column in INPUT_COLUMNS[modality]:
        if column in row and not _is_null(row[column]):
            if modality == "text":
                return str(row[column])
            return str(manifest.media_path(row, column))
    raise DataError(f"item {row['id']!r} has no {' or '.join(INPUT_COLUMNS[modality])}")


def load_input(modality: str, ref: str) -> Any:
    """An encoder's batch item for ``ref``: text, 16 kHz audio, an RGB image or frames."""
    if modality == "text":
        return ref
    from ..media import decode

    if modality == "voice":
        wave = decode.load_audio(ref, sample_rate=16000)
        if wave.size == 0:
            raise DataError(f"no audio in {ref}")
        return wave
    if modality in ("face", "image"):
        return decode.load_image(ref)
    frames = [rgb for _, rgb in decode.iter_frames(ref, fps=VIDEO_FPS)]
    if not frames:
        raise DataError(f"no frames in {ref}")
    return frames
