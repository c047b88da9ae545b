"""What a question requires of its answer: years, acronyms, quantities, read in several languages."""

from __future__ import annotations

import pytest

from cqbot.constraints import (
    acronyms,
    asks_money,
    asks_name,
    asks_quantity,
    has_count,
    has_money,
    has_name,
    has_quantity,
    needs_number,
    places_in,
    places_named,
    years_in,
)


@pytest.mark.parametrize(
    "question",
    [
        "How many foreign-invested enterprises are there?",
        "How much tax do foreign firms pay?",
        "Wie viele Unternehmen gibt es?",
        "Wie hoch war das BIP?",
        "Combien d'écoles internationales y a-t-il ?",
        "¿Cuántos empleos crean?",
        "Сколько компаний работает в Чунцине?",
        "重庆有多少家外资企业？",
        "重慶には外資系企業が何社ありますか？",
        "輸出入額のどのくらいを占めていますか？",
    ],
)
def test_how_many_questions_in_seven_languages(question: str) -> None:
    assert asks_quantity(question)


@pytest.mark.parametrize(
    "question",
    [
        "What do foreign banks do in Chongqing?",
        "Was bringen die Großprojekte nach Chongqing?",
        "Qu'a fait Chongqing pendant le plan quinquennal ?",
        "国際学校は重慶の市民に何をもたらしていますか？",  # 何 alone is "what", not "how many"
        "重庆未来打算打造什么品牌？",
        "Какие онлайн-платформы создал Чунцин?",
    ],
)
def test_other_questions_ask_no_quantity(question: str) -> None:
    assert not asks_quantity(question)


def test_numbers_and_number_words_are_quantities() -> None:
    assert has_quantity("Chongqing beherbergt aktuell 8.753 Unternehmen.")
    assert has_quantity("Arbeitsplätze für ein Fünfzehntel der städtischen Erwerbsbevölkerung")
    assert has_quantity("ein Zehntel der Steuereinnahmen") and has_quantity("about half of all trade")
    assert has_quantity("十五分之一") and has_quantity("１２３") and has_quantity("占一半")
    assert not has_quantity("打造一流营商环境") and not has_quantity("统一大市场")  # 一 inside words
    assert not has_quantity("an internationalen Schulen wird globales Lernen ermöglicht")
    assert not has_quantity("Ein Unternehmen hat einen Titel im Kapitel.")  # articles, words ending -tel


def test_dates_and_years_are_not_counts() -> None:
    for dated in [
        "Am 15.03.2019 verabschiedete der Volkskongress das Gesetz.",
        "billigte am 10.02.2025 einen „Aktionsplan 2025“",
        "2025年2月10日，国务院常务会议审议通过了“2025年稳外资行动方案”。",
        "At the end of April 2024 the office announced a plan.",
        "It took effect on October 1, 2020 (report of 2024-09).",
        "Die Maßnahmen traten am 1. Oktober 2020 in Kraft.",
    ]:
        assert has_quantity(dated) and not has_count(dated), dated
    for counted in [
        "umfasst 42 Artikel in 6 Kapiteln",
        "2024年第一季度，重庆共有110个制造业重点项目开工",
        "On 5 July 2021 officials said that 296 companies were present.",
        "Arbeitsplätze für ein Fünfzehntel der Erwerbsbevölkerung",
    ]:
        assert has_count(counted), counted


def test_digits_of_any_script_are_read() -> None:
    assert years_in("در سال ۲۰۲۲ چند شرکت") == {"2022"}  # Persian
    assert years_in("২০২৩ সালের প্রথমার্ধে") == {"2023"}  # Bengali
    assert years_in("عام ٢٠١٩") == {"2019"} and years_in("वर्ष २०२० में") == {"2020"}  # Arabic, Devanagari
    assert has_quantity("۵۰۰ شرکت")


def test_years_and_acronyms() -> None:
    assert years_in("Im Jahr 2020, nicht 12020 oder 1750") == {"2020"}
    assert acronyms("What was the GDP and FDI in 2020?") == {"GDP", "FDI"}
    assert acronyms("WHAT IS THE GDP") == set()  # an all-caps question has no acronyms to check


WHEN = [
    "When was the zone founded?",
    "Wann wurde die Zone gegründet?",
    "Когда открылась зона?",
    "两江新区什么时候成立？",
    "いつ設立されましたか？",
    "¿Cuándo se fundó?",
    "En quelle année ?",
]


