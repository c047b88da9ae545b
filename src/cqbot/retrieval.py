"""Hybrid retrieval: dense FAISS search + BM25, fused by reciprocal rank; then sentence-level scoring."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from cqbot.config import Settings
from cqbot.index import Index
from cqbot.records import Chunk, Passage

_TOKEN = re.compile(
    r"\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?"  # numbers with thousands separators: 8.753, 8,753, 8 753
    r"|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+"  # CJK runs
    r"|\w+",
    re.UNICODE,
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
COMPOUND_MIN = 9
NGRAM = 5


def tokenize(text: str) -> list[str]:
    """Lexical tokens: words, numbers without separators, CJK bigrams, 5-grams of long (compound) words."""
    out: list[str] = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", text).lower()):
        tok = match.group()
        if tok[0].isdigit():
            out.append(re.sub(r"[.,\s]", "", tok))
        elif _CJK.match(tok):
            out.extend(tok)
            out.extend(tok[i : i + 2] for i in range(len(tok) - 1))
        else:
            out.append(tok)
            if len(tok) >= COMPOUND_MIN:
                out.extend("#" + tok[i : i + NGRAM] for i in range(len(tok) - NGRAM + 1))
    return out


@dataclass(frozen=True)
class SentenceHit:
    """One sentence (or clause of a long sentence) scored against the question."""

    chunk_row: int
    start: int
    end: int
    score: float
    chunk_score: float
    lexical: float


class Retriever:
    """Holds the loaded index and the lexical index; answers `search` for one query at a time."""

    def __init__(self, index: Index, settings: Settings) -> None:
        import bm25s

        self.index = index
        self.settings = settings
        self._bm25: Any = bm25s.BM25()
        corpus_tokens = [tokenize(c.text) or ["\u0000"] for c in index.chunks]
        self._bm25.index(corpus_tokens, show_progress=False)
        self._sentences_of: list[list[int]] = [[] for _ in index.chunks]
        for i, row in enumerate(index.sentence_spans[:, 0]):
            self._sentences_of[int(row)].append(i)

    def lexical_scores(self, question: str) -> np.ndarray:
        tokens = [t for t in tokenize(question) if t in self._bm25.vocab_dict]
        if not tokens:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def search(self, question: str, qvec: np.ndarray) -> list[Passage]:
        """Top chunks by reciprocal-rank fusion of dense and lexical rankings."""
        s = self.settings
        dense_scores, rows = self.index.search(qvec[None, :], s.dense_k)
        fused: dict[int, float] = {}
        dense: dict[int, float] = {}
        for rank, (row, score) in enumerate(zip(rows[0], dense_scores[0], strict=True)):
            if row < 0:
                continue
            dense[int(row)] = float(score)
            fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (s.rrf_k + rank + 1)
        lex = self.lexical_scores(question)
        lex_rows = np.argsort(-lex)[: s.lexical_k]
        for rank, row in enumerate(lex_rows):
            if lex[row] <= 0:
                break
            fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (s.rrf_k + rank + 1)
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])[: s.top_k]
        return [
            Passage(
                self.index.chunks[row],
                score,
                dense.get(row, self._dense_of(row, qvec)),
                float(lex[row]),
                i + 1,
            )
            for i, (row, score) in enumerate(ranked)
        ]

    def _dense_of(self, row: int, qvec: np.ndarray) -> float:
        return float(np.asarray(self.index.chunk_vectors[row]) @ qvec)

    def row_of(self, chunk: Chunk) -> int:
        return self._row_by_id()[chunk.id]

    def _row_by_id(self) -> dict[str, int]:
        cached: dict[str, int] | None = getattr(self, "_rows", None)
        if cached is None:
            cached = {c.id: i for i, c in enumerate(self.index.chunks)}
            self._rows = cached
        return cached

    def sentences(self, passages: list[Passage], qvec: np.ndarray, question: str) -> list[SentenceHit]:
        """Sentences of the given passages, best first; duplicates from overlapping chunks removed."""
        q_tokens = set(tokenize(question))
        hits: dict[tuple[str, int, int], SentenceHit] = {}
        for p in passages:
            row = self.row_of(p.chunk)
            ids = self._sentences_of[row]
            if not ids:
                continue
            vecs = np.asarray(self.index.sentence_vectors[ids])
            scores = vecs @ qvec
            text = self.index.documents[p.chunk.doc_id].text
            for sid, score in zip(ids, scores, strict=True):
                _, start, end = (int(x) for x in self.index.sentence_spans[sid])
                toks = set(tokenize(text[start:end]))
                overlap = len(q_tokens & toks) / max(1, len(q_tokens))
                key = (p.chunk.doc_id, start, end)
                hit = SentenceHit(row, start, end, float(score), p.dense, overlap)
                if key not in hits or hits[key].score < hit.score:
                    hits[key] = hit
        return sorted(hits.values(), key=lambda h: -h.score)
