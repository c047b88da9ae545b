"""The one place that wires the stages: Chatbot.from_settings() and Chatbot.ask()."""

from __future__ import annotations

import hashlib
import os
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import replace
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from cqbot.answer import Evidence, RefusalPolicy, cite, compose, rank_hits
from cqbot.config import Settings, load_settings
from cqbot.constraints import (
    acronyms,
    asks_money,
    asks_name,
    has_money,
    has_name,
    has_quantity,
    needs_number,
    places_in,
)
from cqbot.embedding import Embedder, load_embedder
from cqbot.errors import QuestionError
from cqbot.index import Index, load_index, single_threaded_search
from cqbot.language import detect_language
from cqbot.messages import message
from cqbot.records import Answer, Turn
from cqbot.retrieval import Retriever, SentenceHit

if TYPE_CHECKING:
    from cqbot.llm import Generator

MAX_QUESTION_CHARS = 1000
FOLLOW_UP_WEIGHT = 0.5
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|documents?|rules|previous|above)\b"
    r"|\b(ignorier|vergiss)\w*\b.{0,40}\b(anweisung|dokument|regeln)\w*"
    r"|忽略.{0,10}(指令|文档|说明)|system prompt",
    re.IGNORECASE,
)
_FOLLOW_UP = re.compile(
    r"^\s*(and|also|what about|how about|und|auch|et|aussi|y|también|и|а|还|那|那么|其中|また|それ)\b"
    r"|\b(them|they|those|these|it|its|sie|diese|davon|ils|elles|ellos|ellas|они|их|他们|它们|其中|その)\b",
    re.IGNORECASE,
)


def clean_question(raw: object) -> tuple[str, bool]:
    """Normalised question text and whether it had to be shortened; raises QuestionError if empty."""
    if not isinstance(raw, str):
        raise QuestionError("the question must be text")
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", raw))
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QuestionError("the question is empty; ask something about the documents")
    if len(text) > MAX_QUESTION_CHARS:
        return text[:MAX_QUESTION_CHARS], True
    return text, False


def _as_turns(history: Sequence[Turn | str | dict[str, str]] | None) -> list[Turn]:
    turns: list[Turn] = []
    for item in history or ():
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, str):
            turns.append(Turn(item))
        elif (
            isinstance(item, dict)
            and item.get("role", "user") == "user"
            and isinstance(item.get("content"), str)
        ):
            turns.append(Turn(item["content"]))
    return turns