@pytest.mark.parametrize("question", WHEN)
def test_when_questions_need_a_number(question: str) -> None:
    assert needs_number(question)
    assert needs_number("How many firms?") and not needs_number("What do banks do?")


def test_countries_are_found_in_any_language_and_only_as_words() -> None:
    usa, germany, japan = (places_in(t).pop() for t in ("American firms", "deutsche Firmen", "日本企業"))
    assert places_in("How many US-Firmen and Japanese companies?") == {usa, japan}
    assert places_in("Welche deutschen Unternehmen?") == places_in("德资企业") == {germany}
    assert places_in("Сколько американских компаний?") == {usa}
    assert places_in("usage of the indépendant cloud, in English") == set()
    assert places_in("外资企业 in Chongqing, China") == set()  # China itself is not a constraint


def test_chinese_cities_are_places_too() -> None:
    chengdu = places_in("Chengdu").pop()
    assert places_in("成都有多少家外资企业？") == places_in("Сколько компаний в Чэнду?") == {chengdu}
    assert places_in("Wie viele Firmen gibt es in Peking?") == places_in("北京") != {chengdu}
    assert places_in("Chongqing beherbergt 8.753 Unternehmen") == set()  # the subject is not listed


@pytest.mark.parametrize(
    "text",
    [
        "Firms from the United States, the U.S. and US-Firmen; Vereinigte Staaten.",
        "Qərbi Çin, Sıçuan əyaləti və İran; Sichuan und Szechuan",
        "日本企業と韓国企業 in Chengdu, Peking and 北京; ee. uu. y Estados Unidos",
        "usage of the indépendant cloud, in English; inde; USA",
    ],
)
def test_places_in_finds_what_the_patterns_find(text: str) -> None:
    """places_in (words looked up, for whole documents) agrees with places_named (a pattern per place)."""
    assert places_in(text) == set(places_named(text))
    assert places_in(text + "\n" + text.upper()) == set(places_named(text + "\n" + text.upper()))


@pytest.mark.parametrize(
    "question",
    [
        "How much does an office cost to rent?",
        "What is the average salary?",
        "Wie hoch ist die Miete?",
        "Combien coûte un appartement ?",
        "¿Cuál es el precio medio?",
        "Какова средняя зарплата в Чунцине?",
        "Сколько стоит аренда офиса?",
        "重庆的平均工资是多少？",
        "国際学校の授業料はいくらですか？",
    ],
)
def test_price_questions_need_money(question: str) -> None:
    assert asks_money(question)


def test_money_is_a_currency_sign_or_name() -> None:
    assert has_money("10,272 Mio. US-Dollar") and has_money("2.1 billion USD") and has_money("50亿元")
    assert has_money("5 000 €") and has_money("1 000 рублей")
    assert not has_money("Chongqing beherbergt aktuell 8.753 Unternehmen.")
    assert not asks_money("How many foreign companies are there?")
    assert not asks_money("Welche Maßnahmen stabilisieren Investitionen?")


def test_name_questions_need_a_name_in_the_english_sentence() -> None:
    assert asks_name("Which semiconductor company opened the largest factory?")
    assert asks_name("Quel est le nom de l'entreprise ?") and asks_name("Wie heißt der Leiter?")
    assert asks_name("哪家半导体公司在重庆建厂？") and asks_name("Как называется бренд?")
    assert not asks_name("Which industries do the projects come from?")
    assert not asks_name("Which banks make cross-border transactions easier?")  # a kind, not a name
    assert not asks_name("Welche Unternehmen haben investiert?")  # which companies: may be a kind too
    assert asks_name("Qui est le maire ?") and not asks_name("Qu'est-ce qui est prévu pour l'avenir ?")
    spanish = "¿Cuál es el nombre de la marca?"
    assert asks_name(spanish) and not needs_number(spanish)
    assert needs_number("Quel est le nombre de mesures ?")
    assert has_name("Chongqing wants to strengthen the “Invest in Chongqing” brand.", "Chongqing")
    assert has_name("In 2019 the plant of Corning opened.", "Chongqing")
    assert not has_name("Chongqing has attracted projects in semiconductors and glass.", "Chongqing")
