"""The chat page in a real headless Chromium: ask, see the cited passage, click it; no script injection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from chatserver import build_hostile_bot, served
from cqbot.config import Settings
from fakes import HashingEmbedder

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
EVIDENCE = "8.753 Unternehmen mit ausländischen Investitionen"
HOSTILE_QUESTION = "How much is the harbour fee for small boats? <img src=y onerror=\"window.__pwned='q'\">"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian Chromium at /usr/bin/chromium (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@contextmanager
def chat_page(browser: Any, url: str) -> Iterator[tuple[Any, list[str]]]:
    """A fresh page on the app, and the list of requests it makes to hosts other than the app's."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = context.new_page()
    outside: list[str] = []
    app_host = urlparse(url).netloc
    page.on(
        "request",
        lambda r: (
            outside.append(r.url) if r.url.startswith("http") and urlparse(r.url).netloc != app_host else None
        ),
    )
    page.goto(url)
    page.wait_for_selector("#cq-question textarea")
    try:
        yield page, outside
    finally:
        context.close()


def ask(page: Any, question: str) -> None:
    page.fill("#cq-question textarea", question)
    page.click("#cq-send")


@pytest.mark.model
def test_chinese_question_shows_the_german_evidence_and_its_passage(browser: Any, real_bot: Any) -> None:
    from playwright.sync_api import expect

    with served(real_bot) as url, chat_page(browser, url) as (page, outside):
        ask(page, "重庆有多少家外资企业？")
        passage = page.locator("#cq-sources .cq-src", has=page.locator("mark", has_text=EVIDENCE))
        expect(passage).to_be_visible(timeout=60_000)
        answer = page.locator("#cq-chat .cq-answer").last
        # the answer reads in the asker's language: the aligned Chinese translation, marked as one; the
        # passage panel highlights the German original the citation points at
        expect(answer).to_contain_text("“重庆目前共有外商投资企业8753家。”（译文）")
        assert EVIDENCE not in answer.locator("p").first.inner_text()  # (the source list shows the title)
        expect(answer.locator(".cq-srclist")).to_contain_text("来源")
        anchor = passage.get_attribute("id")
        assert anchor and anchor.startswith("src-")

        page.locator("#cq-sources").evaluate("el => el.scrollTo(0, el.scrollHeight)")
        answer.locator(f'a.cq-ref[href="#{anchor}"]').first.click()
        expect(passage).to_have_class("cq-src cq-active")
        expect(passage).to_be_in_viewport()
        expect(passage.locator("blockquote")).to_contain_text("322 der 500")  # the surrounding paragraph
        expect(passage.locator(".cq-translation")).to_contain_text("8753")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-chat.png"), full_page=True)

        page.get_by_role("tab", name="About the corpus").click()
        expect(page.locator("#cq-about table")).to_contain_text("chongqing-foreign-investment")
        assert outside == [], f"the page called other hosts: {outside}"


@pytest.mark.model
def test_an_arabic_answer_reads_right_to_left_beside_the_german_passage(browser: Any, real_bot: Any) -> None:
    from playwright.sync_api import expect

    with served(real_bot) as url, chat_page(browser, url) as (page, _):
        ask(page, "كم عدد الشركات ذات الاستثمار الأجنبي في تشونغتشينغ حاليا؟")
        answer = page.locator("#cq-chat .cq-answer").last
        expect(answer).to_contain_text("8,753", timeout=60_000)
        direction = "e => getComputedStyle(e).direction"
        assert answer.locator("p").first.evaluate(direction) == "rtl"
        passage = page.locator("#cq-sources .cq-src", has=page.locator("mark", has_text=EVIDENCE))
        expect(passage).to_be_visible()
        assert passage.locator("blockquote").evaluate(direction) == "ltr"  # the German original
        assert passage.locator(".cq-translation").evaluate(direction) == "rtl"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-rtl.png"), full_page=True)


@pytest.mark.model
def test_example_question_then_another_then_clear(browser: Any, real_bot: Any) -> None:
    from playwright.sync_api import expect

    with served(real_bot) as url, chat_page(browser, url) as (page, _):
        examples = page.locator("#cq-chat").get_by_role("button", name="DE ·")
        expect(examples).to_have_count(1)
        examples.click()
        expect(page.locator("#cq-sources mark", has_text=EVIDENCE)).to_be_visible(timeout=60_000)
        expect(page.locator("#cq-chat .cq-srclist").last).to_contain_text("Quellen")

        ask(page, "Welchen Anteil an den Steuereinnahmen haben ausländische Unternehmen?")
        expect(page.locator("#cq-chat .cq-answer")).to_have_count(2, timeout=60_000)
        expect(page.locator("#cq-sources .cq-turn")).to_have_count(2)
        expect(page.locator("#cq-sources .cq-turn").first).to_contain_text("ein Zehntel der Steuereinnahmen")
        page.locator("#cq-chat").get_by_role("button", name="Clear").click()
        expect(page.locator("#cq-sources .cq-empty")).to_be_visible()
        expect(page.locator("#cq-chat .cq-answer")).to_have_count(0)


