"""Gradio chat app over one loaded Chatbot: page layout, chat handlers, /chat APIs (the HTML is render.py)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from cqbot.errors import QuestionError
from cqbot.feedback import record_vote
from cqbot.messages import message, messages_known
from cqbot.records import Answer
from cqbot.web.api import MAX_INPUT_CHARS, ask_route, health
from cqbot.web.render import CSS, JS, answer_html, corpus_html, esc, notice_html, sources_html

if TYPE_CHECKING:
    import gradio as gr

    from cqbot.live import LiveChatbot
    from cqbot.pipeline import Chatbot

    Bot = Chatbot | LiveChatbot

log = logging.getLogger(__name__)

QUEUE_SIZE = 64
# questions Gradio's queue answers at once (chat page and /chat): 4 overlaps Python work with model time;
# measured at 32 clients, quiet machine, Gradio's analytics off: 2 -> 49-52 answers/s, p95 0.89-0.90 s;
# 4 -> 56-60 answers/s, p95 0.78-0.81 s (RESULTS.md, issue 13)
CONCURRENCY = 4

EXAMPLES = [
    ("DE", "Wie viele Unternehmen mit ausländischen Investitionen gibt es in Chongqing?"),
    ("EN", "What share of import and export volume do foreign companies contribute?"),
    ("ZH", "重庆有多少家外资企业？"),
    ("FR", "Combien des 500 plus grandes entreprises mondiales sont présentes à Chongqing ?"),
    ("ES", "¿Qué aportan las instituciones médicas extranjeras?"),
    ("JA", "重慶には外資系企業がいくつありますか？"),
]

Turns = list[Answer | None]  # one entry per question asked; None where it had no answer
Shown = list[tuple[str, str]]  # (user HTML, assistant HTML) per question, as the chat shows them


def _gradio() -> Any:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before the import: gradio reads it then
    try:
        import gradio
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("the chat app needs gradio; run: pip install 'gradio>=6,<7'") from exc
    # Imported lazily, but bound as this module's `gr`: the code below uses it, and Gradio finds
    # gr.Request / gr.SelectData parameters by resolving their annotations in module globals.
    globals()["gr"] = gradio
    return gradio


def _browser_lang(request: Any) -> str:
    header = (getattr(request, "headers", None) or {}).get("accept-language", "") if request else ""
    return header[:2].lower() if messages_known(header[:2].lower()) else "en"


def build_app(bot: Bot) -> gr.Blocks:
    """The chat page, the "About the corpus" tab, and the `/chat` API endpoint."""
    _gradio()

    def messages(shown: Shown, question: str | None = None) -> list[dict[str, str]]:
        out = []
        for q, a in shown:
            out += [{"role": "user", "content": q}] if q else []
            out.append({"role": "assistant", "content": a})
        return out + ([{"role": "user", "content": esc(question)}] if question and question.strip() else [])

    def start(question: str, shown: Shown) -> tuple[str, str, list[dict[str, str]]]:
        return "", question or "", messages(shown, question or "")

    def pick(shown: Shown, evt: gr.SelectData) -> tuple[str, list[dict[str, str]]]:
        text = str(evt.value.get("text", "")) if isinstance(evt.value, dict) else ""
        return text, messages(shown, text)

    def finish(question: str, turns: Turns, shown: Shown, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        """Answer, streaming generated text as it arrives (with a configured language model)."""
        answer: Answer | None = None
        asked = esc(question.strip() and question)
        try:
            history = [a.question for a in turns if a is not None]
            partial = ""
            for item in bot.ask_stream(str(question or "")[:MAX_INPUT_CHARS], history=history):
                if isinstance(item, str):
                    partial += item
                    draft = f'<div class="cq-answer cq-streaming">{esc(partial)}</div>'
                    yield messages([*shown, (asked, draft)]), turns, shown, gr.skip()
                else:
                    answer = item
            reply = answer_html(answer, len(turns)) if answer else notice_html(message("en", "error"))
        except QuestionError:
            reply = notice_html(message(_browser_lang(request), "empty"), "hint")
        except Exception:  # never a traceback in the chat; the log keeps it
            log.exception("answering %r failed", question[:200])
            reply = notice_html(message(_browser_lang(request), "error"))
        turns, shown = [*turns, answer], [*shown, (asked, reply)]
        yield messages(shown), turns, shown, sources_html(turns, bot.index.documents)

    def vote(turns: Turns, shown: Shown, comment: str, evt: gr.LikeData) -> tuple[str, str]:
        """👍 / 👎 on an answer: one JSON line in the feedback file, with the optional comment."""
        turn = answer_turn(shown, evt.index if isinstance(evt.index, int) else -1)
        answer = turns[turn] if turn is not None and turn < len(turns) else None
        if answer is None or not isinstance(evt.liked, bool):
            return comment, ""
        record_vote(bot.settings.feedback_dir, answer.to_dict(), evt.liked, comment or "")
        return "", f'<span class="cq-voted">✓ {"like" if evt.liked else "dislike"} saved</span>'

    def chat(question: str, history: list[str] | None = None) -> dict[str, Any]:
        """Answer a question from the documents: the answer text and its numbered, quoted citations."""
        try:
            return bot.ask(str(question or "")[:MAX_INPUT_CHARS], history=list(history or [])).to_dict()
        except QuestionError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc

    def chat_stream(question: str, history: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Like /chat, streamed: {"partial": text so far} while a language model writes, then the answer."""
        try:
            partial = ""
            for item in bot.ask_stream(str(question or "")[:MAX_INPUT_CHARS], history=list(history or [])):
                if isinstance(item, str):
                    partial += item
                    yield {"partial": partial}
                else:
                    yield item.to_dict()
        except QuestionError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc

    examples: list[Any] = [{"text": q, "display_text": f"{code} · {q}"} for code, q in EXAMPLES]
    with gr.Blocks(title="cqbot · questions about the documents", analytics_enabled=False) as app:
        gr.HTML(
            '<div class="cq-head"><h1>cqbot</h1><p>Ask in any language; answers quote the documents '
            "and cite their sources. · Fragen Sie in Ihrer Sprache. · 可用任何语言提问。</p></div>"
        )
        turns = gr.State([])
        shown = gr.State([])
        pending = gr.State("")
        with gr.Tabs():
            with gr.Tab("Chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=360):
                    chatbot = gr.Chatbot(
                        elem_id="cq-chat", height=560, render_markdown=False, sanitize_html=True,
                        latex_delimiters=[], buttons=[], feedback_options=("Like", "Dislike"),
                        examples=examples,
                        placeholder="Ask about the documents · Fragen zu den Dokumenten · 关于文档的问题",
                        show_label=False, allow_tags=False, layout="bubble",
                    )  # fmt: skip
                    with gr.Row():
                        box = gr.Textbox(
                            elem_id="cq-question", show_label=False, scale=5, max_lines=4, max_length=2000,
                            placeholder="Your question · Ihre Frage · 您的问题 …", submit_btn=False,
                        )  # fmt: skip
                        send = gr.Button("Ask", elem_id="cq-send", variant="primary", scale=1, min_width=80)
                    with gr.Row():
                        comment = gr.Textbox(
                            elem_id="cq-comment", show_label=False, scale=5, max_lines=2, max_length=2000,
                            placeholder="What was wrong? (optional; sent with your like or dislike)",
                        )  # fmt: skip
                        voted = gr.HTML("", elem_id="cq-voted")
                with gr.Column(scale=2, min_width=320):
                    panel = gr.HTML(sources_html([], {}), elem_id="cq-sources")
            with gr.Tab("About the corpus"):
                gr.HTML(corpus_html(bot.index), elem_id="cq-about")
        private: dict[str, Any] = {"api_visibility": "private"}
        answer_step: dict[str, Any] = dict(
            fn=finish, inputs=[pending, turns, shown], outputs=[chatbot, turns, shown, panel],
            concurrency_id="ask", **private,
        )  # fmt: skip
        for event in (box.submit, send.click):
            event(start, [box, shown], [box, pending, chatbot], queue=False, **private).then(**answer_step)
        chatbot.example_select(pick, [shown], [pending, chatbot], queue=False, **private).then(**answer_step)
        chatbot.like(vote, [turns, shown, comment], [comment, voted], queue=False, **private)
        # the bin icon of the chat starts a new conversation
        chatbot.clear(lambda: ([], [], sources_html([], {})), None, [turns, shown, panel], **private)
        gr.api(chat, api_name="chat", concurrency_id="ask")
        gr.api(chat_stream, api_name="chat_stream", concurrency_id="ask")
    return app


def answer_turn(shown: Shown, index: int) -> int | None:
    """The turn whose answer is message `index` of the chat (a turn shows its question, if any, then
    its answer); None for a question's message."""
    at = 0
    for turn, (question, _) in enumerate(shown):
        at += 1 if question else 0
        if at == index:
            return turn
        at += 1
    return None


def launch(
    app: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    block: bool = True,
    bot: Bot | None = None,
    auth: list[tuple[str, str]] | None = None,
    root_path: str = "",
    say: Callable[[str], None] = lambda _msg: None,
) -> str:
    """Start the server (bounded queue, no share link, no analytics) and return its local URL.

    `auth`: users who may log in (none: open); `root_path`: the path prefix a reverse proxy serves it
    under ("/cqbot"); with `bot`, GET /health answers what `health` reports, without a login.
    """
    _gradio()
    # After every event Gradio's queue recomputes its monitoring summary with pandas over up to 10,000
    # past events; monitoring is off here, so: seldom, over few (RESULTS.md, issue 13). Read by queue().
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000000")
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "100")
    app.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE, api_open=False)
    system_fonts = ["Noto Sans", "Noto Sans CJK SC", "DejaVu Sans", "Arial", "sans-serif"]
    theme = gr.themes.Default(
        primary_hue="blue", font=system_fonts, font_mono=["DejaVu Sans Mono", "monospace"]
    )
    _, url, _ = app.launch(
        server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=True,
        footer_links=["api"], run_history=False, enable_monitoring=False, ssr_mode=False, mcp_server=False,
        max_file_size="1mb", theme=theme, css=CSS, js=JS, auth=auth or None, root_path=root_path or None,
        auth_message="cqbot: please log in." if auth else None,
    )  # fmt: skip
    if bot is not None:
        from fastapi.routing import APIRoute

        # first, so that no route of the app shadows them; a load balancer's probe needs no login
        app.app.router.routes.insert(0, APIRoute("/health", lambda: health(bot), methods=["GET"]))
        app.app.router.routes.insert(0, APIRoute("/api/ask", ask_route(bot, auth), methods=["POST"]))
    if block:
        say(f"cqbot is ready: {url}")
        app.block_thread()
    return str(url)


def serve(
    bot: Chatbot,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    auth: list[tuple[str, str]] | None = None,
    root_path: str = "",
    say: Callable[[str], None] = lambda _msg: None,
) -> None:
    """Serve the chat app for a loaded bot until interrupted; it follows the index folder, so a
    `cqbot build` while serving is answered from within seconds, without a restart."""
    from cqbot.live import LiveChatbot

    live = LiveChatbot(bot)
    launch(build_app(live), host, port, bot=live, auth=auth, root_path=root_path, say=say)
