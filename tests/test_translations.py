"""The shipped corpus: every document in German, English and Chinese, each translation aligned sentence by
sentence with its original and keeping every number; and the number normaliser those checks rest on."""

from __future__ import annotations

import pytest
from tests.conftest import CORPUS

from cqbot.alignment import align, check_translation, sentence_grid
from cqbot.corpus import read_corpus
from cqbot.numbers import digit_values, values
from cqbot.records import Document

MAIN_LANGUAGES = {"de", "en", "zh"}


def _shipped() -> dict[str, Document]:
    return {doc.id: doc for doc in read_corpus(CORPUS).documents}


DOCS = _shipped()
TRANSLATIONS = sorted(d.id for d in DOCS.values() if d.kind == "translation")
ORIGINALS = sorted(d.id for d in DOCS.values() if d.kind != "translation")


@pytest.mark.parametrize("doc_id", ORIGINALS)
def test_every_document_is_in_the_main_languages(doc_id: str) -> None:
    have = {DOCS[doc_id].lang} | {d.lang for d in DOCS.values() if d.translation_of == doc_id}
    assert have >= MAIN_LANGUAGES, f"{doc_id}: no translation into {sorted(MAIN_LANGUAGES - have)}"


@pytest.mark.parametrize("doc_id", TRANSLATIONS)
def test_translation_aligns_and_keeps_every_number(doc_id: str) -> None:
    translation = DOCS[doc_id]
    original = DOCS[translation.translation_of or ""]
    assert check_translation(original, translation) == []
    mapping = align(original, translation)
    assert mapping is not None
    # the alignment covers every sentence of both texts, one to one
    n_original = sum(len(p) for p in sentence_grid(original))
    assert len(mapping) == n_original == sum(len(p) for p in sentence_grid(translation))
    assert len(set(mapping.values())) == n_original


def _doc(text: str, lang: str, doc_id: str = "d") -> Document:
    return Document(id=doc_id, title="t", lang=lang, source="", text=text, path=f"{doc_id}.md")


def test_check_translation_names_a_missing_number_and_a_broken_alignment() -> None:
    original = _doc("Es gibt 8.753 Firmen. Sie zahlen 10 % der Steuern.\n\nZweiter Absatz.", "de")
    good = _doc("There are 8,753 firms. They pay 10% of taxes.\n\nSecond paragraph.", "en", "e")
    assert check_translation(original, good) == []
    wrong = _doc("There are 8,735 firms. They pay 10% of taxes.\n\nSecond paragraph.", "en", "e")
    (problem,) = check_translation(original, wrong)
    assert problem.startswith("number 8753 not in the translation: 'Es gibt 8.753 Firmen.'")
    merged = _doc("There are 8,753 firms, paying 10% of taxes.\n\nSecond paragraph.", "en", "e")
    assert check_translation(original, merged) == [
        "sentences per paragraph differ: original [2, 1], translation [1, 1]"
    ]


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("8.753 Unternehmen", "de", {8753.0}),
        ("8,753 firms", "en", {8753.0}),
        ("etwa 50 % des Volumens", "de", {50.0}),
        ("2,5 Billionen Yuan", "de", {2.5e12}),
        ("2.5 trillion yuan", "en", {2.5e12}),
        ("2.5万亿元", "zh", {2.5e12}),
        ("300万人", "zh", {3e6}),
        ("3 Mio. Einwohner", "de", {3e6}),
        ("USD 590 million", "en", {5.9e8}),
        ("am 1. Oktober 2020", "de", {1.0, 10.0, 2020.0}),
        ("on 1 October 2020", "en", {1.0, 10.0, 2020.0}),
        ("2020年10月1日", "zh", {1.0, 10.0, 2020.0}),
        ("15.08.2014", "de", {15.0, 8.0, 2014.0}),
        ("816,9 miliardi di yuan, 15 marzo 2019", "it", {8.169e11, 15.0, 3.0, 2019.0}),
        ("816.9 พันล้าน หยวน", "th", {8.169e11}),
        ("612 কোটি ইউয়ান", "bn", {6.12e9}),
        ("612 מיליארד יואן בחודש ינואר", "he", {6.12e11, 1.0}),
        ("2,5 bilhões em maio", "pt", {2.5e9, 5.0}),
        ("10,27 mld. USD, 15. března 2019", "cs", {1.027e10, 15.0, 3.0, 2019.0}),
        ("5,793 мільярда доларів, 1 жовтня 2020", "uk", {5.793e9, 1.0, 10.0, 2020.0}),
        ("10.27 ارب ڈالر", "ur", {1.027e10}),
        ("816,9 միլիարդ յուան, մայիսի 16", "hy", {8.169e11, 16.0, 5.0}),
        ("5,793 миллиард доллар, 1 қазан 2020", "kk", {5.793e9, 1.0, 10.0, 2020.0}),
        ("816,9 милијарди јуана, 16. маја 2019", "sr", {8.169e11, 16.0, 5.0, 2019.0}),
        ("816.9 bilyong yuan noong Hulyo", "tl", {8.169e11, 7.0}),
        ("816.9 ቢሊዮን ዩዋን", "am", {8.169e11}),
        ("816,9 мільярда юаняў, 16 траўня 2019", "be", {8.169e11, 16.0, 5.0, 2019.0}),
        ("816,9 milljarðar júana, 16. maí 2019", "is", {8.169e11, 16.0, 5.0, 2019.0}),
        ("816,9 miliardë juanë, 16 majit 2019", "sq", {8.169e11, 16.0, 5.0, 2019.0}),
    ],
)
def test_values_read_numbers_alike_across_languages(text: str, lang: str, expected: set[float]) -> None:
    assert values(text, lang) == expected


def test_digit_values_ignore_month_names_and_words() -> None:
    assert digit_values("im Oktober, ein Fünfzehntel") == set()
    assert values("im Oktober", "de") == {10.0}
