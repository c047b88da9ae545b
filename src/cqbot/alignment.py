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


def check_translation(original: Document, translation: Document) -> list[str]:
    """What is wrong with a translation: sentences that do not align, or an original sentence with a
    number its aligned translation lacks. (Not the reverse: "ein Fünfzehntel" may become "1/15".)"""
    from cqbot.numbers import scale_factors, values

    mapping = align(original, translation)
    if mapping is None:
        src, dst = sentence_grid(original), sentence_grid(translation)
        shape = [len(p) for p in src], [len(p) for p in dst]
        return [f"sentences per paragraph differ: original {shape[0]}, translation {shape[1]}"]
    problems = []
    for (t_start, t_end), (o_start, o_end) in sorted(mapping.items()):
        o_text, t_text = original.text[o_start:o_end], translation.text[t_start:t_end]
        # "10 und 2 Milliarden" / "10.000 y 2.000 millones": the first number shares the scale word
        have = values(t_text, translation.lang)
        have |= {float(f"{v * f:.9g}") for v in have for f in scale_factors(t_text, translation.lang)}
        missing = values(o_text, original.lang) - have
        factors = scale_factors(o_text, original.lang)
        missing = {v for v in missing if not any(float(f"{v * f:.9g}") in have for f in factors)}
        if missing:
            shown = ", ".join(f"{v:g}" for v in sorted(missing))
            problems.append(f"number {shown} not in the translation: {o_text[:60]!r} / {t_text[:60]!r}")
    return problems
