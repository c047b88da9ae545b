"""The asker's language: identified over 60 languages (a question per language, short ones included), and
every message of the answer frame in at least 25 of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cqbot.language import LANGUAGES, detect_language
from cqbot.messages import language_name, message, messages

QUESTIONS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "language_questions.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]
# short questions that py3langid reads as a close relative (Malay "Berapa tambang bas?" -> Indonesian,
# Nepali "आज मौसम कस्तो छ?" -> Hindi)
CLOSE = {("ms", "id"), ("ne", "hi")}


def test_the_test_set_covers_at_least_40_languages() -> None:
    langs = {q["lang"] for q in QUESTIONS}
    assert len(langs) >= 40
    assert langs <= set(LANGUAGES)
    assert {q["lang"] for q in QUESTIONS if q["short"]} == langs


@pytest.mark.parametrize(
    "q", QUESTIONS, ids=[f"{q['lang']}-{'short' if q['short'] else 'long'}" for q in QUESTIONS]
)
def test_language_of_a_question(q: dict[str, object]) -> None:
    got = detect_language(str(q["question"]))
    assert got == q["lang"] or (q["short"] and (q["lang"], got) in CLOSE)


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Was bedeutet 实际利用外资 genau?", "de"),  # a Chinese term quoted in a question
        ("Qu’est-ce que le 西部陆海新通道 exactement ?", "fr"),
        ("What is the WCIFIT called in Chinese (西洽会)?", "en"),
        ("Gorilla Glass工厂在哪里？", "zh"),  # Latin names in a question in another script
        ("Smart China Expo 2019签约了多少项目?", "zh"),
        ("Corning Gorilla Glass工場はいつ開所しましたか", "ja"),
        ("Smart China Expo 2019에서 몇 개의 프로젝트가 체결되었나요?", "ko"),
        ("Πότε ξεκίνησε το Western China International Fair for Investment and Trade;", "el"),
        ("Сколько проектов подписали на Smart China Expo 2019?", "ru"),
        ("غەربىي جۇڭگو يەرمەنكىسى (西洽会) قاچان باشلانغان؟", "ug"),  # Han in a Uyghur question
        ("নেগেটিভ লিষ্টৰ বিষয়ে কওক। এইখন কেতিয়া আৰম্ভ হৈছিল?", "as"),  # the Devanagari danda
        ("চংকিংয়ে কতগুলি বিদেশি কোম্পানি আছে? বলুন।", "bn"),
    ],
)
def test_mixed_scripts_the_question_frame_decides(question: str, lang: str) -> None:
    assert detect_language(question) == lang


@pytest.mark.parametrize("text", ["Chongqing?", "GDP 2020?", "8.753", "??", ""])
def test_too_little_to_tell_is_the_default(text: str) -> None:
    assert detect_language(text) == "en"
    assert detect_language(text, default="de") == "de"


MESSAGE_LANGUAGES = sorted(messages())


def test_messages_in_at_least_25_languages_all_identifiable() -> None:
    assert len(MESSAGE_LANGUAGES) >= 25
    assert set(MESSAGE_LANGUAGES) <= set(LANGUAGES)


@pytest.mark.parametrize("lang", MESSAGE_LANGUAGES)
def test_every_message_in_the_language(lang: str) -> None:
    english, table = messages()["en"], messages()[lang]
    assert set(table) == set(english)
    for key, text in english.items():
        assert set(re.findall(r"\{\w+\}", table[key])) == set(re.findall(r"\{\w+\}", text)), key
        if lang != "en" and key not in ("name", "page", "sources", "open"):
            assert table[key] != text, f"{lang}.{key} is the English text"
    assert language_name(lang) == table["name"]


@pytest.mark.parametrize("lang", MESSAGE_LANGUAGES)
def test_a_question_in_the_language_gets_its_messages(lang: str) -> None:
    question = next(str(q["question"]) for q in QUESTIONS if q["lang"] == lang and not q["short"])
    asked = detect_language(question)
    assert asked == lang
    assert message(asked, "not_found") == messages()[lang]["not_found"]
    assert message(asked, "reason_term", term="GDP").count("GDP") == 1


def test_unknown_language_falls_back_to_english() -> None:
    assert message("xx", "not_found") == "The documents do not answer this question."
    assert language_name("xx") == "xx"
