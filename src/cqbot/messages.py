"""The answer frame and every message in the asker's language (data/messages.json; English is the
fallback for a language or key it lacks)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def messages() -> dict[str, dict[str, str]]:
    """{language: {key: text}} of data/messages.json."""
    text = resources.files("cqbot").joinpath("data/messages.json").read_text(encoding="utf-8")
    table: dict[str, dict[str, str]] = json.loads(text)
    return table


def message(lang: str, key: str, **kwargs: object) -> str:
    table = messages()
    return table.get(lang, table["en"]).get(key, table["en"][key]).format(**kwargs)


def language_name(lang: str) -> str:
    """The language's English name ("German"), or the code itself when it has no messages."""
    return messages().get(lang, {}).get("name", lang)


def messages_known(lang: str) -> bool:
    """Whether there are messages in `lang`."""
    return lang in messages()
