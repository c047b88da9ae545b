"""What a question requires of a sentence that answers it: a year, an acronym, a place, a number, money,
a name.

e5 matches a question to a sentence on the same topic even when the sentence lacks the one thing
asked ("How many international schools…" -> a sentence about schools with no number; "How many
foreign companies are in Chengdu?" -> the sentence about Chongqing's). These checks are the few
requirements that can be read off a question in any of the corpus's languages without a parser.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import cache
from importlib import resources

from cqbot.numbers import YEAR, ascii_digits, without_dates

_YEAR = re.compile(rf"(?<![0-9])({YEAR})(?![0-9])")
_ACRONYM = re.compile(r"(?<![A-Za-z])[A-Z]{2,6}(?![A-Za-z])")

# "how many / how much" in the languages people ask in; shares ("what share") are not counted here
_ASKS_QUANTITY = re.compile(
    r"\bhow\s+(?:many|much)\b|\bnumber\s+of\b"
    r"|\bwie\s+(?:viele?|hoch)\b|\banzahl\b"
    r"|\bcombien\b|(?<!el\s)\bnombre\s+de\b"  # French "le nombre de"; Spanish "el nombre de" is a name
    r"|\bcu[aá]nt[oa]s?\b|\bn[uú]mero\s+de\b"
    r"|\bсколько\b|\bчисло\b|\bколичество\b"
    r"|多少|几[个家项次年所名位]|多大|多高"
    r"|何[社人件個つ回年か所校カ]|いくつ|いくら|どれくらい|どのくらい|何パーセント",
    re.IGNORECASE,
)
# "when" / "in which year": answered by a date, which states a number
_ASKS_TIME = re.compile(
    r"\bwhen\b|\bwhat\s+year\b|\bwhich\s+year\b|\bwann\b|\bwelchem\s+jahr\b|\bquand\b|\bquelle\s+ann[ée]e\b"
    r"|\bcu[aá]ndo\b|\bqu[eé]\s+a[nñ]o\b|\bкогда\b|\bкаком\s+году\b|何时|什么时候|哪一?年|何年|いつ",
    re.IGNORECASE,
)
# a price, rent, salary or fee: answered by an amount of money
_ASKS_MONEY = re.compile(
    r"\bhow\s+much\s+(?:does|do|did|is|was|are|were)\b[^?]*\bcost|\b(?:price|rent|salary|salaries|wages?|fees?|tuition)\b"
    r"|\bkoste[nt]?\b|\b(?:preis|miete|gehalt|gehälter|lohn|löhne|gebühr)\w*"
    r"|\bco[uû]te|\b(?:prix|loyer|salaire|frais)\b|\bcuesta|\b(?:precio|alquiler|salario|sueldo|tarifa)"
    r"|\bстои[тл]|\b(?:цен[аыу]|аренд|зарплат|оклад|плат[аыу])"
    r"|多少钱|价格|租金|房租|工资|薪|学费|費用|费用|値段|価格|料金|家賃|給料|賃金|授業料",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"[$€¥£￥元円]|\b(?:yuan|rmb|cny|usd|eur|dollar\w*|euro\w*|renminbi)\b|us-dollar|юан|доллар|евро|рубл"
    r"|人民币|美元|ドル|ユーロ|人民元",
    re.IGNORECASE,
)
# digits, CJK numerals, and number and fraction words of the corpus languages ("ein Fünfzehntel")
_QUANTITY = re.compile(
    # CJK numerals only as a number: two or more in a row (十五, 三十), or one before a counter or
    # fraction (三年, 五家, 十分之一, 一半); a lone 一 is mostly a word part (一流 first-class, 统一)
    r"[0-9]|[一二三四五六七八九十百千万亿億兩两〇]{2,}"
    r"|[一二三四五六七八九十百千万亿億兩两〇半][个個家项項名位人成倍年月日号次件所座条分之割半社%％]"
    r"|\b(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|dreißig|hundert|tausend"
    r"|million\w*|milliarde\w*|hälfte|drittel|viertel|\w+zehntel|\w*zigstel|zehntel|dutzend\w*|doppelt\w*"
    r"|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|thousand"
    r"|billion|half|third|quarter|fifth|tenth|fifteenth|dozen|double|twice)\b",
    re.IGNORECASE,
)


def _finds(pattern: re.Pattern[str], text: str) -> bool:
    return bool(pattern.search(ascii_digits(unicodedata.normalize("NFKC", text))))


def years_in(text: str) -> set[str]:
    """The years (1800-2099) a text names, in any script's digits (۲۰۲۲ = 2022)."""
    return set(_YEAR.findall(ascii_digits(text)))


