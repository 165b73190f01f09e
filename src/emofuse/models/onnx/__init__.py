"""ONNX Runtime fast path: sessions (:mod:`.runtime`) apart from export (:mod:`.export`)."""
