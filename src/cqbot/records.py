"""Small frozen dataclasses handed from one stage to the next."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Span = tuple[int, int]


@dataclass(frozen=True)
class Document:
    """One source file, read into plain text with its metadata.

    `text` is what citations point into: offsets are character offsets into it.
    `pages` holds the start offset of each page for paged formats (PDF), else is empty.
    """

    id: str
    title: str
    lang: str
    text: str
    path: str
    source: str = ""
    publisher: str = ""
    date: str = ""
    kind: str = "original"
    translation_of: str | None = None
    pages: tuple[int, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def page_at(self, offset: int) -> int | None:
        """1-based page number holding `offset`, or None for formats without pages."""
        if not self.pages:
            return None
        page = 1
        for i, start in enumerate(self.pages):
            if start <= offset:
                page = i + 1
            else:
                break
        return page


@dataclass(frozen=True)
class Chunk:
    """A span of one document: the unit that is retrieved (its vector is pooled from its sentences').

    `sentences` are absolute (start, end) offsets into the document text, so a
    citation can point at one sentence. `id` depends only on document id and text.
    """

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    sentences: tuple[Span, ...]
    page: int | None = None


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer: an exact quote of a document at the given offsets."""

    n: int
    doc_id: str
    title: str
    source: str
    chunk_id: str
    start: int
    end: int
    page: int | None
    quote: str
    score: float
    translation: str | None = None
    verified: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["translation"] is None:
            del d["translation"]
        if d["verified"] is None:
            del d["verified"]
        return d


@dataclass(frozen=True)
class Answer:
    """What `Chatbot.ask` returns; `to_dict` is the JSON schema of `cqbot ask --json`."""

    question: str
    language: str
    answered: bool
    answer: str
    citations: tuple[Citation, ...]
    latency_ms: float
    mode: Literal["extractive", "generated"] = "extractive"
    notice: str | None = None
    # a decline's nearest sentences, shaped like citations: "closest passages, not an answer"
    closest: tuple[Citation, ...] = ()
    # the signals that decided to answer or decline (decision.Decision.to_dict)
    evidence: dict[str, Any] | None = None
    # generated statements taken out of `answer`: no passage supports them ("not supported by the documents")
    unsupported: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "question": self.question,
            "language": self.language,
            "answered": self.answered,
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "latency_ms": round(self.latency_ms, 2),
            "mode": self.mode,
        }
        if self.notice:
            d["notice"] = self.notice
        if not self.answered:
            d["closest"] = [c.to_dict() for c in self.closest]
        if self.evidence is not None:
            d["evidence"] = self.evidence
        if self.unsupported:
            d["unsupported"] = list(self.unsupported)
        return d


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation, for follow-up questions."""

    question: str
    answer: str = ""


# ---- as the index stores them (index.py) ----------------------------------------------------------


def document_to_json(doc: Document) -> dict[str, Any]:
    d = asdict(doc)
    d["pages"] = list(doc.pages)
    return d


def document_from_json(d: dict[str, Any]) -> Document:
    d = dict(d)
    d["pages"] = tuple(d.get("pages", ()))
    return Document(**d)


def chunk_to_json(c: Chunk) -> dict[str, Any]:
    return {
        "id": c.id,
        "doc_id": c.doc_id,
        "start": c.start,
        "end": c.end,
        "page": c.page,
        "sentences": [list(s) for s in c.sentences],
        "text": c.text,
    }


def chunk_from_json(d: dict[str, Any]) -> Chunk:
    return Chunk(
        id=d["id"],
        doc_id=d["doc_id"],
        text=d["text"],
        start=d["start"],
        end=d["end"],
        sentences=tuple((int(a), int(b)) for a, b in d["sentences"]),
        page=d.get("page"),
    )
