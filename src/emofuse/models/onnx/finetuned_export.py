"""Export the fine-tuned text network to ONNX with its adapters merged, checked against torch.

The LoRA adapters are folded into the base's linear layers first
(:meth:`~emofuse.models.text_finetuned_net.FineTunedTextNet.merged`), so the graph has the
base's shape and cost (~90 MB for MiniLM: it belongs in a user cache, not the package).
It takes ``input_ids, attention_mask, token_type_ids, domain`` (int64, as
:func:`~emofuse.models.text_finetuned_inputs.pad_items` builds them with a tokenizer
alone) and returns the network's logits; the TF-IDF branch, the per-domain bias and the
temperature stay numpy. The export is refused unless onnxruntime on the merged graph
matches the torch forward of the unmerged network (max |logit difference| below
:data:`~.export.TOLERANCE`) on padded batches of both domains::

    >>> net = FineTunedTextModel.load(backend="torch").net              # doctest: +SKIP
    >>> data, diff = export_finetuned(net)                               # doctest: +SKIP
    >>> diff < 1e-4                                                       # doctest: +SKIP
    True

:func:`export_text_finetuned` writes a model folder's export into the user cache, where
:meth:`FineTunedTextModel.load` finds it (``emofuse export-onnx --only text``), after a
second check: whole-model probabilities on texts, tokenised by ``tokenizers`` alone, agree
with the torch model's (Hugging Face tokenizer), with and without dialogue context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...encoders.minilm_onnx import ONNX_FILE, export_identity
from ...errors import DataError
from ...utils.io import write_atomic
from ..artifact import load_meta
from ..text_base import base_folder, weights_sha256
from ..text_finetuned import (
    DEFAULT_DIR,
    FineTunedTextModel,
    delta_identity,
    fast_tokenizer,
    onnx_export_dir,
    read_config,
)
from .export import OPSET, TOLERANCE, _to_onnx, _verify
from .runtime import make_session, ort
from .text_export import CHECK_TEXTS, publish, text_timings

INPUTS = ["input_ids", "attention_mask", "token_type_ids", "domain"]
AXES = {
    "input_ids": {0: "batch", 1: "tokens"},
    "attention_mask": {0: "batch", 1: "tokens"},
    "token_type_ids": {0: "batch", 1: "tokens"},
    "domain": {0: "batch"},
    "logits": {0: "batch"},
}


def parity_cases(net: Any, seed: int = 0) -> list[tuple[torch.Tensor, ...]]:
    """Padded batches of random word pieces: one item; three of unequal lengths, with and
    without a context segment, in both domains; and one of 64 items."""
    g = torch.Generator().manual_seed(seed)
    vocab = int(net.encoder.config.vocab_size)
    cases = []
    for lengths, context in (([5], [0]), ([7, 4, 12], [0, 3, 5]), ([9] * 32 + [3] * 32, [2] * 64)):
        n, width = len(lengths), max(lengths)
        ids = torch.randint(1, vocab, (n, width), generator=g)
        mask = torch.zeros(n, width, dtype=torch.long)
        types = torch.zeros(n, width, dtype=torch.long)
        for i, (k, c) in enumerate(zip(lengths, context)):
            mask[i, :k] = 1
            types[i, k - c : k] = 1
        ids = ids * mask
        domain = (torch.tensor(context) > 0).long()
        cases.append((ids, mask, types, domain))
    return cases


def export_finetuned(net: Any, path: str | Path | None = None) -> tuple[bytes, float]:
    """The ONNX bytes of ``net`` with merged adapters and their max |logit difference| to
    ``net``'s torch forward on :func:`parity_cases`; written atomically to ``path`` if given.

    A difference of ``TOLERANCE`` or more is a :class:`~emofuse.errors.DataError` (nothing
    written). Needs the ``onnx`` extra.
    """
    net = net.eval()
    merged = net.merged()
    cases = parity_cases(net)
    data = _to_onnx(merged, cases[1], INPUTS, AXES)
    diff = _verify(net, make_session(data), cases, Path(path or "the fine-tuned text network"))
    if path is not None:
        write_atomic(path, data)
    return data, diff


def export_text_finetuned(
    directory: str | Path = DEFAULT_DIR,
    root: str | Path | None = None,
    base_path: str | Path | None = None,
) -> list[Path]:
    """Export the fine-tuned text model in ``directory`` into the user cache
    (:func:`~emofuse.models.text_finetuned.onnx_export_dir`); the files written.

    Checked twice (a difference of :data:`~.export.TOLERANCE` or more writes nothing): the
    merged graph's logits against the torch network on random padded batches, then the
    model's probabilities on :data:`~.text_export.CHECK_TEXTS` (stand-alone, and each read
    after the one before it) against the torch model's; then both are timed on
    ``predict_proba`` of 1 and 64 texts. ``onnx.json`` records the base weights' identity
    with the delta's and config's sha256 (what :func:`find_onnx_export` compares), the
    differences and the timings.
    """
    directory = Path(directory)
    torch_model = FineTunedTextModel.load(directory, base_path, backend="torch")
    config, meta = torch_model.config, torch_model.meta
    folder = base_folder(config.base)
    extra = delta_identity(directory, read_config(meta, base_path))
    data, logit_diff = export_finetuned(torch_model.net)
    texts = list(CHECK_TEXTS)
    context = [[]] + [[t] for t in texts[:-1]]

    def check(tmp: Path) -> dict[str, Any]:
        onnx_model = FineTunedTextModel(
            None, fast_tokenizer(folder), meta, torch_model.lexical, make_session(tmp / ONNX_FILE)
        )
        onnx_model.config = config
        diff = 0.0
        for ctx in (None, context):
            want = torch_model.predict_proba(texts, ctx)
            batched = onnx_model.predict_proba(texts, ctx)
            single = np.concatenate(
                [onnx_model.predict_proba([t], None if ctx is None else [ctx[i]])
                 for i, t in enumerate(texts)]
            )  # fmt: skip
            diff = max(
                diff, float(np.abs(want - batched).max()), float(np.abs(want - single).max())
            )
        if not diff < TOLERANCE:
            raise DataError(
                f"ONNX export of the text model in {directory} disagrees with torch: max "
                f"|probability diff| {diff:.2e} >= {TOLERANCE:.0e}; nothing written"
            )
        timings = text_timings(torch_model.predict_proba, onnx_model.predict_proba, texts[1])
        return {
            "model": "text (fine-tuned MiniLM)",
            "onnx_file": ONNX_FILE,
            "weights": export_identity(folder, extra),
            "weights_sha256": weights_sha256(folder),
            "opset": OPSET,
            "torch": torch.__version__,
            "onnxruntime": ort().__version__,
            "max_abs_diff": logit_diff,
            "max_abs_probability_diff": diff,
            "timings": timings,
            "how": "fastest wall time of predict_proba() (tokenising, TF-IDF branch and "
            "calibration included), 7 runs after a warm-up",
        }

    return publish(onnx_export_dir(directory, root, base_path), data, check)


def export_text(
    folder: str | Path, root: str | Path | None = None, missing: bool = False
) -> list[Path]:
    """Export the transformer of the text model in ``folder`` into the user cache, by the
    model's architecture: the fine-tuned network with its adapters merged
    (:func:`.finetuned_export.export_text_finetuned`) or, for a ``text_head`` model, MiniLM
    (:func:`.text_export.export_minilm`); the files written. ``missing``: nothing when a
    current export exists."""
    from ..bundled import find_text_export

    if missing and find_text_export(folder) is not None:  # also checks it is a text model
        return []
    architecture = load_meta(folder).architecture
    if architecture == "text_finetuned":
        return export_text_finetuned(folder, root)
    if architecture == "text_head":
        from .text_export import export_minilm

        return export_minilm(root=root)
    raise DataError(f"no ONNX export for the text architecture {architecture!r} in {folder}")
