"""The translation store of a loaded index: which sentence of a translation renders which sentence of
its original, read from the index's alignment table (built once per loaded index)."""

from __future__ import annotations

import numpy as np

from cqbot.index import Index

SentenceKey = tuple[str, int, int]  # an original sentence: document id, start, end


class Translations:
    """Original sentences and their aligned translations; documents and their translated versions."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._table = self._table_of(index)
        self._translated: dict[str, list[str]] = {}
        for doc in index.documents.values():
            if doc.translation_of:
                self._translated.setdefault(doc.translation_of, []).append(doc.id)
        self._rows = {c.id: i for i, c in enumerate(index.chunks)}

    @staticmethod
    def _table_of(idx: Index) -> dict[SentenceKey, dict[str, str]]:
        """Original sentence (doc id, start, end) -> {language: aligned translation sentence}."""
        table: dict[SentenceKey, dict[str, str]] = {}
        for unit in np.flatnonzero(idx.sentence_align >= 0):
            row, start, end = (int(x) for x in idx.sentence_spans[unit])
            o_row, o_start, o_end = (int(x) for x in idx.sentence_spans[int(idx.sentence_align[unit])])
            doc = idx.documents[idx.chunks[row].doc_id]
            key = (idx.chunks[o_row].doc_id, o_start, o_end)
            current = table.setdefault(key, {}).get(doc.lang, "")
            if end - start > len(current):
                table[key][doc.lang] = doc.text[start:end]
        return table

    def row_of(self, chunk_id: str) -> int:
        """The row of a chunk in the index."""
        return self._rows[chunk_id]

    def of_sentence(self, key: SentenceKey) -> dict[str, str]:
        """{language: aligned translation} of the original sentence at exactly key."""
        return dict(self._table.get(key, {}))

    def versions(self, key: SentenceKey) -> list[str]:
        """An original sentence (document id, start, end) and its aligned translations."""
        doc_id, start, end = key
        return [self.index.documents[doc_id].text[start:end], *self._table.get(key, {}).values()]

    def family_texts(self, doc_id: str) -> list[str]:
        """A document's text and the texts of its translations."""
        docs = self.index.documents
        return [docs[doc_id].text, *(docs[t].text for t in self._translated.get(doc_id, ()) if t in docs)]

    def in_language(self, chunk_id: str, start: int, end: int, lang: str) -> str | None:
        """The aligned translation, in `lang`, of the original sentence holding [start, end)."""
        chunk = self.index.chunks[self._rows[chunk_id]]
        for s_start, s_end in chunk.sentences:
            if s_start <= start and end <= s_end:
                return self._table.get((chunk.doc_id, s_start, s_end), {}).get(lang)
        return None
