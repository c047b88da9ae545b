"""The chat app: pure formatting of answers (escaping, highlights, refusals, labels) and the real server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chatserver import HOSTILE, build_hostile_bot, free_port, served
from cqbot.config import Settings
from cqbot.records import Answer, Citation, Document
from cqbot.web import render, ui
from fakes import HashingEmbedder

ROOT = Path(__file__).resolve().parents[1]
DEV_QUESTIONS = ROOT / "eval" / "dev_questions.jsonl"
HOSTILE_QUESTION = "How much is the harbour fee for small boats?"


def make_doc(
    text: str, doc_id: str = "doc", title: str = "Titel", source: str = "https://example.org/a"
) -> Document:
    return Document(id=doc_id, title=title, lang="de", text=text, path=f"{doc_id}.md", source=source)


def cite(doc: Document, quote: str, n: int = 1, **extra: Any) -> Citation:
    start = doc.text.index(quote)
    page = extra.pop("page", None)
    return Citation(
        n, doc.id, doc.title, doc.source, "c1", start, start + len(quote), page, quote, 0.9, **extra
    )


def make_answer(lang: str, citations: tuple[Citation, ...], text: str = "", answered: bool = True) -> Answer:
    body = text or " ".join(f"“{c.quote}” [{c.n}]" for c in citations)
    return Answer("Frage?", lang, answered, body, citations if answered else (), 12.0)


def visible_text(fragment: str) -> str:
    """What a browser shows for an HTML fragment: tags dropped, entities decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


# --- pure formatting ---------------------------------------------------------------------------


def test_passage_highlights_the_quote_inside_its_own_paragraph() -> None:
    text = "Erster Absatz.\n\nVorher. Das Zitat steht hier. Nachher.\n\nDritter Absatz."
    before, quote, after = render.passage(text, text.index("Das"), text.index(" Nachher"))
    assert (before, quote, after) == ("Vorher. ", "Das Zitat steht hier.", " Nachher.")
    doc = make_doc(text)
    html_ = render.citation_html(cite(doc, "Das Zitat steht hier."), 0, "de", {doc.id: doc})
    assert "<mark>Das Zitat steht hier.</mark>" in html_
    assert "Vorher. <mark>" in html_ and "Erster" not in html_ and "Dritter" not in html_


def test_long_paragraphs_are_cut_around_the_quote() -> None:
    words = " ".join(f"wort{i}" for i in range(400))
    text = f"{words} Das Zitat. {words}"
    before, quote, after = render.passage(text, text.index("Das"), text.index("Das") + len("Das Zitat."))
    assert quote == "Das Zitat."
    assert before.startswith("…") and after.endswith("…")
    assert len(before) + len(quote) + len(after) <= render.PASSAGE_CHARS + 2
    assert abs(len(before) - len(after)) < 60  # the quote sits in the middle
    short = render.passage("Kurz. Das Zitat. Ende.", 6, 16)
    assert short == ("Kurz. ", "Das Zitat.", " Ende.")


def test_hostile_text_from_documents_and_questions_is_escaped() -> None:
    text = f"Intro.\n\nThe fee is 42 euros {HOSTILE} per night.\n\nEnd."
    doc = make_doc(text, title=f"Fees {HOSTILE}", source="javascript:window.__pwned='link'")
    c = cite(doc, f"The fee is 42 euros {HOSTILE} per night.", translation=f"Die Gebühr {HOSTILE}")
    answer = Answer(f"Fee? {HOSTILE}", "en", True, f"“{c.quote}” [1]", (c,), 1.0, notice=HOSTILE)
    rendered = [
        render.answer_html(answer, 0),
        render.sources_html([answer], {doc.id: doc}),
        render.answer_html(make_answer("en", (), text=HOSTILE, answered=False), 1),
    ]
    for fragment in rendered:
        assert "<script" not in fragment and "<img" not in fragment
        assert "javascript:" not in fragment  # the hostile source never becomes a link
    assert "&lt;script&gt;" in rendered[0] and "&lt;img src=x onerror=" in rendered[1]
    assert HOSTILE in visible_text(rendered[1])  # shown as text, with the question and translation
    assert render.safe_url("javascript:alert(1)") is None and render.safe_url('https://x.org/"><b>') is None
    assert render.safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"


