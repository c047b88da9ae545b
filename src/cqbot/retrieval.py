"""Hybrid retrieval: dense FAISS search + BM25, fused by reciprocal rank; then sentence-level scoring."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from cqbot.config import Settings
from cqbot.constraints import years_in
from cqbot.index import Index
from cqbot.lexical import build_lexical, load_lexical, term_overlap, tokenize
from cqbot.translations import SentenceKey, Translations

# sentence units taken from the nearest-neighbour search: among thousands of documents that read
# alike, the right sentence can be past the 50th (dev set among 10k generated chunks: cite@3 0.67
# at 50, 0.96 at 200, 1.0 at 300; each 100 more cost ~2-3 ms at 10k chunks).
UNIT_K = 200
TERMS_CACHED = 4096  # sentences whose tokens are kept (a few MB)


@dataclass(frozen=True)
class SentenceHit:
    """One sentence (or clause of a long sentence) of an original document, scored against the question.

    `score` is the cosine of the question with the sentence (or with its aligned translation,
    whichever is higher); `lexical` the BM25 score of its chunk relative to the best chunk;
    `primary` whether the document is an original rather than a summary; `year` is +1 when the
    sentence names a year the question asks about, -1 when the question names years it lacks;
    `overlap` the share of the question's terms found in the sentence or its translations;
    `subject` whether the document (or a translation of it) names the corpus subject
    (settings.subject or one of settings.subject_names): among documents about other places that
    read alike, a question that names no place is taken to be about the subject.
    """

    chunk_row: int
    unit: int
    start: int
    end: int
    score: float
    lexical: float = 0.0
    primary: bool = True
    year: int = 0
    overlap: float = 0.0
    subject: bool = False


def rank_hits(hits: Sequence[SentenceHit]) -> list[SentenceHit]:
    """Order sentence hits by the combined score used for citing."""
    return sorted(hits, key=combined_score, reverse=True)


# Weights of the secondary signals, chosen on the tuning part of the question bank (eval/tuning.jsonl,
# benchmarks/RESULTS.md): dense similarity leads; the primary source wins near-ties with summaries that
# restate it (0.03: at 0.04 the summaries lose questions about themselves, at 0.02 the source loses its
# own); a year the question asks about must be in the sentence.
W_LEXICAL = 0.02
W_PRIMARY = 0.03
W_YEAR = 0.1
# Question terms in the sentence or its translations (rare among the candidates weigh more): tells
# apart sentences of one chunk that e5 scores alike. 0.02 and 0.03 tie on cite@1 (0.825); 0.02 declines
# one more near miss.
W_OVERLAP = 0.02
# A document about the corpus subject (settings.subject) over look-alikes about other places, for
# questions that name no place (a question naming a place matches that place's sentences anyway).
W_SUBJECT = 0.04


def combined_score(hit: SentenceHit) -> float:
    return (
        hit.score
        + W_LEXICAL * hit.lexical
        + W_PRIMARY * hit.primary
        + W_YEAR * hit.year
        + W_OVERLAP * hit.overlap
        + W_SUBJECT * hit.subject
    )


class Retriever:
    """Holds the loaded index and the lexical index; answers `search` for one query at a time."""

    def __init__(self, index: Index, settings: Settings, translations: Translations | None = None) -> None:
        self.index = index
        self.settings = settings
        self.translations = translations or Translations(index)
        stored = index.lexical_dir()
        self._bm25 = load_lexical(stored) if stored is not None else build_lexical(index.chunks)
        self._sentences_of: list[list[int]] = [[] for _ in index.chunks]
        for i, row in enumerate(index.sentence_spans[:, 0]):
            self._sentences_of[int(row)].append(i)
        self._terms_cache: dict[SentenceKey, frozenset[str]] = {}
        self._subject_of: dict[str, bool] = {}
        self._terms_lock = threading.Lock()

    def _terms(self, key: SentenceKey) -> frozenset[str]:
        """Lexical tokens of an original sentence and its translations (recently used ones cached)."""
        cached = self._terms_cache.get(key)
        if cached is None:
            cached = frozenset(t for text in self.translations.versions(key) for t in tokenize(text))
            with self._terms_lock:  # the chat answers two questions at a time
                if len(self._terms_cache) >= TERMS_CACHED:
                    self._terms_cache.pop(next(iter(self._terms_cache)))
                self._terms_cache[key] = cached
        return cached

    def _subject_names(self) -> list[str]:
        """The subject and its other spellings (none when no subject is set)."""
        if not self.settings.subject.strip():
            return []
        return [self.settings.subject, *self.settings.subject_names.split("|")]

    def _about_subject(self, doc_id: str) -> bool:
        """Whether a document, its title or a translation names settings.subject (remembered per document)."""
        known = self._subject_of.get(doc_id)
        if known is None:
            names = [n.strip().lower() for n in self._subject_names() if n.strip()]
            texts = [self.index.documents[doc_id].title, *self.translations.family_texts(doc_id)]
            # plain lower(): NFKC of whole documents cost 8 ms a question at 100k chunks
            known = any(name in t.lower() for t in texts for name in names)
            self._subject_of[doc_id] = known
        return known

    def lexical_scores(self, question: str) -> np.ndarray:
        tokens = [t for t in tokenize(question) if t in self._bm25.vocab_dict]
        if not tokens:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def search(self, question: str, qvec: np.ndarray, lex: np.ndarray | None = None) -> list[int]:
        """Rows of the top chunks by reciprocal-rank fusion of the dense and lexical rankings."""
        s = self.settings
        _scores, rows = self.index.search(qvec[None, :], s.dense_k)
        fused: dict[int, float] = {}
        for rank, row in enumerate(int(r) for r in rows[0]):
            if row >= 0:
                fused[row] = fused.get(row, 0.0) + 1.0 / (s.rrf_k + rank + 1)
        lex = self.lexical_scores(question) if lex is None else lex
        for rank, row in enumerate(int(r) for r in np.argsort(-lex)[: s.lexical_k]):
            if lex[row] <= 0:
                break
            fused[row] = fused.get(row, 0.0) + 1.0 / (s.rrf_k + rank + 1)
        return [row for row, _score in sorted(fused.items(), key=lambda kv: -kv[1])[: s.top_k]]

    def candidates(self, question: str, qvec: np.ndarray) -> list[SentenceHit]:
        """Sentences worth citing, best first: the nearest sentence units overall plus the sentences
        of the top fused chunks. A sentence of a translation counts for the aligned sentence of its
        original, so the original is what gets cited; duplicates merge."""
        idx = self.index
        lex = self.lexical_scores(question)
        top_lex = float(lex.max()) if len(lex) else 0.0
        top_rows = self.search(question, qvec, lex)
        scores, units = idx.search_units(qvec, UNIT_K)
        score_of = {int(u): float(sc) for u, sc in zip(units, scores, strict=True)}
        extra = [u for row in top_rows for u in self._sentences_of[row] if u not in score_of]
        if extra:
            for u, sc in zip(extra, idx.sentence_vectors.rows(extra) @ qvec, strict=True):
                score_of[u] = float(sc)
        years = years_in(question)
        hits: dict[tuple[str, int, int], SentenceHit] = {}
        for unit, score in score_of.items():
            target = int(idx.sentence_align[unit])
            target = unit if target < 0 else target
            row, start, end = (int(x) for x in idx.sentence_spans[target])
            doc = idx.documents[idx.chunks[row].doc_id]
            key = (doc.id, start, end)
            if key in hits and hits[key].score >= score:
                continue
            year = 0
            if years:
                year = 1 if years & years_in(doc.text[start:end]) else -1
            hits[key] = SentenceHit(
                row,
                target,
                start,
                end,
                score,
                lexical=float(lex[row]) / top_lex if top_lex > 0 else 0.0,
                primary=doc.kind == "original",
                year=year,
            )
        overlap = term_overlap(question, {key: self._terms(key) for key in hits})
        return [
            replace(hit, overlap=overlap[key], subject=self._about_subject(key[0]))
            for key, hit in hits.items()
        ]
