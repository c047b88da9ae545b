"""Offline language identification of questions: the script decides where only one language of those
known here writes it (Greek, Hebrew, Thai, Korean, ...); py3langid decides among the languages of the
question's script (Latin, Cyrillic, Arabic, Devanagari), which keeps short questions from being taken
for a language of another script."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# one language per script (first match wins: kana before Han, so Japanese is not taken for Chinese)
_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("ja", "\u3040-\u30ff"),
    ("ko", "\uac00-\ud7af\u1100-\u11ff"),
    ("zh", "\u3400-\u4dbf\u4e00-\u9fff"),
    ("el", "\u0370-\u03ff\u1f00-\u1fff"),
    ("he", "\u0590-\u05ff"),
    ("th", "\u0e00-\u0e7f"),
    ("ka", "\u10a0-\u10ff"),
    ("hy", "\u0530-\u058f"),
    ("bn", "\u0980-\u09ff"),
    ("pa", "\u0a00-\u0a7f"),
    ("gu", "\u0a80-\u0aff"),
    ("ta", "\u0b80-\u0bff"),
    ("te", "\u0c00-\u0c7f"),
    ("kn", "\u0c80-\u0cff"),
    ("ml", "\u0d00-\u0d7f"),
    ("si", "\u0d80-\u0dff"),
    ("lo", "\u0e80-\u0eff"),
    ("my", "\u1000-\u109f"),
    ("km", "\u1780-\u17ff"),
    ("am", "\u1200-\u137f"),
)
_SCRIPT_RES = tuple((lang, re.compile(f"[{chars}]")) for lang, chars in _SCRIPTS)
# scripts shared by several languages: py3langid chooses among these
_SHARED: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"[\u0600-\u06ff\u0750-\u077f]"), ("ar", "fa", "ur")),
    (re.compile(r"[\u0400-\u04ff]"), ("ru", "uk", "bg", "sr", "mk", "be", "kk", "ky", "mn", "tg")),
    (re.compile(r"[\u0900-\u097f]"), ("hi", "mr", "ne")),
)
LATIN = (
    "en", "de", "fr", "es", "it", "pt", "nl", "pl", "tr", "vi", "id", "ms", "sv",
    "da", "no", "fi", "et", "lv", "lt", "cs", "sk", "sl", "hr", "ro", "hu", "ca",
    "gl", "eu", "sq", "is", "af", "sw", "tl", "cy", "ga", "az", "uz",
)  # fmt: skip
# every language this module can return
LANGUAGES = tuple(
    dict.fromkeys(
        [lang for lang, _ in _SCRIPTS] + [lang for _, group in _SHARED for lang in group] + [*LATIN]
    )
)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
# A short Latin-script question (under SHORT letters) keeps py3langid's guess only if it is this sure
# ("Wie viele Firmen?" de 0.54; "Chongqing?" uz 0.14 and "GDP 2020?" nl 0.10 -> the default).
SHORT = 25
MIN_CONFIDENCE = 0.35


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """py3langid over every language it knows (loading it takes ~0.4 s: once per process)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _classify(text: str, languages: tuple[str, ...]) -> tuple[str, float]:
    """The likeliest of `languages` and its probability among them (as if only they were known)."""
    ranked = [(lang, p) for lang, p in _identifier().rank(text) if lang in languages]
    total = sum(p for _, p in ranked)
    lang, p = ranked[0]
    return str(lang), float(p / total) if total > 0 else 0.0


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of `text` (one of LANGUAGES); `default` when there is too little to tell."""
    text = unicodedata.normalize("NFKC", text)
    for lang, pattern in _SCRIPT_RES:
        if pattern.search(text):
            return lang
    for pattern, group in _SHARED:
        if pattern.search(text):
            return _classify(text, group)[0]
    letters = _LETTER.findall(text)
    if len(letters) < 3:
        return default
    lang, prob = _classify(text, LATIN)
    if len(letters) < SHORT and prob < MIN_CONFIDENCE:
        return default
    return str(lang)