def acronyms(question: str) -> set[str]:
    """Upper-case abbreviations the question asks about (GDP, FDI); none in an all-caps question."""
    if not re.search(r"[a-z]", question) and not re.search(r"[^\x00-\x7f]", question):
        return set()
    return set(_ACRONYM.findall(question))


def asks_quantity(question: str) -> bool:
    """Whether the question asks how many or how much."""
    return _finds(_ASKS_QUANTITY, question)


def has_quantity(text: str) -> bool:
    """Whether a text states a number: digits, CJK numerals, or a number or fraction word."""
    return _finds(_QUANTITY, text)


def has_count(text: str) -> bool:
    """Whether a text states a number other than a date or a year (a count, an amount, a share)."""
    return has_quantity(without_dates(text))


def asks_time(question: str) -> bool:
    """Whether the question asks when (a date or a year)."""
    return _finds(_ASKS_TIME, question)


def needs_number(question: str) -> bool:
    """How many, how much, when: questions whose answer states a number."""
    return asks_quantity(question) or asks_time(question)


# scripts whose words a place stem starts (Latin, Greek, Cyrillic); stems in other scripts match anywhere,
# as words there carry prefixes (Arabic, Hebrew), particles (Korean) or no spaces (Chinese, Thai)
_WORD_START = re.compile(r"[a-z0-9\u00c0-\u024f\u0370-\u03ff\u1f00-\u1fff\u0400-\u04ff]")


@cache
def _place_stems() -> tuple[tuple[tuple[str, str], ...], ...]:
    """Each place's stems (lower case) with where they match: "any" (anywhere), "start" (at the start of
    a word) or "word" (a whole word)."""
    text = resources.files("cqbot").joinpath("data/places.txt").read_text(encoding="utf-8")
    places = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        stems = []
        for stem in (s.strip().lower() for s in line.split("|") if s.strip()):
            if not _WORD_START.search(stem):  # CJK, Hangul, Arabic, Hebrew, Thai, Devanagari: anywhere
                stems.append((stem, "any"))
            else:  # at the start of a word; short stems (usa, inde) only as whole words
                stems.append((stem, "word" if stem.isalnum() and len(stem) <= 4 else "start"))
        places.append(tuple(stems))
    return tuple(places)


def _stem_pattern(stem: str, where: str) -> str:
    if where == "any":
        return re.escape(stem)
    return r"(?<!\w)" + re.escape(stem) + (r"(?!\w)" if where == "word" else "")


@cache
def _places() -> tuple[re.Pattern[str], ...]:
    return tuple(
        re.compile("|".join(_stem_pattern(*s) for s in stems), re.IGNORECASE) for stems in _place_stems()
    )


def places_named(text: str) -> dict[int, str]:
    """The places (lines of data/places.txt) that a text names, in any language, each with the words
    that named it."""
    text = unicodedata.normalize("NFKC", text)
    return {i: m.group() for i, pattern in enumerate(_places()) if (m := pattern.search(text))}


_WORD = re.compile(r"\w+")


