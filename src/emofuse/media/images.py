"""Images from bytes: the size read from the header and capped before any pixel is decoded.

A 1 MB PNG can hold 20000 x 20000 pixels (1.2 GB decoded): :func:`image_size` reads the
header alone (Pillow), :func:`check_pixels` refuses anything over :data:`MAX_PIXELS`, and only
then does OpenCV decode (a large JPEG straight at 1/2, 1/4 or 1/8 size when it will be scaled
down anyway). Video frames go through the same :func:`check_pixels` in :mod:`.decode`.

>>> rgb = load_image("photo.jpg")                                # doctest: +SKIP
>>> decode_image(jpeg_bytes, "frame", formats=("JPEG",), max_side=1280)  # doctest: +SKIP
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import DataError

MAX_PIXELS = 50_000_000  # images and video frames (a 48 MP photo fits; ~150 MB as RGB)
IMAGE_FORMATS = ("JPEG", "PNG")
_MAGIC = {"JPEG": b"\xff\xd8\xff", "PNG": b"\x89PNG\r\n\x1a\n"}


def image_size(data: bytes, name: str = "image", formats=IMAGE_FORMATS) -> tuple[int, int]:
    """(width, height) of JPEG or PNG bytes from the header alone: no pixel is decoded.

    The format comes from the leading magic bytes, not from a file name.
    """
    from PIL import JpegImagePlugin, PngImagePlugin

    fmt = next((f for f in formats if data.startswith(_MAGIC[f])), None)
    if fmt is None:
        raise DataError(f"{name} is not a {' or '.join(formats)} image")
    opener = JpegImagePlugin.JpegImageFile if fmt == "JPEG" else PngImagePlugin.PngImageFile
    try:
        with opener(io.BytesIO(data)) as im:  # reads the header only; no decompression check
            w, h = im.size
    except Exception as e:  # Pillow raises many kinds on a broken header
        raise DataError(f"{name}: unreadable {fmt} header ({e or type(e).__name__})") from None
    if w <= 0 or h <= 0:
        raise DataError(f"{name}: unreadable {fmt} header (size {w}x{h})")
    return w, h


def check_pixels(width: int, height: int, name: str, limit: int | None = None) -> None:
    """DataError when a ``width`` x ``height`` picture is over ``limit`` (:data:`MAX_PIXELS`)."""
    limit = MAX_PIXELS if limit is None else limit
    if width * height > limit:
        raise DataError(
            f"{name}: {width}x{height} pixels is over the limit of {limit / 1e6:.3g} megapixels"
        )


def decode_image(
    data: bytes,
    name: str = "image",
    formats=IMAGE_FORMATS,
    max_pixels: int | None = None,
    max_side: int | None = None,
) -> np.ndarray:
    """RGB uint8 HxWx3 from JPEG or PNG bytes, sized from the header before any decoding.

    ``max_side`` scales the picture down to fit (a JPEG is decoded at 1/2, 1/4 or 1/8 size
    straight away, so a large frame never lands in memory at full size).
    """
    import cv2  # OpenCV is imported where an image is decoded, not at start-up

    w, h = image_size(data, name, formats)
    check_pixels(w, h, name, max_pixels)
    flag = cv2.IMREAD_COLOR
    if max_side and data.startswith(_MAGIC["JPEG"]):
        factor = next((f for f in (8, 4, 2) if max(w, h) / f >= max_side), 1)
        reduced = {
            2: cv2.IMREAD_REDUCED_COLOR_2,
            4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8,
        }
        flag = reduced.get(factor, flag)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if bgr is None:
        raise DataError(f"cannot decode image {name}")
    if max_side and max(bgr.shape[:2]) > max_side:
        scale = max_side / max(bgr.shape[:2])
        size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_image(image: str | Path | np.ndarray) -> np.ndarray:
    """RGB uint8 HxWx3 from a path or an array (gray, RGB, RGBA; uint8 or float in [0, 1]).

    A file must be a JPEG or PNG of at most :data:`MAX_PIXELS` (read from its header first).
    """
    if not isinstance(image, np.ndarray):
        p = Path(image)
        if not p.is_file():
            raise DataError(f"file not found: {p}")
        return decode_image(p.read_bytes(), str(p))
    arr = image
    if arr.size == 0 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise DataError(f"image array must be HxW, HxWx3 or HxWx4, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        scale = 255.0 if np.issubdtype(arr.dtype, np.floating) else 1.0
        arr = np.clip(np.rint(arr.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    if arr.ndim == 2 or arr.shape[2] == 1:
        return np.repeat(arr.reshape(arr.shape[0], arr.shape[1], 1), 3, axis=2)
    return np.ascontiguousarray(arr[:, :, :3])