def test_markers_and_source_items_link_to_their_passages() -> None:
    doc = make_doc("Satz eins. Satz zwei.\n\nSatz drei.")
    cites = (cite(doc, "Satz eins.", 1, page=3), cite(doc, "Satz drei.", 2))
    answer = make_answer("de", cites, text="Laut den Dokumenten: „Satz eins.“ [1] „Satz drei.“ [2] [7]")
    chat = render.answer_html(answer, 4)
    assert chat.count('href="#src-4-1"') == 2 and chat.count('href="#src-4-2"') == 2
    assert "[7]" in chat and "#src-4-7" not in chat  # only real citation numbers become links
    panel = render.sources_html([None, None, None, None, answer], {doc.id: doc})
    assert 'id="src-4-1"' in panel and 'id="src-4-2"' in panel
    assert 'href="https://example.org/a"' in panel and 'target="_blank"' in panel


def test_refusals_look_different_from_answers() -> None:
    doc = make_doc("Ein Satz.")
    answered = render.answer_html(make_answer("de", (cite(doc, "Ein Satz."),)), 0)
    refused = render.answer_html(
        make_answer("de", (), text="Die Dokumente beantworten diese Frage nicht.", answered=False), 1
    )
    assert "cq-refusal" in refused and "cq-refusal" not in answered
    assert "cq-srclist" in answered and "cq-srclist" not in refused and "cq-icon" in refused
    assert "cq-empty" in render.sources_html([None], {})  # a refusal adds no passages
    # text in the asker's language takes its direction from its own letters (Arabic right to left)
    assert '<p dir="auto">' in answered and '<p dir="auto">' in refused


@pytest.mark.parametrize(
    ("lang", "labels"),
    [
        ("de", ["Quellen", "Übersetzung", "S. 3", "Zitierte Stellen", "Quelle ↗"]),
        ("en", ["Sources", "Translation", "p. 3", "Cited passages", "source ↗"]),
        ("zh", ["来源", "译文", "第 3 页", "引用段落", "原文 ↗"]),
        ("ko", ["출처", "번역", "3쪽"]),
        ("xx", ["Sources", "Translation", "p. 3"]),  # no messages for it: English
    ],
)
def test_labels_follow_the_language_of_the_answer(lang: str, labels: list[str]) -> None:
    doc = make_doc("Ein Satz.")
    answer = make_answer(lang, (cite(doc, "Ein Satz.", page=3, translation="A sentence."),))
    shown = render.answer_html(answer, 0) + render.sources_html([answer], {doc.id: doc})
    for label in labels:
        assert label in shown, label


def test_sources_panel_lists_answers_newest_first() -> None:
    doc = make_doc("Alt. Neu.")
    old, new = make_answer("de", (cite(doc, "Alt."),)), make_answer("de", (cite(doc, "Neu."),))
    panel = render.sources_html([old, None, new], {doc.id: doc})
    assert panel.index('id="src-2-1"') < panel.index('id="src-0-1"')


def test_corpus_view_lists_documents_with_counts_model_and_build_time(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    bot = build_hostile_bot(tmp_settings, fake_embedder)
    about = render.corpus_html(bot.index)
    assert "<script" not in about and "Harbour &lt;script&gt;" in about
    assert "<code>hostile-doc</code>" in about and "<td>en</td>" in about
    chunks = sum(1 for c in bot.index.chunks if c.doc_id == "hostile-doc")
    assert f'<td class="cq-n">{chunks}</td>' in about
    assert fake_embedder.name in about and bot.index.manifest.built_at in about
    assert "javascript:" not in about  # the hostile source is not turned into a link


# --- the real server ---------------------------------------------------------------------------


def dev_question(qid: str) -> dict[str, Any]:
    for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] == qid:
            return row
    raise KeyError(qid)


@pytest.mark.model
def test_server_answers_german_english_and_chinese_with_quoted_citations(real_bot: Any) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    with served(real_bot) as url:
        client = Client(url, verbose=False)
        for qid, lang in (("d001", "de"), ("d002", "en"), ("d003", "zh")):
            row = dev_question(qid)
            reply = client.predict(row["question"], api_name="/chat")
            assert reply["answered"] is True and reply["language"] == lang
            assert reply["citations"], reply
            assert any(row["evidence"][0] in c["quote"] for c in reply["citations"]), reply
            assert all(f"[{c['n']}]" in reply["answer"] for c in reply["citations"])
        follow = client.predict("Und davon die 500 größten?", [row["question"]], api_name="/chat")
        assert follow["question"] == "Und davon die 500 größten?" and isinstance(follow["answered"], bool)
        with pytest.raises(AppError, match="empty"):
            client.predict("   ", api_name="/chat")


