"""The embedder seam: prefixes, normalisation, and the ONNX path giving the reference vectors."""

from __future__ import annotations

import numpy as np
import pytest

from cqbot.config import load_settings
from cqbot.embedding import HashingEmbedder, OnnxEmbedder, load_embedder, resolve_model
from cqbot.provision import ONNX_FILE

TEXTS = [
    "Wie viele Unternehmen mit ausländischen Investitionen gibt es in Chongqing?",
    "重庆有多少家外资企业？",
    "Сколько предприятий с иностранными инвестициями работает в Чунцине?",
    "8.753 " * 600,  # longer than the model reads: truncated the same way
]


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    e = HashingEmbedder()
    a, b = e.embed_passages(["same text", "same text"])
    assert np.allclose(a, b) and np.isclose(np.linalg.norm(a), 1.0)
    assert e.embed_passages([]).shape == (0, e.dim)


@pytest.mark.model
def test_onnx_path_gives_the_reference_vectors(real_embedder) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(env={})
    location, weights = resolve_model(settings)
    fast = load_embedder(settings, fast=True)
    assert isinstance(fast, OnnxEmbedder), f"{location}/{ONNX_FILE} missing"
    assert fast.dim == real_embedder.dim == 384 and fast.weights == real_embedder.weights == weights
    for mine, ref in (
        (fast.embed_queries(TEXTS), real_embedder.embed_queries(TEXTS)),
        (fast.embed_passages(TEXTS), real_embedder.embed_passages(TEXTS)),
    ):
        assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-4)
        assert np.min(np.sum(mine * ref, axis=1)) > 0.9999


@pytest.mark.model
def test_e5_prefixes_are_applied_by_the_embedder(real_embedder) -> None:  # type: ignore[no-untyped-def]
    q = real_embedder.embed_queries(["Chongqing"])[0]
    p = real_embedder.embed_passages(["Chongqing"])[0]
    raw = real_embedder._model.encode(["query: Chongqing"], normalize_embeddings=True)[0]
    assert np.dot(q, raw) > 0.9999 and np.dot(q, p) < 0.999  # different prefixes, different vectors
