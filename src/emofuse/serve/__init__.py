"""The live server: FastAPI app (:mod:`.app`), WebSocket sessions (:mod:`.stream`), web page.

Needs the ``serve`` extra: ``pip install 'emofuse[serve]'``.
"""
