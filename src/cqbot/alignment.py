"""Sentence alignment of a translation with its original, from matching paragraph and sentence order."""

from __future__ import annotations

from cqbot.chunking import paragraphs, split_sentences
from cqbot.records import Document, Span


def sentence_grid(doc: Document) -> list[list[Span]]:
    """Sentences of each paragraph of the document."""
    return [split_sentences(doc.text, a, b) for a, b in paragraphs(doc.text) if doc.text[a:b].strip()]


def align(original: Document, translation: Document) -> dict[Span, Span] | None:
    """Translation sentence span -> original sentence span, or None when the shapes differ.

    Translations in the corpus are written sentence by sentence in the original's order, so the
    i-th sentence of paragraph p translates the i-th sentence of paragraph p of the original.
    """
    src, dst = sentence_grid(original), sentence_grid(translation)
    if [len(p) for p in src] != [len(p) for p in dst]:
        return None
    return {t: o for p_src, p_dst in zip(src, dst, strict=True) for o, t in zip(p_src, p_dst, strict=True)}
