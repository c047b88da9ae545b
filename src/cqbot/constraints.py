"""What a question requires of a sentence that answers it: the year it names, an acronym, a quantity.

e5 matches a question to a sentence on the same topic even when the sentence lacks the one thing
asked ("How many Japanese schools…" -> a sentence about schools with no number). These checks are the
few requirements that can be read off a question in any of the corpus's languages without a parser.
"""

from __future__ import annotations

import re
import unicodedata

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_ACRONYM = re.compile(r"(?<![A-Za-z])[A-Z]{2,6}(?![A-Za-z])")

# "how many / how much" in the languages people ask in; shares ("what share") are not counted here
_ASKS_QUANTITY = re.compile(
    r"\bhow\s+(?:many|much)\b|\bnumber\s+of\b"
    r"|\bwie\s+(?:viele?|hoch)\b|\banzahl\b"
    r"|\bcombien\b|\bnombre\s+de\b"
    r"|\bcu[aá]nt[oa]s?\b|\bn[uú]mero\s+de\b"
    r"|\bсколько\b|\bчисло\b|\bколичество\b"
    r"|多少|几[个家项次年所名位]|多大|多高"
    r"|何[社人件個つ回年か所校カ]|いくつ|いくら|どれくらい|どのくらい|何パーセント",
    re.IGNORECASE,
)
# digits, CJK numerals, and number and fraction words of the corpus languages ("ein Fünfzehntel")
_QUANTITY = re.compile(
    r"[0-9]|[一二三四五六七八九十百千万亿億兩两〇半]"
    r"|\b(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|dreißig|hundert|tausend"
    r"|million\w*|milliarde\w*|hälfte|drittel|viertel|\w+zehntel|\w*zigstel|zehntel|dutzend\w*|doppelt\w*"
    r"|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|thousand"
    r"|billion|half|third|quarter|fifth|tenth|fifteenth|dozen|double|twice)\b",
    re.IGNORECASE,
)


def years_in(text: str) -> set[str]:
    return set(_YEAR.findall(text))


def acronyms(question: str) -> set[str]:
    """Upper-case abbreviations the question asks about (GDP, FDI); none in an all-caps question."""
    if not re.search(r"[a-z]", question) and not re.search(r"[^\x00-\x7f]", question):
        return set()
    return set(_ACRONYM.findall(question))


def asks_quantity(question: str) -> bool:
    """Whether the question asks how many or how much."""
    return bool(_ASKS_QUANTITY.search(unicodedata.normalize("NFKC", question)))


def has_quantity(text: str) -> bool:
    """Whether a text states a number: digits, CJK numerals, or a number or fraction word."""
    return bool(_QUANTITY.search(unicodedata.normalize("NFKC", text)))
