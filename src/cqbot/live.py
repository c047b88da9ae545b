"""A chatbot that follows its index folder: a rebuilt index is loaded in the background and swapped in
between questions, so `cqbot serve` answers from a new build without a restart.

Every question reads the current bot once and is answered wholly by it: old index or new, never a mix.
The builder writes the manifest last (atomic rename), so a new generation in the manifest means the new
files are complete. A failed load (e.g. the build's next generation replaced the files mid-load) keeps
the old bot and is retried at the next poll.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from cqbot.errors import CqbotError
from cqbot.index import MANIFEST, Index, load_index
from cqbot.pipeline import Chatbot
from cqbot.records import Answer, Turn

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # a rebuilt index is answering within about this (plus its load time, ~0.5 s)


class LiveChatbot:
    """Answers like `Chatbot`, from whichever index generation is current in settings.index_dir."""

    def __init__(self, bot: Chatbot, poll_seconds: float = POLL_SECONDS) -> None:
        self._bot = bot
        self._poll = poll_seconds
        self._stop = threading.Event()
        self.switches = 0
        self._thread = threading.Thread(target=self._watch, name="cqbot-index-watch", daemon=True)
        self._thread.start()

    @property
    def current(self) -> Chatbot:
        return self._bot

    @property
    def index(self) -> Index:
        return self._bot.index

    @property
    def settings(self) -> Any:
        return self._bot.settings

    def ask(self, question: str, history: Sequence[Turn | str | dict[str, str]] | None = None) -> Answer:
        return self._bot.ask(question, history)

    def ask_stream(
        self, question: str, history: Sequence[Turn | str | dict[str, str]] | None = None
    ) -> Iterator[str | Answer]:
        bot = self._bot  # one bot for the whole stream
        yield from bot.ask_stream(question, history)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _generation_on_disk(self) -> str | None:
        try:
            data = json.loads((self._bot.settings.index_dir / MANIFEST).read_text(encoding="utf-8"))
            return str(data["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # between builds or unreadable: keep serving what is loaded

    def check(self) -> bool:
        """Load and swap in a newer index generation if there is one; whether it switched."""
        bot = self._bot
        generation = self._generation_on_disk()
        if generation is None or generation == bot.index.manifest.generation:
            return False
        try:
            index = load_index(bot.settings.index_dir, model=bot.embedder.name, dim=bot.embedder.dim)
            fresh = Chatbot(bot.settings, bot.embedder, index)
        except (CqbotError, OSError) as exc:
            log.warning("new index generation %s not loaded yet: %s", generation, exc)
            return False
        self._bot = fresh  # one reference assignment: questions already running keep the old bot
        self.switches += 1
        log.info("now answering from index generation %s", index.manifest.generation)
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self.check()
            except Exception:  # the watcher must not die; the log keeps the reason
                log.exception("checking for a rebuilt index failed")
