"""The build use: corpus/ -> chunks -> vectors (reusing unchanged ones) -> index/."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cqbot import __version__
from cqbot.alignment import align
from cqbot.chunking import chunk_document, clause_spans
from cqbot.config import Settings
from cqbot.corpus import read_corpus
from cqbot.errors import CqbotError
from cqbot.index import (
    Index,
    Manifest,
    load_index,
    make_faiss,
    new_generation,
    recorded_backend,
    save_index,
)
from cqbot.lexical import build_lexical, save_lexical
from cqbot.model.embedding import Embedder
from cqbot.records import Chunk, Document, Span
from cqbot.staleness import Staleness, all_hashes, compare


@dataclass(frozen=True)
class BuildReport:
    """What a build did, for the summary line and for tests."""

    documents: int
    chunks: int
    sentences: int
    embedded: int
    reused: int
    skipped: tuple[tuple[str, str], ...]
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    up_to_date: bool = False
    seconds: float = 0.0
    index_type: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def unit_text(doc: Document, start: int, end: int) -> str:
    """What is embedded for a sentence: the document title gives it context ("the city" -> which city)."""
    return f"{doc.title}: {doc.text[start:end]}"


def _vector_cache(previous: Index | None) -> dict[bytes, np.ndarray]:
    if previous is None:
        return {}
    # only sentence vectors: a chunk's stored vector is pooled, not the embedding of its text
    cache: dict[bytes, np.ndarray] = {}
    sentence_vectors = previous.sentence_vectors.read_all()
    for (row, start, end), vec in zip(previous.sentence_spans, sentence_vectors, strict=True):
        chunk = previous.chunks[int(row)]
        doc = previous.documents[chunk.doc_id]
        cache[text_key(unit_text(doc, int(start), int(end)))] = vec
    return cache


def _sentence_table(
    chunks: Sequence[Chunk], docs: dict[str, Document], warn: Callable[[str], None]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Scoring units (sentences, plus clauses of long sentences), and for units of translations
    the row of the aligned original sentence (-1 elsewhere)."""
    spans: list[tuple[int, int, int]] = []
    parent: list[Span] = []
    for row, chunk in enumerate(chunks):
        text = docs[chunk.doc_id].text
        for start, end in chunk.sentences:
            for a, b in [(start, end), *clause_spans(text, start, end)]:
                spans.append((row, a, b))
                parent.append((start, end))
    first_row: dict[tuple[str, int, int], int] = {}
    for i, (row, a, b) in enumerate(spans):
        first_row.setdefault((chunks[row].doc_id, a, b), i)
    maps: dict[str, tuple[str, dict[Span, Span]]] = {}
    for doc in docs.values():
        if doc.translation_of is None:
            continue
        original = docs.get(doc.translation_of)
        mapping = align(original, doc) if original is not None else None
        if mapping is None:
            warn(
                f"{doc.path}: cannot align with {doc.translation_of!r} (missing, or paragraphs/sentences "
                "differ); it is indexed as a document of its own"
            )
            continue
        maps[doc.id] = (doc.translation_of, mapping)
    aligned = np.full(len(spans), -1, dtype=np.int64)
    for i, (row, _a, _b) in enumerate(spans):
        entry = maps.get(chunks[row].doc_id)
        if entry is None:
            continue
        target = entry[1].get(parent[i])
        if target is not None:
            aligned[i] = first_row.get((entry[0], *target), -1)
    texts = [unit_text(docs[chunks[row].doc_id], a, b) for row, a, b in spans]
    return np.asarray(spans, dtype=np.int64).reshape(-1, 3), aligned, texts


def chunk_vectors_from_sentences(
    chunks: Sequence[Chunk], spans: np.ndarray, sentence_vectors: np.ndarray, dim: int
) -> np.ndarray:
    """Each chunk's vector: the mean of its sentences' vectors, weighted by their length, normalised
    (clause units are left out: their sentence is already in). Embedding the chunk text itself as well
    cost 60 % of a build's model time (long inputs) and measured the same on the tuning questions
    (cite@1 0.825 either way; cosine to the embedded chunk vector 0.96 on average): RESULTS.md, issue 14."""
    pooled = np.zeros((len(chunks), dim), dtype=np.float32)
    for unit, (row, start, end) in enumerate(spans.tolist()):
        if (start, end) in chunks[row].sentences:
            pooled[row] += (end - start) * sentence_vectors[unit]
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.divide(pooled, norms, out=np.zeros_like(pooled), where=norms > 0)


