"""Answer or decline: the one place that decides, and the record of why.

e5 scores every question about the corpus's subject high, answerable or not, so a raw threshold cannot
separate them. Off-topic anchors ("<subject>: the population of the city", ..., data/offtopic.txt)
estimate how high a sentence about the subject but on another topic would score; the best sentence must
beat them by `min_margin`. Then the best sentence must hold what the question asks for: a year the
question names; a number for a how-many or when question, and for a how-many question a number that
is not only a date or a year; an amount of money for a price question; a
name for a which-company / who question (read in its aligned English translation); and the cited
document (or a translation of it) must name every acronym and place the question names. What the
question asks for comes from `asking.QuestionAnalyser`. The decision stands on the best sentence, except
that a how-many question whose best sentence only dates the thing asked about may stand on a sentence
ranked just below it that states a count (`Decision.rank`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cqbot.asking import Asks
from cqbot.constraints import (
    acronyms,
    has_count,
    has_money,
    has_name,
    has_quantity,
    places_in,
    places_named,
    years_in,
)
from cqbot.retrieval import SentenceHit, combined_score
from cqbot.translations import Translations

# Which message explains a failed check to the asker (messages.json keys).
REASONS = {
    "margin": "reason_off_topic",
    "year": "reason_year",
    "number": "reason_number",
    "count": "reason_count",
    "money": "reason_money",
    "name": "reason_name",
    "term": "reason_term",
    "place": "reason_place",
}
# A how-many question whose best sentence only dates the thing asked about stands on the next sentence
# that states a count, if it ranks within COUNT_GAP of the best (tuning questions, RESULTS.md: 0.01-0.02
# cite one more right and decline one fewer answerable question, 0.05 answers a near miss).
COUNT_GAP = 0.02
COUNT_LOOKAHEAD = 5
# The order in which failed checks explain a decline (Decision.failed).
EXPLAINS = ("term", "place", "year", "margin", "number", "count", "money", "name")


@dataclass(frozen=True)
class Check:
    """One requirement of the answer, whether the best sentence met it, and what was looked at."""

    name: str  # margin | year | number | count | money | name | term | place
    held: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "held": self.held, "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    """Answer or decline, with the signals that decided (the `evidence` of the answer object)."""

    answered: bool
    top: float  # best sentence score (cosine with the question, or with an aligned translation)
    background: float  # best score of the question against the off-topic anchors
    min_margin: float
    asks: Asks
    checks: tuple[Check, ...]
    rank: int = 0  # which of the ranked hits the decision stands on (0: the best; see Decider.decide)

    @property
    def margin(self) -> float:
        return self.top - self.background

    @property
    def failed(self) -> Check | None:
        """The check that explains a decline best: what the documents lack (a term, place or year) before
        an off-topic question, before what the closest sentence lacks (a number, money, a name)."""
        failed = [c for c in self.checks if not c.held]
        return min(failed, key=lambda c: EXPLAINS.index(c.name), default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "best_score": round(self.top, 4),
            "background": round(self.background, 4),
            "margin": round(self.margin, 4),
            "min_margin": self.min_margin,
            "asks": self.asks.to_dict(),
            "checks": [c.to_dict() for c in self.checks],
            "rank": self.rank,
        }


class Decider:
    """Decides for one loaded index: reads sentences and documents, with their translations."""

    def __init__(
        self,
        translations: Translations,
        anchors: np.ndarray,
        min_margin: float,
        subject: str,
        anchor_langs: Sequence[str] = (),
    ) -> None:
        if anchor_langs and len(anchor_langs) != len(anchors):
            raise ValueError(f"{len(anchor_langs)} anchor languages for {len(anchors)} anchors")
        self.translations = translations
        self.anchors = anchors
        # the language of each anchor (none given: every anchor counts for every question)
        self.anchor_langs = np.asarray(list(anchor_langs) or [""] * len(anchors), dtype=object)
        self.min_margin = min_margin
        self.subject = subject
        self._places: dict[str, frozenset[int]] = {}
        self._anchor_rows: dict[str, np.ndarray] = {}  # per question language: the anchors that count

    def background(self, qvec: np.ndarray, lang: str | None = None) -> float:
        """The best score of the question against the off-topic anchors in its language and English (all
        anchors for a language that has none): e5 scores text in the question's own language higher, so
        anchors in every language at once would raise the bar with each language added."""
        if not len(self.anchors):
            return 0.0
        rows = self._anchor_rows.get(lang or "")
        if rows is None:
            known = bool(lang) and lang in self.anchor_langs
            mask = (self.anchor_langs == lang) | (self.anchor_langs == "en") if known else None
            rows = self._anchor_rows[lang or ""] = self.anchors[mask] if mask is not None else self.anchors
        return float(np.max(rows @ qvec))

    def decide(
        self,
        question: str,
        qvec: np.ndarray,
        hits: Sequence[SentenceHit],
        asks: Asks,
        lang: str | None = None,
    ) -> Decision:
        background = self.background(qvec, lang)
        if not hits:
            check = Check("margin", False, "no sentence found")
            return Decision(False, 0.0, background, self.min_margin, asks, (check,))
        first = self._decide_on(question, hits[0], background, asks)
        if first.answered or [c.name for c in first.checks if not c.held] != ["count"]:
            return first
        # the best sentence only dates what a how-many question asks about ("the plan was approved on
        # 10.02.2025"); a sentence scored as high that states the count ("it has 24 measures") answers it
        floor = combined_score(hits[0]) - COUNT_GAP
        for rank, hit in enumerate(hits[1:COUNT_LOOKAHEAD], start=1):
            if combined_score(hit) < floor:
                break
            other = self._decide_on(question, hit, background, asks)
            if other.answered:
                return replace(other, rank=rank)
        return first

    def _decide_on(self, question: str, best: SentenceHit, background: float, asks: Asks) -> Decision:
        margin = best.score - background
        checks = [Check("margin", margin >= self.min_margin, f"{best.score:.4f} - {background:.4f}")]
        checks.extend(self._requirements(question, best, asks))
        answered = all(c.held for c in checks)
        return Decision(answered, best.score, background, self.min_margin, asks, tuple(checks))

    def _places_of(self, doc_id: str) -> frozenset[int]:
        """The places a document and its translations name (64 patterns over ~15 texts: ~100 ms, so once
        per document; a concurrent first call only repeats the work)."""
        known = self._places.get(doc_id)
        if known is None:
            texts = "\n".join(self.translations.family_texts(doc_id))
            known = self._places[doc_id] = frozenset(places_in(texts))
        return known

    def _requirements(self, question: str, best: SentenceHit, asks: Asks) -> list[Check]:
        index = self.translations.index
        doc_id = index.chunks[best.chunk_row].doc_id
        key = (doc_id, best.start, best.end)
        versions = self.translations.versions(key)
        out: list[Check] = []
        years = years_in(question)
        if years:
            out.append(Check("year", best.year >= 0, ", ".join(sorted(years))))
        stated = any(has_quantity(t) for t in versions)
        if asks.number:
            out.append(Check("number", stated, asks.kind))
        if asks.count and stated:
            # a date or a year does not say how many: read in the original, whose date formats are known
            out.append(Check("count", has_count(versions[0]), versions[0][:80]))
        if asks.money:
            out.append(Check("money", any(has_money(t) for t in versions), asks.kind))
        if asks.name:
            # read where the sentence has an aligned English translation (German capitalises every noun)
            english = self.translations.of_sentence(key).get("en")
            if english is None and index.documents[doc_id].lang == "en":
                english = versions[0]
            if english is not None:
                out.append(Check("name", has_name(english, self.subject), english[:80]))
        terms = acronyms(question)
        if terms:
            texts = "\n".join(self.translations.family_texts(doc_id))  # a term may be in a translation only
            out.extend(Check("term", term in texts, term) for term in sorted(terms))
        places = places_named(question)
        if places:
            named = ", ".join(places.values())
            out.append(Check("place", set(places) <= self._places_of(doc_id), named))
        return out