def test_hostile_document_shows_as_text_and_runs_no_script(
    browser: Any, tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    from playwright.sync_api import expect

    bot = build_hostile_bot(tmp_settings, fake_embedder)
    histories: list[list[str]] = []
    real_ask_stream = bot.ask_stream  # the chat page streams; the /chat API uses ask

    def recording_ask_stream(question: str, history: Any = None) -> Any:
        histories.append(list(history or []))
        return real_ask_stream(question, history)

    bot.ask_stream = recording_ask_stream
    with served(bot) as url, chat_page(browser, url) as (page, _):
        ask(page, "   ")
        expect(page.locator("#cq-chat .cq-hint")).to_contain_text("Please ask a question.")

        ask(page, HOSTILE_QUESTION)
        mark = page.locator("#cq-sources mark")
        expect(mark).to_contain_text("<script>window.__pwned='script'</script>", timeout=30_000)
        expect(mark).to_contain_text("<img src=x onerror=")
        expect(page.locator("#cq-sources .cq-title")).to_contain_text("Harbour <script>")
        expect(page.locator("#cq-chat .cq-answer").last).to_contain_text("<script>window.__pwned")
        expect(page.locator("#cq-chat")).to_contain_text("<img src=y onerror=")  # the question, as text
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-hostile.png"), full_page=True)

        ask(page, "And large ships?")  # a follow-up gets the earlier questions as history
        expect(page.locator("#cq-chat .cq-answer")).to_have_count(3, timeout=30_000)
        assert histories[-1] == [HOSTILE_QUESTION], histories
        page.get_by_role("tab", name="About the corpus").click()
        expect(page.locator("#cq-about")).to_contain_text(
            "Harbour <script>window.__pwned='title'</script> fees"
        )
        page.wait_for_timeout(500)
        assert page.evaluate("window.__pwned") is None
        assert page.locator('a[href^="javascript"]').count() == 0
        assert page.locator("#cq-sources script, #cq-chat script, #cq-about script").count() == 0


@pytest.mark.model
def test_a_decline_shows_its_reason_and_the_closest_passages(browser: Any, real_bot: Any) -> None:
    from playwright.sync_api import expect

    question = "Qual è la temperatura media d'estate a Chongqing?"  # Italian: messages in Italian too
    expected = real_bot.ask(question)
    assert not expected.answered and len(expected.closest) == 2
    with served(real_bot) as url, chat_page(browser, url) as (page, _):
        ask(page, question)
        refusal = page.locator("#cq-chat .cq-refusal").last
        expect(refusal).to_contain_text("I documenti non rispondono a questa domanda.", timeout=60_000)
        closest = refusal.locator(".cq-closest")
        expect(closest.locator(".cq-label")).to_have_text("Passaggi più vicini (non sono una risposta):")
        expect(closest.locator("li")).to_have_count(2)
        for c, item in zip(expected.closest, closest.locator("li").all(), strict=True):
            expect(item.locator("q")).to_have_text(c.quote)
            expect(item).to_contain_text(c.title)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-decline.png"), full_page=True)


def test_votes_on_answers_are_saved_with_the_comment(
    browser: Any, tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    import json

    from playwright.sync_api import expect

    bot = build_hostile_bot(tmp_settings, fake_embedder)
    votes = tmp_settings.feedback_dir / "feedback.jsonl"
    with served(bot) as url, chat_page(browser, url) as (page, _):
        ask(page, HOSTILE_QUESTION)
        answer = page.locator("#cq-chat .cq-answer").last
        expect(answer).to_be_visible(timeout=30_000)
        page.locator("#cq-chat button[aria-label='Like']").last.click()
        expect(page.locator("#cq-voted")).to_have_text("✓ like saved", timeout=10_000)
        page.fill("#cq-comment textarea", "The fee is per night, not per week.")
        page.locator("#cq-chat button[aria-label='Dislike']").last.click()
        expect(page.locator("#cq-voted")).to_have_text("✓ dislike saved", timeout=10_000)
        expect(page.locator("#cq-comment textarea")).to_have_value("")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-votes.png"), full_page=True)
    up, down = (json.loads(line) for line in votes.read_text(encoding="utf-8").splitlines())
    assert (up["vote"], up["comment"], down["vote"]) == ("up", "", "down")
    assert down["comment"] == "The fee is per night, not per week."
    assert up["question"] == down["question"] == HOSTILE_QUESTION
    assert up["answer"]["citations"] and up["answer"]["answered"] is True
