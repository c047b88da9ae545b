"""Hybrid retrieval: dense FAISS search + BM25, fused by reciprocal rank; then sentence-level scoring."""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from cqbot.config import Settings
from cqbot.constraints import years_in
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


# sentence units taken from the nearest-neighbour search: among thousands of documents that read
# alike, the right sentence can be past the 50th (dev set among 10k generated chunks: cite@3 0.67
# at 50, 0.96 at 200, 1.0 at 300; each 100 more cost ~2-3 ms at 10k chunks).
UNIT_K = 200
TERMS_CACHED = 4096  # sentences whose tokens are kept (a few MB)
SentenceKey = tuple[str, int, int]  # an original sentence: document id, start, end
K = TypeVar("K")


def build_lexical(chunks: Sequence[Chunk]) -> Any:
    """BM25 over the chunks (row i = chunk i), with cqbot's multilingual tokens."""
    import bm25s

    # Token ids, not token strings: each distinct token is stored once (in `vocab`), so the build holds
    # a pointer per token instead of a new string (lexical build at 10k chunks: +495 MB -> +143 MB;
    # the same scores).
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(c.text) or ["\u0000"]] for c in chunks]
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    return bm25


def save_lexical(bm25: Any, folder: Path) -> None:
    bm25.save(str(folder), show_progress=False)


def load_lexical(folder: Path) -> Any:
    """The stored BM25 index, memory-mapped (no tokenising of the corpus at start-up)."""
    import bm25s

    return bm25s.BM25.load(str(folder), mmap=True, show_progress=False)


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


def _weighted_share(asked: set[str], found: dict[K, set[str]]) -> dict[K, float]:
    """Per candidate, the share of asked terms it holds, each weighted by its rarity among the candidates."""
    df: dict[str, int] = {}
    for shared in found.values():
        for t in shared:
            df[t] = df.get(t, 0) + 1
    weight = {t: math.log(1 + len(found) / n) for t, n in df.items()}
    total = sum(weight.values())
    return {key: sum(weight[t] for t in shared) / total if total else 0.0 for key, shared in found.items()}


def term_overlap(question: str, terms: dict[SentenceKey, frozenset[str]]) -> dict[SentenceKey, float]:
    """Share of the question's terms (weighted by rarity among the candidates) in each candidate sentence.

    `terms` holds each candidate's lexical tokens (of the sentence and its aligned translations): a
    question term matches in whichever language it is written. Rarity is counted over the candidates
    only, so a term every candidate shares ("Chongqing") weighs little.
    """
    asked = set(tokenize(question))
    return _weighted_share(asked, {key: asked & have for key, have in terms.items()})


class Retriever:
    """Holds the loaded index and the lexical index; answers `search` for one query at a time."""

    def __init__(self, index: Index, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        stored = index.lexical_dir()
        self._bm25 = load_lexical(stored) if stored is not None else build_lexical(index.chunks)
        self._sentences_of: list[list[int]] = [[] for _ in index.chunks]
        for i, row in enumerate(index.sentence_spans[:, 0]):
            self._sentences_of[int(row)].append(i)
        self._translations = self._translation_table()
        self._terms_cache: dict[SentenceKey, frozenset[str]] = {}
        self._subject_of: dict[str, bool] = {}
        self._translated: dict[str, list[str]] = {}
        for doc in index.documents.values():
            if doc.translation_of:
                self._translated.setdefault(doc.translation_of, []).append(doc.id)
        self._terms_lock = threading.Lock()

    def _translation_table(self) -> dict[tuple[str, int, int], dict[str, str]]:
        """Original sentence (doc id, start, end) -> {language: aligned translation sentence}."""
        table: dict[tuple[str, int, int], dict[str, str]] = {}
        idx = self.index
        for unit in np.flatnonzero(idx.sentence_align >= 0):
            row, start, end = (int(x) for x in idx.sentence_spans[unit])
            o_row, o_start, o_end = (int(x) for x in idx.sentence_spans[int(idx.sentence_align[unit])])
            doc = idx.documents[idx.chunks[row].doc_id]
            key = (idx.chunks[o_row].doc_id, o_start, o_end)
            current = table.setdefault(key, {}).get(doc.lang, "")
            if end - start > len(current):
                table[key][doc.lang] = doc.text[start:end]
        return table

    def versions(self, key: SentenceKey) -> list[str]:
        """An original sentence (document id, start, end) and its aligned translations."""
        doc_id, start, end = key
        return [self.index.documents[doc_id].text[start:end], *self._translations.get(key, {}).values()]

    def family_texts(self, doc_id: str) -> list[str]:
        """A document's text and the texts of its translations."""
        docs = self.index.documents
        return [docs[doc_id].text, *(docs[t].text for t in self._translated.get(doc_id, ()) if t in docs)]

    def _terms(self, key: SentenceKey) -> frozenset[str]:
        """Lexical tokens of an original sentence and its translations (recently used ones cached)."""
        cached = self._terms_cache.get(key)
        if cached is None:
            cached = frozenset(t for text in self.versions(key) for t in tokenize(text))
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
            texts = [self.index.documents[doc_id].title, *self.family_texts(doc_id)]
            # plain lower(): NFKC of whole documents cost 8 ms a question at 100k chunks
            known = any(name in t.lower() for t in texts for name in names)
            self._subject_of[doc_id] = known
        return known

    def translations(self, doc_id: str, start: int, end: int) -> dict[str, str]:
        """{language: aligned translation} of the original sentence at exactly [start, end)."""
        return dict(self._translations.get((doc_id, start, end), {}))

    def translation(self, chunk_id: str, start: int, end: int, lang: str) -> str | None:
        """The aligned translation, in `lang`, of the original sentence holding [start, end)."""
        chunk = self.index.chunks[self._row_by_id()[chunk_id]]
        for s_start, s_end in chunk.sentences:
            if s_start <= start and end <= s_end:
                return self._translations.get((chunk.doc_id, s_start, s_end), {}).get(lang)
        return None

    def lexical_scores(self, question: str) -> np.ndarray:
        tokens = [t for t in tokenize(question) if t in self._bm25.vocab_dict]
        if not tokens:
            return np.zeros(len(self.index.chunks), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def search(self, question: str, qvec: np.ndarray, lex: np.ndarray | None = None) -> list[Passage]:
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
        lex = self.lexical_scores(question) if lex is None else lex
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
        return float(self.index.chunk_vectors.rows(row) @ qvec)

    def row_of(self, chunk: Chunk) -> int:
        return self._row_by_id()[chunk.id]

    def _row_by_id(self) -> dict[str, int]:
        cached: dict[str, int] | None = getattr(self, "_rows", None)
        if cached is None:
            cached = {c.id: i for i, c in enumerate(self.index.chunks)}
            self._rows = cached
        return cached

    def candidates(self, question: str, qvec: np.ndarray) -> list[SentenceHit]:
        """Sentences worth citing, best first: the nearest sentence units overall plus the sentences
        of the top fused chunks. A sentence of a translation counts for the aligned sentence of its
        original, so the original is what gets cited; duplicates merge."""
        idx = self.index
        lex = self.lexical_scores(question)
        top_lex = float(lex.max()) if len(lex) else 0.0
        passages = self.search(question, qvec, lex)
        scores, units = idx.search_units(qvec, UNIT_K)
        score_of = {int(u): float(sc) for u, sc in zip(units, scores, strict=True)}
        extra = [u for p in passages for u in self._sentences_of[self.row_of(p.chunk)] if u not in score_of]
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
