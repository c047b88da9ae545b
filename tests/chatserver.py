"""Shared by the UI, browser and streaming tests: a real chat server, and a hostile document."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cqbot.web import ui

HOSTILE = "<script>window.__pwned='script'</script> <img src=x onerror=\"window.__pwned='img'\">"
HOSTILE_DOC = f"""---
id: hostile-doc
title: "Harbour <script>window.__pwned='title'</script> fees"
lang: en
source: "javascript:window.__pwned='link'"
---
Harbour fees in Port Example are reviewed every year by the port authority.

The harbour fee for small boats is 42 euros per night {HOSTILE} and includes fresh water.

Large ships pay according to their tonnage, as the port authority decides each spring.
"""


# a small English document for tests of the answer path with the fake embedder (decision, live index)
HARBOUR_DOC = """---
id: harbour
title: Harbour rules
lang: en
---
The harbour of Port Example charges small boats 42 euros per night.

The harbour master decides on the berths of large ships.

The harbour opened to foreign ships in 2019.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(bot: Any, **options: Any) -> Iterator[str]:
    """The chat app over `bot` on a free localhost port, in this process (options: auth, root_path)."""
    app = ui.build_app(bot)
    url = ui.launch(app, "127.0.0.1", free_port(), block=False, bot=bot, **options)
    try:
        yield url
    finally:
        app.close(verbose=False)


def build_hostile_bot(settings: Any, embedder: Any) -> Any:
    """A bot over a corpus holding only HOSTILE_DOC (script and onerror in title, source and text)."""
    from cqbot.builder import build
    from cqbot.index import load_index
    from cqbot.pipeline import Chatbot

    (settings.corpus_dir / "hostile.en.md").write_text(HOSTILE_DOC, encoding="utf-8")
    build(settings, embedder)
    return Chatbot(settings, embedder, load_index(settings.index_dir))
