"""Question + scored sentences -> Answer with numbered, exact citations, or an honest refusal."""

from __future__ import annotations

from collections.abc import Sequence

from cqbot.decision import REASONS, Decision
from cqbot.index import Index
from cqbot.messages import message
from cqbot.records import Citation
from cqbot.retrieval import SentenceHit, combined_score

MAX_QUOTE = 400
SECOND_CITATION_GAP = 0.015


def _quote_span(text: str, start: int, end: int) -> tuple[int, int]:
    if end - start <= MAX_QUOTE:
        return start, end
    cut = text.rfind(" ", start, start + MAX_QUOTE)
    return start, cut if cut > start else start + MAX_QUOTE


def _whole_sentence(sentences: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The sentence holding a clause, when it is short enough to quote whole."""
    for s_start, s_end in sentences:
        if s_start <= start and end <= s_end and s_end - s_start <= MAX_QUOTE:
            return s_start, s_end
    return start, end


def quote(index: Index, chunk_row: int, span: tuple[int, int], *, n: int = 0, score: float = 0.0) -> Citation:
    """A citation quoting `span` of the chunk's document exactly (cut at a word to at most 400 chars)."""
    chunk = index.chunks[chunk_row]
    doc = index.documents[chunk.doc_id]
    start, end = _quote_span(doc.text, *span)
    return Citation(
        n=n, doc_id=doc.id, title=doc.title, source=doc.source, chunk_id=chunk.id, start=start, end=end,
        page=doc.page_at(start), quote=doc.text[start:end], score=score,
    )  # fmt: skip


def cite(
    index: Index, hits: Sequence[SentenceHit], max_citations: int, gap: float | None = SECOND_CITATION_GAP
) -> list[Citation]:
    """Numbered citations for the best hits: the first always, more while they score within `gap` of it
    (any score when `gap` is None: the nearest sentences of a decline)."""
    out: list[Citation] = []
    if not hits:
        return out
    best = combined_score(hits[0])
    for hit in hits:
        if len(out) >= max_citations:
            break
        if out and gap is not None and combined_score(hit) < best - gap:
            break
        chunk = index.chunks[hit.chunk_row]
        if any(c.doc_id == chunk.doc_id and c.start < hit.end and hit.start < c.end for c in out):
            continue
        span = _whole_sentence(chunk.sentences, hit.start, hit.end)
        out.append(quote(index, hit.chunk_row, span, n=len(out) + 1, score=round(combined_score(hit), 4)))
    return out


def compose(
    lang: str, citations: Sequence[Citation], answered: bool, decision: Decision | None = None
) -> str:
    """The answer text: lead-in and quotes with [n] markers, or the decline and its reason."""
    if not answered or not citations:
        failed = decision.failed if decision is not None else None
        if failed is None:
            return message(lang, "not_found")
        return f"{message(lang, 'not_found')} {message(lang, REASONS[failed.name], term=failed.detail)}"
    space = "" if lang in UNSPACED else " "
    return message(lang, "lead") + space + space.join(quoted(lang, c) for c in citations)


def quoted(lang: str, c: Citation) -> str:
    """One quote of the answer text with its marker: the aligned translation in the asker's language,
    marked as a translation, where there is one (the citation keeps the original and its offsets)."""
    opening, closing = QUOTES.get(lang, ("“", "”"))
    if lang in UNSPACED:
        tag = f"（{message(lang, 'translated')}）" if c.translation else ""
        return f"{opening}{c.translation or c.quote}{closing}{tag}[{c.n}]"
    tag = f" ({message(lang, 'translated')})" if c.translation else ""
    return f"{opening}{c.translation or c.quote}{closing}{tag} [{c.n}]"


UNSPACED = {"zh", "ja"}  # languages written without spaces between words and quotes


# quotation marks of the answer text, where a language does not use “…”
QUOTES = {
    "de": ("„", "“"), "fr": ("« ", " »"), "ru": ("«", "»"), "uk": ("«", "»"), "ja": ("「", "」"),
    "zh": ("“", "”"), "pl": ("„", "”"), "el": ("«", "»"), "ar": ("«", "»"), "fa": ("«", "»"),
}  # fmt: skip
