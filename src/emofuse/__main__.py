"""``python -m emofuse`` is the ``emofuse`` command."""

from .cli import app

app(prog_name="emofuse")
