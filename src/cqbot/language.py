"""Offline language identification of questions, with script rules for short texts."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

SUPPORTED = ("de", "en", "zh", "fr", "es", "ja", "ru", "it", "pt", "nl", "ko", "ar", "pl", "tr", "uk", "vi")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
MIN_CONFIDENCE = 0.6


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(SUPPORTED))
    return ident


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of `text`; scripts decide CJK, Cyrillic and Arabic; `default` when unsure."""
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    if _HAN.search(text):
        return "zh"
    if _ARABIC.search(text):
        return "ar"
    letters = _LETTER.findall(text)
    if len(letters) < 3:
        return default
    if _CYRILLIC.search(text):
        lang, _ = _identifier().classify(text)
        return "uk" if lang == "uk" else "ru"
    lang, prob = _identifier().classify(text)
    if prob < MIN_CONFIDENCE and len(letters) < 25:
        return default
    return str(lang)
