"""A self-contained HTML page (tables + PNGs embedded as data URIs): opens offline.

>>> page = html_page("Run", [("Results", "<p>ok</p>")])
>>> page.startswith("<!DOCTYPE html>") and "<h2>Results</h2>" in page
True
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
img{max-width:100%;margin:.4em 0 1em} .note{color:#666;font-size:13px}
"""


def table_html(df: pd.DataFrame, caption: str | None = None) -> str:
    body = df.to_html(escape=True, border=0)
    return (f"<p class='note'>{html.escape(caption)}</p>" if caption else "") + body


def image_html(png: str | Path | bytes, alt: str = "") -> str:
    """An ``<img>`` with the PNG (a file or bytes) embedded: the page needs no file beside it."""
    raw = png if isinstance(png, bytes) else Path(png).read_bytes()
    data = base64.b64encode(raw).decode()
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def html_page(title: str, sections: Sequence[tuple[str, str]], intro: str = "") -> str:
    """A page with a title, an optional intro paragraph and ``(heading, html)`` sections."""
    parts = [
        "<!DOCTYPE html>",
        "<html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if intro:
        parts.append(f"<p class='note'>{html.escape(intro)}</p>")
    for heading, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>\n{content}")
    parts.append("</body></html>")
    return "\n".join(parts)
