"""The lexical side: cqbot's multilingual tokens, BM25 over chunks (build, save, load), and the share of
a question's terms each candidate sentence holds."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from cqbot.numbers import ascii_digits, digits_only
from cqbot.records import Chunk

K = TypeVar("K")

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
    for match in _TOKEN.finditer(ascii_digits(unicodedata.normalize("NFKC", text)).lower()):
        tok = match.group()
        if tok[0].isdigit():
            out.append(digits_only(tok))
        elif _CJK.match(tok):
            out.extend(tok)
            out.extend(tok[i : i + 2] for i in range(len(tok) - 1))
        else:
            out.append(tok)
            if len(tok) >= COMPOUND_MIN:
                out.extend("#" + tok[i : i + NGRAM] for i in range(len(tok) - NGRAM + 1))
    return out


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


def _weighted_share(asked: set[str], found: dict[K, set[str]]) -> dict[K, float]:
    """Per candidate, the share of asked terms it holds, each weighted by its rarity among the candidates."""
    df: dict[str, int] = {}
    for shared in found.values():
        for t in shared:
            df[t] = df.get(t, 0) + 1
    weight = {t: math.log(1 + len(found) / n) for t, n in df.items()}
    total = sum(weight.values())
    return {key: sum(weight[t] for t in shared) / total if total else 0.0 for key, shared in found.items()}


def term_overlap(question: str, terms: dict[K, frozenset[str]]) -> dict[K, float]:
    """Share of the question's terms (weighted by rarity among the candidates) in each candidate sentence.

    `terms` holds each candidate's lexical tokens (of the sentence and its aligned translations): a
    question term matches in whichever language it is written. Rarity is counted over the candidates
    only, so a term every candidate shares ("Chongqing") weighs little.
    """
    asked = set(tokenize(question))
    return _weighted_share(asked, {key: asked & have for key, have in terms.items()})
