"""The one place that wires the stages: Chatbot.from_settings() and Chatbot.ask()."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from cqbot.answer import SECOND_CITATION_GAP, cite, compose
from cqbot.asking import QuestionAnalyser, cached_vectors
from cqbot.config import Settings, load_settings
from cqbot.decision import Decider
from cqbot.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    QuestionError,
    first_line,
)
from cqbot.faiss_store import single_threaded_search
from cqbot.index import Index, load_index
from cqbot.language import detect_language
from cqbot.messages import message
from cqbot.model.embedding import Embedder, load_embedder
from cqbot.numbers import ascii_digits
from cqbot.records import Answer, Turn
from cqbot.retrieval import Retriever, SentenceHit, rank_hits
from cqbot.translations import Translations

if TYPE_CHECKING:
    from cqbot.generate.llm import Generator

MAX_QUESTION_CHARS = 1000
CLOSEST = 2  # nearest sentences shown with a decline ("closest passages, not an answer")
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
    # digits of other scripts as ASCII (۲۰۲۲ -> 2022): read by the year and number checks, the lexical
    # index and the model alike
    text = ascii_digits(_CONTROL.sub(" ", unicodedata.normalize("NFC", raw)))
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


_LANGUAGE_TAG = re.compile(r"#\s*([a-z]{2,3})\s*")


def load_anchors() -> list[tuple[str, str]]:
    """(language, text) of each off-topic anchor of data/offtopic.txt, where a line "# xx" starts the
    anchors in language xx (other '#' lines are comments)."""
    text = resources.files("cqbot").joinpath("data/offtopic.txt").read_text(encoding="utf-8")
    out, lang = [], ""
    for line in text.splitlines():
        tag = _LANGUAGE_TAG.fullmatch(line)
        if tag:
            lang = tag.group(1)
        elif line.strip() and not line.startswith("#"):
            out.append((lang, line.strip()))
    return out


def anchor_vectors(settings: Settings, embedder: Embedder, anchors: Sequence[tuple[str, str]]) -> np.ndarray:
    """Vectors of the off-topic anchors (load_anchors) phrased about the corpus subject, cached per model."""
    subject = f"{settings.subject}: " if settings.subject else ""
    texts = [subject + a for _lang, a in anchors]
    return cached_vectors(settings.cache_dir, embedder, texts, queries=False)


class Chatbot:
    """A loaded index, embedder and retriever; `ask` answers one question with citations."""

    def __init__(self, settings: Settings, embedder: Embedder, index: Index) -> None:
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self.translations = Translations(index)
        self.retriever = Retriever(index, settings, self.translations)
        single_threaded_search()
        self.analyser = QuestionAnalyser.load(settings.cache_dir, embedder, settings.question_analysis)
        anchors = load_anchors()
        self.decider = Decider(
            self.translations,
            anchor_vectors(settings, embedder, anchors),
            settings.min_margin,
            settings.subject,
            anchor_langs=[lang for lang, _text in anchors],
        )
        self.generator: Generator | None = None
        if settings.llm_url:
            from cqbot.generate.llm import Generator

            self.generator = Generator(settings, embedder, index, self.translations)
        embedder.embed_queries(["warm-up"])  # the first call pays one-off setup; not the first asker
        detect_language("warm-up")  # loads the language model (~0.4 s)

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
        decision = self.decider.decide(text, qvec, hits, self.analyser.analyse(text, qvec), lang)
        if decision.rank:  # the answer stands on a sentence after the best (decision.py): cite it first
            hits = [hits[decision.rank], *hits[: decision.rank], *hits[decision.rank + 1 :]]
        limit = self.settings.max_citations if decision.answered else CLOSEST
        citations = [
            replace(c, translation=self.translations.in_language(c.chunk_id, c.start, c.end, lang))
            for c in cite(self.index, hits, limit, gap=None if not decision.answered else SECOND_CITATION_GAP)
        ]
        answered = bool(citations) and decision.answered
        notes = []
        if shortened:
            notes.append(message(lang, "shortened", n=MAX_QUESTION_CHARS))
        if _INSTRUCTION.search(text):
            notes.append(message(lang, "instructions"))
        answer = Answer(
            question=text,
            language=lang,
            answered=answered,
            answer=compose(lang, citations, answered, decision),
            citations=tuple(citations) if answered else (),
            latency_ms=(time.perf_counter() - t0) * 1000,
            notice=" ".join(notes) or None,
            closest=() if answered else tuple(citations),
            evidence=decision.to_dict(),
        )
        return answer, hits


def open_chatbot(settings: Settings, *, say: Callable[[str], None] = lambda _msg: None) -> Chatbot:
    """The bot over settings.index_dir, after building the index if it is missing or stale (what
    `cqbot serve` does first); `say` hears what is being done."""
    from cqbot import builder, staleness
    from cqbot.model.embedding import passage_embedder, resolve_model

    _location, weights = resolve_model(settings)
    try:
        report = staleness.check(settings, settings.model, weights)
        reasons, full = list(report.reasons), False
    except IndexMissingError:
        reasons, full = ["no index yet"], False
    except (IndexMismatchError, IndexCorruptError) as exc:
        reasons, full = [first_line(exc)], True
    if reasons:
        say(f"Building the index first ({'; '.join(reasons)}) …")
        builder.build(settings, passage_embedder(settings), full=full, progress=True)
    return Chatbot.from_settings(settings)