def build(
    settings: Settings,
    embedder: Embedder,
    *,
    full: bool = False,
    progress: bool = False,
    warn: Callable[[str], None] = lambda _msg: None,
) -> BuildReport:
    """Build or update the index in settings.index_dir; unchanged text reuses its stored vector."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    recorded_backend(settings.index_backend, settings.milvus_uri, settings.index_dir)  # a bad URI: now
    read = read_corpus(settings.corpus_dir)
    for s in read.skipped:
        warn(f"skipped {s.path}: {s.reason}")
    hashes = all_hashes(read, settings.corpus_dir)
    timings["read"] = time.perf_counter() - t0
    skipped = tuple((s.path, s.reason) for s in read.skipped)

    previous: Index | None = None
    staleness: Staleness | None = None
    if not full:
        try:
            # no dim check: the same model and weights give the same dimension, and asking for it
            # would load a lazy embedder that an up-to-date build never needs
            previous = load_index(settings.index_dir, model=embedder.name)
            staleness = compare(previous.manifest, hashes, settings, embedder.name, embedder.weights)
        except CqbotError:
            previous = None
    if previous is not None and staleness is not None and previous.manifest.weights != embedder.weights:
        previous = None
    if previous is not None and staleness is not None and not staleness.stale:
        m = previous.manifest
        return BuildReport(
            m.documents,
            m.chunks,
            m.sentences,
            0,
            m.chunks + m.sentences,
            skipped,
            up_to_date=True,
            seconds=time.perf_counter() - t0,
            index_type=m.index_type,
            timings=timings,
        )

    t1 = time.perf_counter()
    docs = {d.id: d for d in read.documents}
    chunks = [
        c for d in read.documents for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)
    ]
    spans, aligned, sentence_texts = _sentence_table(chunks, docs, warn)
    timings["chunk"] = time.perf_counter() - t1

    cache = _vector_cache(previous)
    # Only sentence units are embedded; a chunk's vector is pooled from its sentences' vectors
    # (chunk_vectors_from_sentences; chunk_document makes every chunk of whole sentences, one at least)
    keys = [text_key(t) for t in sentence_texts]
    todo: dict[bytes, str] = {}
    for key, text in zip(keys, sentence_texts, strict=True):
        if key not in cache and key not in todo:
            todo[key] = text
    t2 = time.perf_counter()
    if todo:
        fresh = embedder.embed_passages(list(todo.values()), progress=progress)
        for key, vec in zip(todo, fresh, strict=True):
            cache[key] = vec
    timings["embed"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    # nothing new to embed (a file removed, a setting changed): the model need not even be loaded
    dim = embedder.dim if todo or previous is None else previous.manifest.dim
    sentence_vectors = (
        np.stack([cache[k] for k in keys], dtype=np.float32) if keys else np.zeros((0, dim), np.float32)
    )
    chunk_vectors = chunk_vectors_from_sentences(chunks, spans, sentence_vectors, dim)
    # with index_backend "milvus" these are plans of Milvus indexes; save_index writes the vectors there
    backend = (settings.index_backend, settings.milvus_uri)
    findex, kind = make_faiss(chunk_vectors, settings.exact_search_limit, *backend)
    unit_index, unit_kind = make_faiss(sentence_vectors, settings.exact_search_limit, *backend)
    kind = f"{kind}+{unit_kind}"  # chunk index + sentence-unit index
    manifest = Manifest(
        model=embedder.name,
        weights=embedder.weights,
        dim=dim,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        files=hashes,
        documents=len(docs),
        chunks=len(chunks),
        sentences=len(sentence_texts),
        index_type=kind,
        cqbot_version=__version__,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        generation=new_generation(),
        skipped=dict(skipped),
    )
    save_index(
        settings.index_dir,
        manifest,
        list(docs.values()),
        chunks,
        chunk_vectors,
        spans,
        aligned,
        sentence_vectors,
        findex,
        unit_index,
        lexical=lambda folder: save_lexical(build_lexical(chunks), folder),
        backend=settings.index_backend,
        milvus_uri=settings.milvus_uri,
    )
    timings["index+save"] = time.perf_counter() - t3
    return BuildReport(
        len(docs),
        len(chunks),
        len(sentence_texts),
        len(todo),
        len(sentence_texts) - len(todo),
        skipped,
        added=staleness.added if staleness else tuple(sorted(hashes)),
        changed=staleness.changed if staleness else (),
        removed=staleness.removed if staleness else (),
        seconds=time.perf_counter() - t0,
        index_type=kind,
        timings=timings,
    )