def test_server_serves_a_hostile_document_as_text(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    import httpx
    from gradio_client import Client

    bot = build_hostile_bot(tmp_settings, fake_embedder)
    histories: list[list[str]] = []
    real_ask = bot.ask

    def recording_ask(question: str, history: Any = None) -> Any:
        histories.append(list(history or []))
        return real_ask(question, history)

    bot.ask = recording_ask
    with served(bot) as url:
        client = Client(url, verbose=False)
        reply = client.predict(HOSTILE_QUESTION, api_name="/chat")
        assert reply["answered"] and HOSTILE in reply["citations"][0]["quote"]  # data, not HTML
        client.predict("And large ships?", [HOSTILE_QUESTION], api_name="/chat")
        assert histories == [[], [HOSTILE_QUESTION]]
        config = httpx.get(url + "config", timeout=10).json()
        html_values = [str(c["props"].get("value")) for c in config["components"] if c.get("type") == "html"]
        about = next(v for v in html_values if "cq-about" in v)
        assert "<script" not in about and "Harbour &lt;script&gt;window.__pwned" in about
        assert not any("javascript:" in v for v in html_values)
        assert config.get("analytics_enabled") is False and config["max_file_size"] is not None


def test_server_behind_a_login_and_a_proxy_path_with_an_open_health_route(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    import httpx
    from gradio_client import Client

    bot = build_hostile_bot(tmp_settings, fake_embedder)
    with served(bot, auth=[("ana", "s3cret")], root_path="/cqbot") as url:
        health = httpx.get(url + "health", timeout=10)
        assert health.status_code == 200
        assert health.json() == {
            "status": "ok",
            "index_generation": bot.index.manifest.generation,
            "documents": 1,
            "chunks": len(bot.index.chunks),
            "model": "hashing-test-embedder",
            "built_at": bot.index.manifest.built_at,
        }
        assert httpx.get(url + "config", timeout=10).status_code == 401  # the app itself needs a login
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises a plain ValueError here)
            Client(url, verbose=False, auth=("ana", "wrong"))
        client = Client(url, verbose=False, auth=("ana", "s3cret"))
        assert client.predict(HOSTILE_QUESTION, api_name="/chat")["answered"]
        login = httpx.post(url + "login", data={"username": "ana", "password": "s3cret"}, timeout=10)
        config = httpx.get(url + "config", cookies=login.cookies, timeout=10).json()
        assert config["root"].endswith("/cqbot")  # links the page makes go through the proxy's prefix


def test_serve_rejects_a_malformed_login_or_proxy_path(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cqbot.cli import cli

    runner = CliRunner()
    bad = runner.invoke(cli, ["serve", "--auth", "nopassword"])
    assert bad.exit_code == 2 and "error: --auth takes USER:PASSWORD" in bad.output
    users = tmp_path / "users"
    users.write_text("# who may log in\nana:s3cret\n:nouser\n", encoding="utf-8")
    bad = runner.invoke(cli, ["serve", "--auth-file", str(users)])
    assert bad.exit_code == 2 and "USER:PASSWORD" in bad.output
    bad = runner.invoke(cli, ["serve", "--root-path", "cqbot"])
    assert bad.exit_code == 2 and "error: --root-path must start with '/', got 'cqbot'" in bad.output


@pytest.mark.model
def test_serve_command_builds_a_missing_index_then_answers(tmp_path: Path) -> None:
    from gradio_client import Client

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    src = ROOT / "corpus" / "chongqing-foreign-investment.de.md"
    (corpus / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "cqbot",
        "--corpus",
        str(corpus),
        "--index",
        str(tmp_path / "index"),
        "serve",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "cqbot is ready: " in line:
                break
        output = "".join(lines)
        assert "Building the index first (no index yet)" in output, output
        url = output.split("cqbot is ready: ")[1].split()[0]
        assert url == f"http://127.0.0.1:{port}/"
        reply = Client(url, verbose=False).predict(dev_question("d001")["question"], api_name="/chat")
        assert "8.753 Unternehmen mit ausländischen Investitionen" in reply["citations"][0]["quote"]
        assert (tmp_path / "index" / "manifest.json").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_unsupported_statements_are_shown_apart_from_the_answer() -> None:
    doc = make_doc("Ein Satz.")
    answer = make_answer("en", (cite(doc, "Ein Satz."),))
    plain = render.answer_html(answer, 0)
    assert "cq-unsupported" not in plain
    flagged = Answer(
        "Q?", "en", True, "“Ein Satz.” [1]", answer.citations, 1.0, mode="generated",
        unsupported=("They run 40 <b>research</b> centres.",),
    )  # fmt: skip
    shown = render.answer_html(flagged, 0)
    part = shown[shown.index('<div class="cq-unsupported">') :]
    assert visible_text(part).startswith(
        "Not supported by the documents:They run 40 <b>research</b> centres."
    )
    assert "<b>research" not in part and visible_text(shown).index("Ein Satz.") < visible_text(shown).index(
        "40"
    )
    text = render.answer_text(flagged)
    assert "Not supported by the documents:\n  - They run 40 <b>research</b> centres." in text


def test_rest_ask_route_answers_checks_login_and_says_when_busy(
    tmp_settings: Settings, fake_embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from cqbot.web import api

    bot = build_hostile_bot(tmp_settings, fake_embedder)
    with served(bot, auth=[("ana", "s3cret")]) as url:
        ask = url + "api/ask"
        assert httpx.post(ask, json={"question": HOSTILE_QUESTION}, timeout=10).status_code == 401
        reply = httpx.post(ask, json={"question": HOSTILE_QUESTION}, auth=("ana", "s3cret"), timeout=10)
        assert reply.status_code == 200
        assert reply.json() == bot.ask(HOSTILE_QUESTION).to_dict() | {
            "latency_ms": reply.json()["latency_ms"]
        }
        odd = httpx.post(
            ask, json={"question": HOSTILE_QUESTION, "history": "not a list"}, auth=("ana", "s3cret")
        )
        assert odd.status_code == 200 and odd.json()["citations"] == reply.json()["citations"]
        bad = httpx.post(ask, content=b"not json", auth=("ana", "s3cret"), timeout=10)
        assert bad.status_code == 400 and "question" in bad.json()["error"]
        empty = httpx.post(ask, json={"question": "  "}, auth=("ana", "s3cret"), timeout=10)
        assert empty.status_code == 400 and "empty" in empty.json()["error"]
    monkeypatch.setattr(api, "ASK_WAITING", 0)
    with served(bot) as url:
        busy = httpx.post(url + "api/ask", json={"question": HOSTILE_QUESTION}, timeout=10)
        assert busy.status_code == 503 and busy.json()["error"].startswith("the server is busy")
        assert busy.headers["retry-after"] == "1"


def test_a_full_queue_is_told_so_and_the_waiting_questions_are_answered(
    tmp_settings: Settings, fake_embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import httpx

    bot = build_hostile_bot(tmp_settings, fake_embedder)
    started, release = threading.Event(), threading.Event()
    ask = bot.ask

    def slow_ask(question: str, history: Any = None) -> Any:
        started.set()
        release.wait(20)
        return ask(question, history)

    monkeypatch.setattr(bot, "ask", slow_ask)
    monkeypatch.setattr(ui, "QUEUE_SIZE", 1)
    monkeypatch.setattr(ui, "CONCURRENCY", 1)
    with served(bot) as url:
        call = url + "gradio_api/call/chat"
        first = httpx.post(call, json={"data": [HOSTILE_QUESTION, []]}, timeout=10)
        assert first.status_code == 200 and started.wait(20)  # answering, the queue is empty again
        second = httpx.post(call, json={"data": [HOSTILE_QUESTION, []]}, timeout=10)
        assert second.status_code == 200  # waits in the queue, which is now full
        third = httpx.post(call, json={"data": [HOSTILE_QUESTION, []]}, timeout=10)
        assert third.status_code == 503 and "Queue is full" in third.json()["detail"]
        release.set()
        for event in (first.json()["event_id"], second.json()["event_id"]):
            stream = httpx.get(f"{call}/{event}", timeout=30).text
            assert "event: complete" in stream and "citations" in stream


def test_explain_text_names_each_check_and_a_decision_on_a_later_sentence() -> None:
    evidence = {
        "answered": True,
        "best_score": 0.88,
        "background": 0.75,
        "margin": 0.13,
        "min_margin": 0.0,
        "asks": {"kind": "number", "share": 0.8},
        "checks": [
            {"name": "margin", "held": True, "detail": "0.8800 - 0.7500"},
            {"name": "count", "held": True, "detail": "The plan contains 24 measures."},
        ],
        "rank": 1,
    }
    lines = render.explain_text(evidence).splitlines()
    assert lines[0] == "decision: answer"
    assert "decided on the sentence ranked 2 (the best one states no count)" in lines
    assert lines[-1] == "  count   held (The plan contains 24 measures.)"
    assert not any("ranked" in line for line in render.explain_text({**evidence, "rank": 0}).splitlines())
