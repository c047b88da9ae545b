"""ONNX export of a provisioned model for the question path: encoder + mean pooling + normalisation.

ONNX Runtime then embeds questions with the same vectors as sentence-transformers without importing
torch or transformers (most of a cold start), and the 384 MB word table stays on disk, read by row.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from cqbot.model.hub import quiet_hub

# The question path reads the 250k x 384 word-embedding table (384 MB) itself, from a memory-mapped
# .npy, only the rows of a question's tokens; the ONNX graph takes those vectors (`inputs_embeds`) and
# keeps the rest of the weights (86 MB) beside it in ONNX_FILE + ".data", which ONNX Runtime maps too.
# Measured: RSS of a loaded encoder + tokenizer 800 MB -> 225 MB after 50 questions (benchmarks/RESULTS.md).
ONNX_FILE = "onnx/cqbot-encoder-v3.onnx"
WORDS_FILE = "onnx/cqbot-word-embeddings.npy"
ONNX_OLD = ("onnx/cqbot-encoder.onnx", "onnx/cqbot-encoder-v2.onnx", "onnx/cqbot-encoder-v2.onnx.data")


def export_onnx(folder: Path) -> Path:
    """Export encoder + mean pooling + normalisation of a provisioned folder to ONNX (+ the word table).

    ONNX Runtime then embeds questions with the same vectors (cosine 1.0 to float precision) without
    importing torch, transformers or sentence-transformers, which is most of a cold start.
    """
    quiet_hub()
    import torch
    import transformers

    model = transformers.AutoModel.from_pretrained(str(folder)).eval()

    class Pooled(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            out = self.encoder(inputs_embeds=inputs_embeds, attention_mask=attention_mask)
            hidden = out.last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    words = model.get_input_embeddings().weight.detach()
    embeds = words[torch.tensor([[0, 35378, 12, 2], [0, 35378, 2, 1]])]
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    path = folder / ONNX_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=path.parent))
    axes = {
        "inputs_embeds": {0: "batch", 1: "tokens"},
        "attention_mask": {0: "batch", 1: "tokens"},
        "embedding": {0: "batch"},
    }
    try:
        with warnings.catch_warnings():  # the tracer's notes on shapes are not for the user
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(model).eval(),
                (embeds, mask),
                str(staging / "traced.onnx"),
                input_names=["inputs_embeds", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        _split_weights(staging / "traced.onnx", staging / path.name)
        np.save(staging / "words.npy", words.numpy().astype(np.float32))
        # the weights first, the graph last: the graph's presence says the export is complete
        os.replace(staging / "words.npy", folder / WORDS_FILE)
        os.replace(staging / (path.name + ".data"), path.with_name(path.name + ".data"))
        os.replace(staging / path.name, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for old in ONNX_OLD:
        (folder / old).unlink(missing_ok=True)
    return path


def _split_weights(source: Path, target: Path) -> None:
    """Re-save an ONNX model with every weight in one external file beside it, `<target>.data`."""
    import onnx

    model = onnx.load(str(source))
    onnx.save_model(
        model, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
        location=target.name + ".data", size_threshold=1024,
    )  # fmt: skip