def load_anchors() -> list[str]:
    text = resources.files("cqbot").joinpath("data/offtopic.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def anchor_vectors(settings: Settings, embedder: Embedder) -> np.ndarray:
    """Vectors of the off-topic anchors phrased about the corpus subject, cached per model."""
    subject = f"{settings.subject}: " if settings.subject else ""
    texts = [subject + a for a in load_anchors()]
    key = hashlib.sha256("\n".join([embedder.name, embedder.weights, *texts]).encode()).hexdigest()[:16]
    path = settings.cache_dir / "anchors" / f"{key}.npy"
    try:
        cached = np.load(path)
        if cached.shape == (len(texts), embedder.dim):
            return np.asarray(cached, dtype=np.float32)
    except (OSError, ValueError):
        pass
    vectors = embedder.embed_passages(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(tmp, vectors)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs the anchors' embedding time
    return vectors


class Chatbot:
    """A loaded index, embedder and retriever; `ask` answers one question with citations."""

    def __init__(
        self, settings: Settings, embedder: Embedder, index: Index, policy: RefusalPolicy | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self.retriever = Retriever(index, settings)
        single_threaded_search()
        self.policy = policy or RefusalPolicy(settings.min_margin)
        self._anchors = anchor_vectors(settings, embedder)
        self.generator: Generator | None = None
        if settings.llm_url:
            from cqbot.llm import Generator

            self.generator = Generator(settings, embedder, index, self.retriever)
        embedder.embed_queries(["warm-up"])  # the first call pays one-off setup; not the first asker

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, embedder: Embedder | None = None, **overrides: Any
    ) -> Chatbot:
        settings = settings or load_settings(**overrides)
        embedder = embedder or load_embedder(settings, fast=True)
        index = load_index(settings.index_dir, model=embedder.name, dim=embedder.dim)
        return cls(settings, embedder, index)

    def _query(self, question: str, turns: list[Turn]) -> np.ndarray:
        """The question's vector; a follow-up ("and how many of them…") leans on the previous question."""
        if turns and (len(question) < 40 or _FOLLOW_UP.search(question)):
            cur, prev = self.embedder.embed_queries([question, turns[-1].question])
            vec = cur + FOLLOW_UP_WEIGHT * prev
            return np.asarray(vec / np.linalg.norm(vec), dtype=np.float32)
        return np.asarray(self.embedder.embed_queries([question])[0])

    def ask(self, question: str, history: Sequence[Turn | str | dict[str, str]] | None = None) -> Answer:
        """Answer `question` from the documents, citing exact sentences, or say they do not answer it.

        With an LLM endpoint configured (llm_url) an answerable question gets a generated answer whose
        every [n] was checked against passage n (mode "generated"); on any failure, the extractive one.
        """
        t0 = time.perf_counter()
        turns = _as_turns(history)
        extractive, hits = self._extractive(question, turns, t0)
        # --- generated answers (llm.py): only where the extractive path would answer ---
        if self.generator is None or not extractive.answered:
            return extractive
        answer = self.generator.answer(extractive, hits, turns)
        return replace(answer, latency_ms=(time.perf_counter() - t0) * 1000)

    def ask_stream(
        self, question: str, history: Sequence[Turn | str | dict[str, str]] | None = None
    ) -> Iterator[str | Answer]:
        """Like `ask`, streamed: zero or more `str` pieces of generated text, then exactly one `Answer`.

        The pieces are the endpoint's raw text as it arrives (markers not yet checked); the final
        Answer is the checked one, whose `answer` replaces everything streamed before it (it may be
        renumbered, or the extractive answer with a notice). Without an endpoint, or for a question
        the documents do not answer, only the Answer comes. Raises QuestionError (when iteration starts).
        """
        t0 = time.perf_counter()
        turns = _as_turns(history)
        extractive, hits = self._extractive(question, turns, t0)
        if self.generator is None or not extractive.answered:
            yield extractive
            return
        for item in self.generator.stream(extractive, hits, turns):
            yield (
                item if isinstance(item, str) else replace(item, latency_ms=(time.perf_counter() - t0) * 1000)
            )

    def _extractive(self, question: str, turns: list[Turn], t0: float) -> tuple[Answer, list[SentenceHit]]:
        """The extractive answer and the ranked sentence hits it was cited from."""
        text, shortened = clean_question(question)
        lang = detect_language(text)
        qvec = self._query(text, turns)
        hits = rank_hits(self.retriever.candidates(text, qvec))
        citations = [
            replace(c, translation=self.retriever.translation(c.chunk_id, c.start, c.end, lang))
            for c in cite(self.index, hits, self.settings.max_citations)
        ]
        evidence = self.evidence(text, qvec, hits)
        answered = bool(citations) and self.policy.answers(evidence)
        notes = []
        if shortened:
            notes.append(message(lang, "shortened", n=MAX_QUESTION_CHARS))
        if _INSTRUCTION.search(text):
            notes.append(message(lang, "instructions"))
        answer = Answer(
            question=text,
            language=lang,
            answered=answered,
            answer=compose(lang, citations, answered),
            citations=tuple(citations) if answered else (),
            latency_ms=(time.perf_counter() - t0) * 1000,
            notice=" ".join(notes) or None,
        )
        return answer, hits

    def evidence(self, question: str, qvec: np.ndarray, hits: Sequence[SentenceHit]) -> Evidence:
        if not hits:
            return Evidence(0.0, 1.0, 0.0, False)
        best = hits[0]
        background = float(np.max(self._anchors @ qvec)) if len(self._anchors) else 0.0
        doc_id = self.index.chunks[best.chunk_row].doc_id
        terms, places = acronyms(question), places_in(question)
        missing = False
        if terms or places:
            texts = "\n".join(self.retriever.family_texts(doc_id))  # a term may be in a translation only
            missing = any(term not in texts for term in terms) or not places <= places_in(texts)
        versions = self.retriever.versions((doc_id, best.start, best.end))
        no_number = needs_number(question) and not any(has_quantity(t) for t in versions)
        no_number = no_number or (asks_money(question) and not any(has_money(t) for t in versions))
        # a name asked for: checked where the sentence has an aligned English translation to read
        english = self.retriever.translations(doc_id, best.start, best.end).get("en")
        unnamed = english is not None and not has_name(english, self.settings.subject)
        missing = missing or (asks_name(question) and unnamed)
        return Evidence(best.score, background, best.lexical, best.year < 0, missing, no_number)
