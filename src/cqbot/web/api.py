"""The chat server's plain HTTP routes beside the Gradio app: GET /health and POST /api/ask; and who
may log in (the users of --auth / --auth-file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cqbot.errors import ConfigError, QuestionError
from cqbot.records import Answer

if TYPE_CHECKING:
    from cqbot.live import LiveChatbot
    from cqbot.pipeline import Chatbot

    Bot = Chatbot | LiveChatbot

MAX_INPUT_CHARS = 20_000  # the pipeline keeps 1,000; this only bounds the work spent cleaning input


def parse_users(pairs: tuple[str, ...], path: Path | None) -> list[tuple[str, str]] | None:
    """USER:PASSWORD pairs from options and a file; None when there are none (no login)."""
    entries = [p for pair in pairs for p in pair.split()]
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read --auth-file {path}: {exc}") from exc
        entries += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    users = []
    for entry in entries:
        user, sep, password = entry.partition(":")
        if not sep or not user or not password:
            raise ConfigError(
                "--auth takes USER:PASSWORD with both parts non-empty (one per line in --auth-file)"
            )
        users.append((user, password))
    return users or None


def health(bot: Bot) -> dict[str, Any]:
    """What `/health` reports: the index being served (generation, counts, model, build time)."""
    m = bot.index.manifest
    return {
        "status": "ok",
        "index_generation": m.generation,
        "documents": m.documents,
        "chunks": m.chunks,
        "model": m.model,
        "built_at": m.built_at,
    }


ASK_WAITING = 64  # questions /api/ask holds at once; one more is told the server is busy (HTTP 503)
# questions /api/ask answers at the same time; the others wait their turn. More threads only fight over
# the GIL and the 2 cores (ab, 32 clients: 1 -> 28.8 answers/s, 4 -> 37.5, 16 -> 32.2, unlimited -> 32.7;
# RESULTS.md). More cores: raise it with CQBOT_ASK_AT_ONCE.
ASK_AT_ONCE = int(os.environ.get("CQBOT_ASK_AT_ONCE", "4"))


def ask_route(bot: Bot, auth: list[tuple[str, str]] | None) -> Any:
    """POST /api/ask {"question": ..., "history": [...]} -> the answer object, without the Gradio queue
    and its event stream (32 clients: 37.6 answers/s vs 25 through Gradio's REST API; RESULTS.md).
    Runs in the server's thread pool, ASK_AT_ONCE at a time; HTTP basic auth when the app has users; 503
    when ASK_WAITING questions already wait."""
    import base64
    import binascii
    import secrets
    import threading

    from fastapi import Request
    from fastapi.responses import JSONResponse

    slots = threading.BoundedSemaphore(ASK_WAITING)
    working = threading.Semaphore(ASK_AT_ONCE)
    users = set(auth or ())

    def answer(question: str, history: list[str]) -> Answer:
        with working:
            return bot.ask(question, history)

    def allowed(header: str) -> bool:
        if not users:
            return True
        scheme, _, value = header.partition(" ")
        try:
            user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        matches = [secrets.compare_digest(f"{u}:{p}", f"{user}:{password}") for u, p in users]
        return scheme.lower() == "basic" and any(matches)

    async def body_of(request: Request) -> dict[str, Any] | None:
        try:
            data = await request.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    async def handler(request: Request) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        if not allowed(request.headers.get("authorization", "")):
            return JSONResponse({"error": "log in with HTTP basic auth"}, 401, {"WWW-Authenticate": "Basic"})
        data = await body_of(request)
        if data is None or not isinstance(data.get("question"), str):
            return JSONResponse({"error": 'send JSON: {"question": "...", "history": ["..."]}'}, 400)
        if not slots.acquire(blocking=False):
            busy = f"the server is busy ({ASK_WAITING} questions waiting); try again in a moment"
            return JSONResponse({"error": busy}, 503, {"Retry-After": "1"})
        try:
            earlier = data.get("history")
            history = [h for h in earlier if isinstance(h, str)] if isinstance(earlier, list) else []
            question = data["question"][:MAX_INPUT_CHARS]
            return JSONResponse((await run_in_threadpool(answer, question, history)).to_dict())
        except QuestionError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        finally:
            slots.release()

    # real classes, not the strings `from __future__ import annotations` leaves: FastAPI reads them
    handler.__annotations__ = {"request": Request, "return": JSONResponse}
    return handler
