"""The live index: a rebuild while serving is answering within seconds, questions never fail meanwhile,
and each is answered wholly from one generation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chatserver import HARBOUR_DOC, served
from cqbot.builder import build
from cqbot.config import Settings
from cqbot.index import load_index
from cqbot.live import LiveChatbot
from cqbot.pipeline import Chatbot
from fakes import HashingEmbedder

AIRPORT = """---
id: airport
title: Airport rules
lang: en
---
The airport of Port Example charges private jets 900 euros per landing.

Night flights at the airport end at eleven in the evening.
"""
QUESTION = "How much does the airport of Port Example charge private jets per landing?"


def _bot(settings: Settings, embedder: HashingEmbedder) -> Chatbot:
    (settings.corpus_dir / "harbour.md").write_text(HARBOUR_DOC, encoding="utf-8")
    build(settings, embedder)
    return Chatbot(settings, embedder, load_index(settings.index_dir))


@pytest.fixture
def live(tmp_settings: Settings, fake_embedder: HashingEmbedder) -> Iterator[LiveChatbot]:
    """A live bot over the harbour document, polling its index folder every 0.2 s."""
    bot = LiveChatbot(_bot(tmp_settings, fake_embedder), poll_seconds=0.2)
    yield bot
    bot.close()


def _cited_docs(bot: Any) -> set[str]:
    answer = bot.ask(QUESTION)
    return {c.doc_id for c in (*answer.citations, *answer.closest)}


def test_a_rebuild_is_answered_within_seconds_and_no_question_fails(
    live: LiveChatbot, tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    old = live.index.manifest.generation
    assert "airport" not in _cited_docs(live)
    errors: list[BaseException] = []
    generations: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                bot = live.current
                answer = bot.ask(QUESTION)
                # wholly one generation: every cited document is in the index that answered
                assert all(c.doc_id in bot.index.documents for c in answer.citations)
                generations.append(bot.index.manifest.generation)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    (tmp_settings.corpus_dir / "airport.md").write_text(AIRPORT, encoding="utf-8")
    build(tmp_settings, fake_embedder)
    built = time.monotonic()
    while live.index.manifest.generation == old and time.monotonic() - built < 5:
        time.sleep(0.05)
    switched_after = time.monotonic() - built
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert switched_after < 5 and live.switches == 1
    assert "airport" in _cited_docs(live)
    assert old in generations and live.index.manifest.generation in generations


def test_an_unreadable_new_generation_keeps_the_old_one(live: LiveChatbot, tmp_settings: Settings) -> None:
    manifest = tmp_settings.index_dir / "manifest.json"
    text = manifest.read_text(encoding="utf-8")
    gen = live.index.manifest.generation
    manifest.write_text(text.replace(gen, "20990101T000000-000000"), encoding="utf-8")  # files missing
    assert live.check() is False and live.index.manifest.generation == gen
    answer = live.ask("What do small boats pay?")  # still answering from the old generation
    assert {c.doc_id for c in (*answer.citations, *answer.closest)} == {"harbour"}
    manifest.write_text("{broken", encoding="utf-8")
    assert live.check() is False


def test_health_of_the_served_app_follows_the_rebuild(
    live: LiveChatbot, tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    import httpx

    with served(live) as url:
        before = httpx.get(url + "health", timeout=10).json()
        assert before["documents"] == 1
        (tmp_settings.corpus_dir / "airport.md").write_text(AIRPORT, encoding="utf-8")
        build(tmp_settings, fake_embedder)
        deadline = time.monotonic() + 5
        after = before
        while after["documents"] == 1 and time.monotonic() < deadline:
            time.sleep(0.1)
            after = httpx.get(url + "health", timeout=10).json()
        assert after["documents"] == 2 and after["index_generation"] != before["index_generation"]
