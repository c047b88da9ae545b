"""A real chat server on a free localhost port, for the UI, browser and streaming tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cqbot import ui


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(bot: Any) -> Iterator[str]:
    """The chat app over `bot` on a free localhost port, in this process."""
    app = ui.build_app(bot)
    url = ui.launch(app, "127.0.0.1", free_port(), block=False)
    try:
        yield url
    finally:
        app.close(verbose=False)
