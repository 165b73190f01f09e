"""The emotion timeline of one clip: a row per modality and the fused row, as PNG or HTML.

Takes an :class:`emofuse.inference.result.Result` (read by attribute: ``source``,
``labels``, ``segments`` with ``start``, ``end``, ``modalities`` and ``fused``)::

    >>> timeline_plot(Recognizer.default().analyze("clip.mp4"), "timeline.png")  # doctest: +SKIP
    PosixPath('timeline.png')

Each segment is a bar coloured by its label, opaque in proportion to its confidence; a
modality that gave nothing for a segment is hatched grey with its status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .html import html_page, image_html, table_html
from .plots import colour, png_bytes, pyplot

MODALITY_ORDER = ("face", "voice", "text")


def _rows(result: Any) -> list[str]:
    seen = {m for s in result.segments for m in s.modalities}
    return [m for m in MODALITY_ORDER if m in seen] + sorted(seen - set(MODALITY_ORDER))


def timeline_plot(result: Any, path: str | Path) -> Path:
    """Write the timeline PNG at ``path``."""
    from ..utils.io import write_atomic

    write_atomic(Path(path), timeline_png(result))
    return Path(path)


def timeline_png(result: Any) -> bytes:
    """The timeline as PNG bytes (an empty axis for a result without segments)."""
    plt = pyplot()
    rows = [*_rows(result), "fused"]
    labels = list(result.labels)
    end = max((s.end for s in result.segments), default=1.0)
    fig, ax = plt.subplots(figsize=(min(4 + 0.6 * end, 18), 0.55 * len(rows) + 1.3))
    for r, row in enumerate(reversed(rows)):
        for s in result.segments:
            pred = s.fused if row == "fused" else getattr(s.modalities.get(row), "prediction", None)
            width = max(s.end - s.start, 1e-3)
            if pred is None:
                status = (
                    "fused: none"
                    if row == "fused"
                    else getattr(s.modalities.get(row), "status", "")
                )
                ax.barh(r, width, left=s.start, color="#eeeeee", hatch="//", edgecolor="#bbbbbb")
                if width > 0.08 * end:
                    ax.text(s.start + width / 2, r, status, ha="center", va="center", fontsize=6)
                continue
            i = labels.index(pred.label) if pred.label in labels else 0
            alpha = 0.35 + 0.65 * float(pred.confidence)
            ax.barh(r, width, left=s.start, color=colour(pred.label, i), alpha=alpha,
                    edgecolor="white")  # fmt: skip
            if width > 0.06 * end:
                ax.text(s.start + width / 2, r, f"{pred.label}\n{pred.confidence:.2f}",
                        ha="center", va="center", fontsize=7)  # fmt: skip
    ax.set_yticks(range(len(rows)), list(reversed(rows)))
    ax.set_xlim(0, end)
    ax.set_xlabel("time (s)")
    ax.set_title(Path(str(result.source)).name, fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour(lab, i)) for i, lab in enumerate(labels)]
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=len(labels),
              fontsize=7, frameon=False)  # fmt: skip
    fig.tight_layout()
    return png_bytes(fig)


def timeline_html(result: Any) -> str:
    """A self-contained page: the timeline PNG embedded and the segment table."""
    image = image_html(timeline_png(result), "timeline")
    table = table_html(result.to_dataframe().round(3))
    title = f"emofuse timeline: {Path(str(result.source)).name}"
    return html_page(title, [("Timeline", image), ("Segments", table)])