def _folded(text: str) -> str:
    """Lower case, the Turkish and Azerbaijani dotted and dotless i as i (as re.IGNORECASE reads them)."""
    return text.lower().replace("i\u0307", "i").replace("ı", "i")


def _has_prefix(words: list[str], stem: str) -> bool:
    at = bisect.bisect_left(words, stem)
    return at < len(words) and words[at].startswith(stem)


def places_in(text: str) -> set[int]:
    """The places (lines of data/places.txt) that a text names, in any language: what places_named
    finds, for long texts (a document and its translations, where running every place's pattern over
    the text took 2-4 s): the text's words are looked up instead, and a pattern runs only for a stem of
    several words whose words are all there."""
    text = unicodedata.normalize("NFKC", text)
    low = _folded(text)
    words = sorted(set(_WORD.findall(low)))
    vocabulary = set(words)
    found = set()
    for i, stems in enumerate(_place_stems()):
        for stem, where in stems:
            folded = _folded(stem)
            if where == "any":
                hit = folded in low
            elif where == "word":
                hit = folded in vocabulary
            elif folded.isalnum():
                hit = _has_prefix(words, folded)
            else:  # several words ("united states", "u.s."): all there, then its own pattern
                *whole, last = _WORD.findall(folded) or [""]
                possible = all(w in vocabulary for w in whole) and (
                    _has_prefix(words, last) if folded[-1:].isalnum() else last in vocabulary or not last
                )
                hit = possible and re.search(_stem_pattern(stem, where), text, re.IGNORECASE) is not None
            if hit:
                found.add(i)
                break
    return found


def asks_money(question: str) -> bool:
    """Whether the question asks a price, rent, salary or fee."""
    return _finds(_ASKS_MONEY, question)


def has_money(text: str) -> bool:
    """Whether a text states an amount of money (a currency sign or name)."""
    return _finds(_MONEY, text)


# "which company (one, not which companies) / what is it called / who is": answered by a name
_ASKS_NAME = re.compile(
    r"\bwhat\s+is\s+the\s+name\b|\bname\s+of\b|\bwho\s+(?:is|was)\b"
    r"|\bwhich\s+(?:[\w-]+\s+){0,2}(?:company|firm)\b"
    r"|\bwie\s+hei(?:ß|ss)t\b|\bname\s+de[rs]\b|\bwer\s+(?:ist|war)\b"
    r"|\bwelches\s+(?:\w+\s+){0,2}unternehmen\b|\bwelche\s+(?:\w+\s+){0,2}firma\b"
    r"|\bquel\s+est\s+le\s+nom\b|\bcomment\s+s'appelle\b|(?<!ce\s)\bqui\s+est\b"
    r"|\bquelle\s+(?:entreprise|soci[ée]t[ée])\b"
    r"|\bc[oó]mo\s+se\s+llama\b|\bnombre\s+de\s+la\b|\bqu[eé]\s+empresa\b|\bqui[eé]n\s+es\b"
    r"|\bкак\s+(?:называется|зовут)\b|\bкакая\s+компания\b|\bкто\s+(?:является|такой)\b"
    r"|叫什么|什么名字|名称是|哪家|哪个公司|谁是|是谁|名前|名称は|どの企業|どの会社|誰",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[„“\"«「『][^„“”\"«»「」『』]{2,80}[“”\"»」』]")
_NAME_WORD = re.compile(r"(?<=[\w,;] )[A-Z][\w-]+")


def asks_name(question: str) -> bool:
    """Whether the question asks for a name (which company, what is it called, who is)."""
    return _finds(_ASKS_NAME, question)


def has_name(english: str, subject: str = "") -> bool:
    """Whether an English sentence names something: a quoted name, or a capitalised word inside the
    sentence other than the corpus subject. Only English is read (German capitalises every noun), and
    a capitalised first word does not count (it may be any word)."""
    if _QUOTED.search(english):
        return True
    return any(w.lower() != subject.lower() for w in _NAME_WORD.findall(english))
