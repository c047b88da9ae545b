"""The embedder seam: prefixes, normalisation, and the ONNX path giving the reference vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cqbot.config import load_settings
from cqbot.model.embedding import OnnxEmbedder, load_embedder, resolve_model
from cqbot.model.onnx_export import ONNX_FILE
from fakes import HashingEmbedder

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


@pytest.mark.model
def test_onnx_export_keeps_weights_in_mapped_files_beside_the_graph(real_embedder) -> None:  # type: ignore[no-untyped-def]
    from cqbot.model.arrays import RowFile
    from cqbot.model.onnx_export import ONNX_OLD, WORDS_FILE

    assert isinstance(load_embedder(load_settings(env={}), fast=True), OnnxEmbedder)
    folder = Path(resolve_model(load_settings(env={}))[0])
    graph = folder / ONNX_FILE
    # the graph alone is small; the encoder weights and the word table are files the bot maps
    assert graph.stat().st_size < 5 * 2**20
    assert graph.with_name(graph.name + ".data").stat().st_size > 50 * 2**20
    words = RowFile(folder / WORDS_FILE)
    assert words.shape[0] >= 250_002 and words.shape[1] == 384 and words.dtype == np.float32
    assert not [p.name for p in graph.parent.iterdir() if p.name.startswith(".export-")]
    assert not [old for old in ONNX_OLD if (folder / old).exists()]


@pytest.mark.model
def test_sentencepiece_model_gives_the_hf_tokenizer_ids(real_embedder) -> None:  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    from cqbot.evaluation.goldset import load_questions
    from cqbot.model.tokenizer import SPM_FILE, SpmTokenizer

    folder = Path(resolve_model(load_settings(env={}))[0])
    hf = Tokenizer.from_file(str(folder / "tokenizer.json"))
    hf.enable_truncation(512)
    mine = SpmTokenizer(folder / SPM_FILE)
    root = Path(__file__).resolve().parents[1]
    texts = [line for doc in sorted((root / "corpus").glob("*.md")) for line in doc.read_text().splitlines()]
    texts += [q.question for q in load_questions(root / "eval" / "questions.jsonl")[0]]
    texts += [*TEXTS, "", " ", "  many   spaces \t tabs\nlines ", "ＦＵＬＬ １２３ ﬁ ①", "emoji 😀🇨🇳 \u200b"]
    texts = [p + t for t in texts for p in ("query: ", "passage: ")]
    assert len(texts) > 1000
    different = [t for t in texts if hf.encode(t).ids != mine.ids(t)]
    assert not different, different[:3]
    ids, mask = mine.batch(["query: a", "query: " + "Chongqing " * 600])
    assert ids.shape == mask.shape == (2, 512) and mask[0].sum() < 10 and ids[0, -1] == 1  # padded


@pytest.mark.model
def test_build_embedder_batches_by_length_and_keeps_the_order(real_embedder) -> None:  # type: ignore[no-untyped-def]
    from cqbot.model.embedding import passage_embedder

    settings = load_settings(env={}).replace(batch_size=2)  # several batches, each of similar lengths
    texts = [TEXTS[3], "Chongqing", TEXTS[0], TEXTS[1], "8.753", TEXTS[2]]
    build = passage_embedder(settings)
    assert build.weights == real_embedder.weights  # an index built either way is reused by the other
    mine, ref = build.embed_passages(texts), real_embedder.embed_passages(texts)
    assert mine.shape == (len(texts), 384)
    assert np.min(np.sum(mine * ref, axis=1)) > 0.9999  # row by row: the order given, not the batch order
