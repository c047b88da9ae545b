"""Numbers in text as values, in the corpus languages: 8.753 = 8,753 = 8753; 2,5 Billionen = 2.5 trillion
= 2.5万亿; 1. Oktober 2020 = 1 October 2020 = 2020年10月1日 (a month name counts as its number).

A separator followed by exactly three digits groups thousands (8.753, 8,753, 8 753); otherwise it is a
decimal point (2,5 and 2.5 alike). The words that scale a number and the month names are per language
and live in data/numbers.json.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from importlib import resources

_NUMBER = re.compile(r"(?<![0-9])[0-9]+(?:[.,'\u00a0\u2009\u202f ][0-9]+)*")
_GROUPED = re.compile(r"[0-9]{1,3}(?:([.,'\u00a0\u2009\u202f ])[0-9]{3})(?:\1[0-9]{3})*")
_DECIMAL = re.compile(r"[0-9]+[.,][0-9]+")
_GROUPED_DECIMAL = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]+")
# 1-3 digits, then groups of exactly three after one separator each: 8.753 / 8,753 / 8 753 / 1'000'000
_GROUP_RUN = re.compile(r"(?<!\d)\d{1,3}(?:[.,' \u00a0\u2009\u202f]\d{3})+(?!\d)")
_GROUP_SEP = re.compile(r"[.,' \u00a0\u2009\u202f]")
_ANY_SEP = re.compile(r"[.,\s]")
# the word after a number: letters and the combining marks of Indic scripts (करोड़), up to a space or sign
_SCALE_WORD = re.compile(r"\s?\.?\s?([^\s\d.,;:!?()\[\]\"'“”„«»%/-]+)\.?")


YEAR = r"(?:1[89]|20)[0-9]{2}"  # a year 1800-2099 (constraints.years_in, dates below)
_UNICODE_DIGIT = re.compile(r"(?![0-9])\d")  # a decimal digit of any script but ASCII


def ascii_digits(text: str) -> str:
    """The text with every decimal digit of another script as its ASCII digit: ۲۰۲۲ (Persian), २०२२
    (Devanagari), ২০২২ (Bengali), ٢٠٢٢ (Arabic) -> 2022. NFKC leaves these as they are."""
    if text.isascii():
        return text
    return _UNICODE_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)


@cache
def _tables() -> dict[str, dict[str, object]]:
    text = resources.files("cqbot").joinpath("data/numbers.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, object]] = json.loads(text)
    return data


@cache
def _scales(lang: str | None) -> dict[str, float]:
    """Scale words of `lang` (all languages when None; where they differ, e.g. Billion, the first wins)."""
    tables: dict[str, dict[str, float]] = _tables()["multipliers"]  # type: ignore[assignment]
    if lang is not None and lang in tables:
        return {unicodedata.normalize("NFKC", w): v for w, v in tables[lang].items()}
    out: dict[str, float] = {}
    for table in tables.values():
        for word, value in table.items():
            out.setdefault(unicodedata.normalize("NFKC", word), value)
    return out


def _decimal_comma(lang: str | None) -> bool | None:
    """Whether `lang` writes decimals with a comma (data/numbers.json), None when unknown."""
    if lang is None:
        return None
    table: dict[str, list[str]] = _tables()["decimal"]  # type: ignore[assignment]
    return True if lang in table["comma"] else False if lang in table["point"] else None


@cache
def _months() -> dict[str, int]:
    tables: dict[str, list[str]] = _tables()["months"]  # type: ignore[assignment]
    return {
        unicodedata.normalize("NFKC", form): i + 1
        for names in tables.values()
        for i, name in enumerate(names)
        for form in name.split("|")
    }


def _month_alternatives() -> str:
    """Every month name as a regex alternative, longest first."""
    return "|".join(re.escape(m) for m in sorted(_months(), key=len, reverse=True))


@cache
def _date_pattern() -> re.Pattern[str]:
    months = _month_alternatives()
    return re.compile(
        r"(?<![0-9])(?:(?:[0-9]{1,2}[./-][0-9]{1,2}[./-](?:[0-9]{4}|[0-9]{2})"  # 15.03.2019, 1/10/20
        r"|[0-9]{4}[./-][0-9]{1,2}(?:[./-][0-9]{1,2})?"  # 2019-03-15, 2024-09
        rf"|{YEAR}"  # a year
        rf"|(?<!\w)(?:{months})\s*[0-9]{{1,2}})(?![0-9])"  # October 1
        r"|[0-9]{1,2}\s*[月日号]"  # 3月, 15日
        rf"|[0-9]{{1,2}}\.?\s*(?:{months})(?!\w))",  # 15. März, 1 October
        re.IGNORECASE,
    )


def without_dates(text: str) -> str:
    """The text with its dates and years blanked out (15.03.2019, 2024-09, 2024年10月1日, 1. Oktober,
    October 1): what is left states counts and amounts only."""
    text = ascii_digits(unicodedata.normalize("NFKC", text))
    return _date_pattern().sub(" ", text)


def _plain(token: str, scaled: bool = False, comma: bool | None = None) -> list[float]:
    """The value(s) of one digit run with its separators: grouped thousands, a decimal, or parts (dates).
    `comma`: whether the language writes a decimal comma (True), point (False) or either (None: then
    one separator before a scale word is a decimal one: 5,793 Milliarden = 5.793 billion)."""
    decimal, grouping = (",", ".") if comma else (".", ",")
    if comma is not None and _GROUPED_DECIMAL.fullmatch(
        token.replace(grouping, "\0").replace(decimal, ".").replace("\0", ",")
    ):
        return [float(token.replace(grouping, "").replace(decimal, "."))]  # 8,000.6 / 8.000,6
    if comma is not None and _DECIMAL.fullmatch(token):
        if decimal in token:
            return [float(token.replace(decimal, "."))]
        if not _GROUPED.fullmatch(token.replace(grouping, ",")):  # "G8.5" in German: a decimal still
            return [float(token.replace(",", "."))]
    if scaled and comma is None and _DECIMAL.fullmatch(token):
        return [float(token.replace(",", "."))]
    if _GROUPED.fullmatch(token):
        return [float(re.sub(r"[^0-9]", "", token))]
    if _DECIMAL.fullmatch(token):
        return [float(token.replace(",", "."))]
    return [float(p) for p in re.split(r"[^0-9]+", token) if p]


def _scale_after(text: str, end: int, scales: dict[str, float]) -> float:
    """The factor of a scale word right after a number (Chinese 万 and 亿 need no space)."""
    rest = text[end : end + 40]
    head = rest.lstrip()
    for size in (2, 1):  # CJK scale characters: 万亿 before 万
        if head[:size] in scales:
            return scales[head[:size]]
    m = _SCALE_WORD.match(rest)
    if m:
        return scales.get(m.group(1).lower(), 1.0)
    return 1.0


def join_digit_groups(text: str) -> str:
    """The text with digit groups joined, for comparing answers as text: '8 753 Firmen' -> '8753 Firmen'."""
    return _GROUP_RUN.sub(lambda m: _GROUP_SEP.sub("", m.group()), text)


def digits_only(token: str) -> str:
    """A number token as the lexical index keys it: every separator dropped (8.753 -> 8753, 2,5 -> 25)."""
    return _ANY_SEP.sub("", token)


def digit_values(text: str, lang: str | None = None) -> set[float]:
    """Every number written in digits, as a value, scaled by a following scale word (8,753; 2,5 Mrd.)."""
    text = ascii_digits(unicodedata.normalize("NFKC", text))
    scales = _scales(lang)
    out: set[float] = set()
    for m in _NUMBER.finditer(text):
        factor = _scale_after(text, m.end(), scales)
        parts = _plain(m.group().strip(" '\u00a0\u2009\u202f.,"), factor != 1.0, _decimal_comma(lang))
        out.update(parts[:-1])
        out.add(float(f"{parts[-1] * factor:.9g}"))  # 2468.7 * 1e8 == 246.87 * 1e9 to 9 digits
    return out


def values(text: str, lang: str | None = None) -> set[float]:
    """Like `digit_values`, and month names as their number (Oktober = October = 10)."""
    out = digit_values(text, lang)
    lowered = unicodedata.normalize("NFKC", text).lower()
    months = _months()
    out.update(float(months[m.group(1)]) for m in _month_names().finditer(lowered))
    return out


@cache
def _month_names() -> re.Pattern[str]:
    """Every month name as a word, longest first (one pattern: a search per name of ~900 names over 68
    languages outran the regex cache and recompiled them all on every call)."""
    return re.compile(rf"(?<!\w)({_month_alternatives()})(?!\w)")


def scale_factors(text: str, lang: str | None = None) -> set[float]:
    """The factors of the scale words a text uses ("10 und 2 Milliarden": {1e9})."""
    text = unicodedata.normalize("NFKC", text)
    scales = _scales(lang)
    return {f for m in _NUMBER.finditer(text) if (f := _scale_after(text, m.end(), scales)) != 1.0}
