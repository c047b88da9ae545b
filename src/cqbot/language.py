"""Offline language identification of questions: the script decides where only one language of those
known here writes it (Greek, Hebrew, Thai, Korean, ...); py3langid decides among the languages of the
question's script (Latin, Cyrillic, Arabic, Devanagari, Bengali), which keeps short questions from being
taken for a language of another script. Where most letters are Latin but some are in another script,
the frame of the question decides: a Chinese term quoted in a German question leaves it German, Latin
names in a Chinese or Greek question leave it Chinese or Greek. Xhosa is left out: py3langid reads
romanised Chinese names ("Chongqing?") as Xhosa."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# one language per script; the CJK ones in this order (kana makes Han text Japanese, Hangul Korean)
_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("ja", "\u3040-\u30ff"),
    ("ko", "\uac00-\ud7af\u1100-\u11ff"),
    ("zh", "\u3400-\u4dbf\u4e00-\u9fff"),
    ("el", "\u0370-\u03ff\u1f00-\u1fff"),
    ("he", "\u0590-\u05ff"),
    ("th", "\u0e00-\u0e7f"),
    ("ka", "\u10a0-\u10ff"),
    ("hy", "\u0530-\u058f"),
    ("pa", "\u0a00-\u0a7f"),
    ("gu", "\u0a80-\u0aff"),
    ("or", "\u0b00-\u0b7f"),
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
    (re.compile(r"[\u0600-\u06ff\u0750-\u077f]"), ("ar", "fa", "ur", "ps", "ug")),
    (re.compile(r"[\u0400-\u04ff]"), ("ru", "uk", "bg", "sr", "mk", "be", "kk", "ky", "mn", "tg")),
    (re.compile(r"[\u0900-\u097f]"), ("hi", "mr", "ne")),
    (re.compile(r"[\u0980-\u09ff]"), ("bn", "as")),
)
LATIN = (
    "en", "de", "fr", "es", "it", "pt", "nl", "pl", "tr", "vi", "id", "ms", "sv",
    "da", "no", "fi", "et", "lv", "lt", "cs", "sk", "sl", "hr", "ro", "hu", "ca",
    "gl", "eu", "sq", "is", "af", "sw", "tl", "cy", "ga", "az", "uz", "ku", "ha", "so",
    "om", "jv", "eo", "mg", "gd", "fy", "br",
)  # fmt: skip
# every language this module can return
LANGUAGES = tuple(
    dict.fromkeys(
        [lang for lang, _ in _SCRIPTS] + [lang for _, group in _SHARED for lang in group] + [*LATIN]
    )
)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_CJK = ("ja", "ko", "zh")
_ANY_CJK = re.compile("[" + "".join(chars for lang, chars in _SCRIPTS if lang in _CJK) + "]")
# the other non-Latin scripts, each with the languages that write it
_OTHER_SCRIPTS = (
    *(((lang,), pattern) for lang, pattern in _SCRIPT_RES if lang not in _CJK),
    *((group, pattern) for pattern, group in _SHARED),
)
CJK_WEIGHT = 2
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


def _script_languages(text: str) -> tuple[tuple[str, ...], int]:
    """The languages of the non-Latin script most of the letters are in, and how many letters that is;
    ((), 0) for none. Han, kana and Hangul count together, as Japanese where there is kana, Korean where
    there is Hangul; each of their characters counts as CJK_WEIGHT letters, since one of them carries
    about as much as a short word. A quoted term in another script does not decide (a Chinese name in a
    Uyghur question; the Devanagari danda that ends Bengali and Assamese sentences)."""
    best: tuple[str, ...] = ()
    most = 0
    cjk = len(_ANY_CJK.findall(text))
    if cjk:  # _SCRIPTS lists kana before Hangul before Han
        best = (next(lang for lang, pattern in _SCRIPT_RES if lang in _CJK and pattern.search(text)),)
        most = CJK_WEIGHT * cjk
    for group, pattern in _OTHER_SCRIPTS:
        n = len(pattern.findall(text))
        if n > most:
            best, most = group, n
    return best, most


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of `text` (one of LANGUAGES); `default` when there is too little to tell."""
    text = unicodedata.normalize("NFKC", text)
    group, in_script = _script_languages(text)
    if group:
        if in_script >= len(_LATIN_LETTER.findall(text)):
            return group[0] if len(group) == 1 else _classify(text, group)[0]
        if group[0] in _CJK:  # a Chinese term in a German question, or English names in a Chinese one
            lang, prob = _classify(_ANY_CJK.sub(" ", text), LATIN)
            return lang if prob >= MIN_CONFIDENCE else group[0]
        # Latin names in a question in Greek, Cyrillic, ...: py3langid reads the whole
        return _classify(text, group + LATIN)[0]
    letters = _LETTER.findall(text)
    if len(letters) < 3:
        return default
    lang, prob = _classify(text, LATIN)
    if len(letters) < SHORT and prob < MIN_CONFIDENCE:
        return default
    return str(lang)
