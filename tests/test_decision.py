"""Answer or decline (decision.py) on a small real index built with the fake embedder: each check alone,
the reason the asker reads, and what a decline carries (closest passages, evidence)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from chatserver import HARBOUR_DOC
from cqbot.answer import compose
from cqbot.asking import NOTHING, Asks
from cqbot.builder import build
from cqbot.config import Settings
from cqbot.decision import Decider
from cqbot.index import load_index
from cqbot.pipeline import Chatbot, load_anchors
from cqbot.retrieval import SentenceHit
from cqbot.translations import Translations
from fakes import HashingEmbedder

DOC_DE = """---
id: harbour-de
title: Hafenregeln
lang: de
kind: translation
translation_of: harbour
---
Der Hafen von Port Example berechnet kleinen Booten 42 Euro pro Nacht.

Die Hafenmeisterin entscheidet über die Liegeplätze großer Schiffe.

Der Hafen öffnete sich 2019 für ausländische Schiffe.
"""


@pytest.fixture
def decider(tmp_settings: Settings, fake_embedder: HashingEmbedder) -> Iterator[Decider]:
    (tmp_settings.corpus_dir / "harbour.en.md").write_text(HARBOUR_DOC, encoding="utf-8")
    (tmp_settings.corpus_dir / "harbour.de.md").write_text(DOC_DE, encoding="utf-8")
    build(tmp_settings, fake_embedder)
    index = load_index(tmp_settings.index_dir)
    anchors = np.zeros((1, fake_embedder.dim), dtype=np.float32)
    anchors[0, 0] = 0.5  # the question vector below scores 0.5 against the anchors
    yield Decider(Translations(index), anchors, 0.0, "Port Example")


QVEC = np.eye(64, dtype=np.float32)[0]


def hit(decider: Decider, sentence: str, score: float = 0.8, year: int = 0) -> SentenceHit:
    """A scored hit on the English sentence starting with `sentence`."""
    index = decider.translations.index
    text = index.documents["harbour"].text
    start = text.index(sentence)
    for row, chunk in enumerate(index.chunks):
        if chunk.doc_id == "harbour":
            for s, e in chunk.sentences:
                if s == start:
                    return SentenceHit(row, 0, s, e, score, year=year)
    raise AssertionError(sentence)


def test_answers_when_the_best_sentence_beats_the_anchors(decider: Decider) -> None:
    d = decider.decide("What do small boats pay?", QVEC, [hit(decider, "The harbour of")], NOTHING)
    assert d.answered and d.failed is None
    assert d.top == pytest.approx(0.8) and d.background == pytest.approx(0.5)
    assert [c.name for c in d.checks] == ["margin"]
    assert d.to_dict()["margin"] == pytest.approx(0.3)


def test_declines_below_the_anchors_and_says_why(decider: Decider) -> None:
    d = decider.decide("What is the weather?", QVEC, [hit(decider, "The harbour of", score=0.45)], NOTHING)
    assert not d.answered and d.failed is not None and d.failed.name == "margin"
    assert compose("en", [], False, d) == (
        "The documents do not answer this question. The closest passages are about something else."
    )
    assert compose("de", [], False, d).startswith("Die Dokumente beantworten diese Frage nicht. ")


def test_the_anchors_in_the_askers_language_and_english_set_the_bar(decider: Decider) -> None:
    anchors = np.zeros((3, 64), dtype=np.float32)
    anchors[:, 0] = [0.5, 0.9, 0.6]  # scores against QVEC of an English, a French and a Greek anchor
    by_lang = Decider(decider.translations, anchors, 0.0, "Port Example", anchor_langs=["en", "fr", "el"])
    assert by_lang.background(QVEC, "en") == pytest.approx(0.5)
    assert by_lang.background(QVEC, "el") == pytest.approx(0.6)  # Greek and English
    assert by_lang.background(QVEC, "fr") == pytest.approx(0.9)
    assert by_lang.background(QVEC, "sw") == pytest.approx(0.9)  # no Swahili anchors: all of them
    best = [hit(decider, "The harbour of", score=0.7)]
    assert by_lang.decide("Quanto costa?", QVEC, best, NOTHING, "it").background == pytest.approx(0.9)
    assert by_lang.decide("How much?", QVEC, best, NOTHING, "en").answered
    assert not by_lang.decide("Combien ?", QVEC, best, NOTHING, "fr").answered


def test_the_shipped_anchors_name_their_language() -> None:
    anchors = load_anchors()
    counts = Counter(lang for lang, _text in anchors)
    assert len(counts) >= 31 and set(counts.values()) == {22}  # the same 22 topics in every language
    assert ("en", "The population of the city and how many people live there.") in anchors


def test_no_sentence_at_all_is_a_decline(decider: Decider) -> None:
    d = decider.decide("Anything?", QVEC, [], NOTHING)
    assert not d.answered and d.checks[0].detail == "no sentence found"


def test_a_year_the_sentence_lacks(decider: Decider) -> None:
    best = hit(decider, "The harbour opened", year=-1)
    d = decider.decide("What happened in 2021?", QVEC, [best], NOTHING)
    assert not d.answered and d.failed is not None and (d.failed.name, d.failed.detail) == ("year", "2021")
    ok = decider.decide("What happened in 2019?", QVEC, [replace(best, year=1)], NOTHING)
    assert ok.answered


def test_a_number_asked_for_must_be_in_the_sentence_or_its_translation(decider: Decider) -> None:
    asks = Asks("number", 0.9, number=True, money=False, name=False)
    no_number = decider.decide("How many berths?", QVEC, [hit(decider, "The harbour master")], asks)
    assert not no_number.answered and no_number.failed is not None and no_number.failed.name == "number"
    with_number = decider.decide("How much per night?", QVEC, [hit(decider, "The harbour of")], asks)
    assert with_number.answered


def test_a_count_asked_for_is_not_answered_by_a_date(decider: Decider) -> None:
    asks = Asks("number", 0.9, number=True, money=False, name=False, count=True)
    dated = decider.decide("How many ships came?", QVEC, [hit(decider, "The harbour opened")], asks)
    assert not dated.answered and dated.failed is not None and dated.failed.name == "count"
    reason = "The closest passages give dates, not the number asked for."
    assert compose("en", [], False, dated).endswith(reason)
    assert decider.decide("How much per night?", QVEC, [hit(decider, "The harbour of")], asks).answered
    when = Asks("date", 0.9, number=True, money=False, name=False, count=False)
    assert decider.decide("When did it open?", QVEC, [hit(decider, "The harbour opened")], when).answered


def test_a_count_just_below_a_dated_best_sentence_is_cited_instead(decider: Decider) -> None:
    asks = Asks("number", 0.9, number=True, money=False, name=False, count=True)
    dated = hit(decider, "The harbour opened", score=0.80)
    counted = hit(decider, "The harbour of", score=0.79)
    d = decider.decide("How many euros per night?", QVEC, [dated, counted], asks)
    assert d.answered and d.rank == 1 and d.top == pytest.approx(0.79) and d.to_dict()["rank"] == 1
    far = decider.decide("How many euros per night?", QVEC, [dated, replace(counted, score=0.70)], asks)
    assert not far.answered and far.rank == 0 and far.failed is not None and far.failed.name == "count"


def test_an_amount_of_money_asked_for(decider: Decider) -> None:
    asks = Asks("money", 0.9, number=False, money=True, name=False)
    assert decider.decide("Price?", QVEC, [hit(decider, "The harbour of")], asks).answered  # 42 euros
    d = decider.decide("Fee?", QVEC, [hit(decider, "The harbour opened")], asks)
    assert d.failed is not None and d.failed.name == "money"


def test_a_name_asked_for_is_read_in_the_english_sentence(decider: Decider) -> None:
    asks = Asks("name", 0.9, number=False, money=False, name=True)
    # "Port Example" is the subject, not a name of something else: no name in the sentence
    d = decider.decide("Who decides?", QVEC, [hit(decider, "The harbour master")], asks)
    assert d.failed is not None and d.failed.name == "name"


def test_an_acronym_or_a_place_the_documents_never_name(decider: Decider) -> None:
    best = [hit(decider, "The harbour of")]
    d = decider.decide("What is the GDP of the port?", QVEC, best, NOTHING)
    assert d.failed is not None and (d.failed.name, d.failed.detail) == ("term", "GDP")
    assert compose("en", [], False, d).endswith("The documents do not mention GDP.")
    d = decider.decide("What do small boats pay in Shanghai?", QVEC, best, NOTHING)
    assert d.failed is not None and d.failed.name == "place"
    d = decider.decide("Wie viel zahlen kleine Boote in Schanghai? 上海", QVEC, best, NOTHING)
    assert d.failed is not None and d.failed.name == "place"


def test_a_decline_carries_the_closest_passages_and_the_evidence(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    (tmp_settings.corpus_dir / "harbour.en.md").write_text(HARBOUR_DOC, encoding="utf-8")
    build(tmp_settings, fake_embedder)
    bot = Chatbot(tmp_settings, fake_embedder, load_index(tmp_settings.index_dir))
    answer = bot.ask("What is the GDP of Port Example?")
    assert not answer.answered and answer.citations == ()
    assert answer.answer == "The documents do not answer this question. The documents do not mention GDP."
    assert len(answer.closest) == 2
    text = bot.index.documents["harbour"].text
    assert all(text[c.start : c.end] == c.quote for c in answer.closest)
    data = answer.to_dict()
    assert [c["n"] for c in data["closest"]] == [1, 2]
    assert {"best_score", "background", "margin", "min_margin", "asks", "checks"} <= set(data["evidence"])
    assert {"name": "term", "held": False, "detail": "GDP"} in data["evidence"]["checks"]
    assert data["evidence"]["checks"][0]["name"] == "margin"  # the margin is always checked


def test_the_place_check_records_the_words_that_named_the_place(decider: Decider) -> None:
    d = decider.decide(
        "Was zahlen kleine Boote in Schanghai?", QVEC, [hit(decider, "The harbour of")], NOTHING
    )
    assert d.failed is not None and (d.failed.name, d.failed.detail) == ("place", "Schanghai")


def test_an_answer_quotes_the_sentence_asked_about_and_its_translation(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    (tmp_settings.corpus_dir / "harbour.en.md").write_text(HARBOUR_DOC, encoding="utf-8")
    (tmp_settings.corpus_dir / "harbour.de.md").write_text(DOC_DE, encoding="utf-8")
    build(tmp_settings, fake_embedder)
    bot = Chatbot(tmp_settings, fake_embedder, load_index(tmp_settings.index_dir))
    answer = bot.ask("Wie viel berechnet der Hafen von Port Example kleinen Booten pro Nacht?")
    assert answer.answered, answer.evidence
    first = answer.citations[0]
    assert (first.doc_id, first.quote) == (
        "harbour",
        "The harbour of Port Example charges small boats 42 euros per night.",
    )  # the original is cited, its German translation quoted for the German asker
    assert first.translation == "Der Hafen von Port Example berechnet kleinen Booten 42 Euro pro Nacht."
    assert "Der Hafen von Port Example berechnet kleinen Booten 42 Euro pro Nacht." in answer.answer
