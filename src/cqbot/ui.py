"""Gradio chat app over one loaded Chatbot; formatting only (Answer -> HTML) plus the Blocks layout."""

from __future__ import annotations

import html
import logging
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cqbot.errors import QuestionError
from cqbot.messages import message
from cqbot.records import Answer, Citation, Document

if TYPE_CHECKING:
    import gradio as gr

    from cqbot.config import Settings
    from cqbot.pipeline import Chatbot

log = logging.getLogger(__name__)

PASSAGE_CHARS = 600
MAX_INPUT_CHARS = 20_000  # the pipeline keeps 1,000; this only bounds the work spent cleaning input
QUEUE_SIZE = 64
CONCURRENCY = 2  # overlaps one ask's Python work with another's model time; more adds no throughput

UI: dict[str, dict[str, str]] = {
    "en": {"page": "p. {n}", "open": "source", "translation": "Translation", "passages": "Cited passages",
           "error": "Something went wrong while answering. Please try again."},
    "de": {"page": "S. {n}", "open": "Quelle", "translation": "Übersetzung", "passages": "Zitierte Stellen",
           "error": "Beim Beantworten ist ein Fehler aufgetreten. Bitte versuchen Sie es noch einmal."},
    "zh": {"page": "第 {n} 页", "open": "原文", "translation": "译文", "passages": "引用段落",
           "error": "回答时出错，请再试一次。"},
    "fr": {"page": "p. {n}", "open": "source", "translation": "Traduction", "passages": "Passages cités",
           "error": "Une erreur s'est produite. Veuillez réessayer."},
    "es": {"page": "p. {n}", "open": "fuente", "translation": "Traducción", "passages": "Pasajes citados",
           "error": "Se produjo un error al responder. Inténtelo de nuevo."},
    "ja": {"page": "{n} ページ", "open": "原文", "translation": "翻訳", "passages": "引用箇所",
           "error": "回答中にエラーが発生しました。もう一度お試しください。"},
}  # fmt: skip

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
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def ui_text(lang: str, key: str, **kwargs: object) -> str:
    return UI.get(lang, UI["en"]).get(key, UI["en"][key]).format(**kwargs)


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def safe_url(url: str) -> str | None:
    """The URL if it is plain http(s), else None (a `javascript:` source must never become a link)."""
    url = url.strip()
    return url if re.match(r"https?://[^\s\"'<>]+$", url, re.IGNORECASE) else None


def passage(text: str, start: int, end: int, limit: int = PASSAGE_CHARS) -> tuple[str, str, str]:
    """(before, quote, after): the paragraph around text[start:end], cut to about `limit` characters."""
    starts = [m.end() for m in _BLANK_LINE.finditer(text, 0, start)]
    p_start = starts[-1] if starts else 0
    m = _BLANK_LINE.search(text, end)
    p_end = m.start() if m else len(text)
    before, quote, after = text[p_start:start].lstrip(), text[start:end], text[end:p_end].rstrip()
    room = max(0, limit - len(quote))
    if len(before) + len(after) > room:
        keep_after = min(len(after), max(room // 2, room - len(before)))
        keep_before = min(len(before), room - keep_after)
        if keep_before < len(before):
            cut = before[len(before) - keep_before :]
            before = "…" + (cut.split(" ", 1)[1] if " " in cut[:40] else cut)
        if keep_after < len(after):
            cut = after[:keep_after]
            after = (cut.rsplit(" ", 1)[0] if " " in cut[-40:] else cut) + "…"
    return before, quote, after


def _anchor(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def _source_link(c: Citation, lang: str) -> str:
    url = safe_url(c.source)
    if not url:
        return ""
    label = esc(ui_text(lang, "open"))
    return f'<a class="cq-ext" href="{esc(url)}" target="_blank" rel="noopener noreferrer">{label} ↗</a>'


def _page(c: Citation, lang: str) -> str:
    return f'<span class="cq-page">{esc(ui_text(lang, "page", n=c.page))}</span>' if c.page else ""


def answer_html(answer: Answer, turn: int) -> str:
    """The chat bubble: answer text with [n] markers linking to their passages, then the source list."""
    lang = answer.language
    notice = f'<p class="cq-notice">{esc(answer.notice)}</p>' if answer.notice else ""
    if not answer.answered:
        return (
            f'<div class="cq-answer cq-refusal"><p><span class="cq-icon" aria-hidden="true">∅</span> '
            f"{esc(answer.answer)}</p>{notice}</div>"
        )
    numbers = {c.n for c in answer.citations}

    def marker(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        return f'<a class="cq-ref" href="#{_anchor(turn, n)}">[{n}]</a>'

    text = re.sub(r"\[(\d+)\]", marker, esc(answer.answer))
    items = "".join(
        f'<li><a class="cq-ref cq-src-link" href="#{_anchor(turn, c.n)}">'
        f"<b>[{c.n}]</b> {esc(c.title or c.doc_id)}</a> {_page(c, lang)} {_source_link(c, lang)}</li>"
        for c in answer.citations
    )
    return (
        f'<div class="cq-answer"><p>{text}</p>{notice}<div class="cq-srclist">'
        f'<span class="cq-label">{esc(message(lang, "sources"))}</span><ol>{items}</ol></div></div>'
    )


def citation_html(c: Citation, turn: int, lang: str, documents: Mapping[str, Document]) -> str:
    """One cited passage: number, title, page, link, and the quote highlighted inside its paragraph."""
    doc = documents.get(c.doc_id)
    before, quote, after = passage(doc.text, c.start, c.end) if doc else ("", c.quote, "")
    translation = (
        f'<p class="cq-translation"><span class="cq-label">{esc(ui_text(lang, "translation"))}</span> '
        f"{esc(c.translation)}</p>"
        if c.translation
        else ""
    )
    return (
        f'<article class="cq-src" id="{_anchor(turn, c.n)}"><header><span class="cq-num">{c.n}</span> '
        f'<span class="cq-title">{esc(c.title or c.doc_id)}</span></header>'
        f'<div class="cq-meta"><code>{esc(c.doc_id)}</code> {_page(c, lang)} {_source_link(c, lang)}</div>'
        f'<blockquote class="cq-passage">{esc(before)}<mark>{esc(quote)}</mark>{esc(after)}</blockquote>'
        f"{translation}</article>"
    )


def sources_html(answers: Sequence[Answer | None], documents: Mapping[str, Document]) -> str:
    """The passages panel: the cited passages of every answer of the conversation, newest first."""
    parts = []
    for turn in reversed(range(len(answers))):
        a = answers[turn]
        if a is None or not a.citations:
            continue
        cites = "".join(citation_html(c, turn, a.language, documents) for c in a.citations)
        parts.append(
            f'<section class="cq-turn"><p class="cq-turn-q">{esc(ui_text(a.language, "passages"))}: '
            f"<q>{esc(a.question)}</q></p>{cites}</section>"
        )
    if not parts:
        return (
            '<div class="cq-panel cq-empty"><b>Sources · Quellen · 来源</b><br>'
            "The cited passages appear here. · Hier erscheinen die zitierten Stellen. · "
            "引用的段落显示在这里。</div>"
        )
    return '<div class="cq-panel">' + "".join(parts) + "</div>"


def notice_html(text: str, kind: str = "error") -> str:
    icon = '<span class="cq-icon" aria-hidden="true">!</span>'
    return f'<div class="cq-answer cq-{kind}"><p>{icon} {esc(text)}</p></div>'


def corpus_html(bot: Chatbot) -> str:
    """The "About the corpus" view: indexed documents, their chunk counts, the model and build time."""
    index = bot.index
    counts = Counter(c.doc_id for c in index.chunks)
    rows = []
    for doc in sorted(index.documents.values(), key=lambda d: (d.translation_of or d.id, d.id)):
        kind = doc.kind + (f" ← <code>{esc(doc.translation_of)}</code>" if doc.translation_of else "")
        url = safe_url(doc.source)
        link = f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(url)}</a>' if url else ""
        rows.append(
            f"<tr><td>{esc(doc.title)}</td><td><code>{esc(doc.id)}</code></td><td>{esc(doc.lang)}</td>"
            f'<td>{kind}</td><td class="cq-n">{counts[doc.id]}</td><td class="cq-url">{link}</td></tr>'
        )
    m = index.manifest
    return (
        f'<div class="cq-about"><p><b>{m.documents}</b> documents · <b>{m.chunks}</b> chunks · '
        f"model <code>{esc(m.model)}</code> · index built {esc(m.built_at)}</p>"
        "<table><thead><tr><th>Title</th><th>ID</th><th>Language</th><th>Kind</th><th>Chunks</th>"
        f"<th>Source</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


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
    return header[:2].lower() if header[:2].lower() in UI else "en"


def build_app(bot: Chatbot) -> gr.Blocks:
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
            reply = answer_html(answer, len(turns)) if answer else notice_html(ui_text("en", "error"))
        except QuestionError:
            reply = notice_html(message(_browser_lang(request), "empty"), "hint")
        except Exception:  # never a traceback in the chat; the log keeps it
            log.exception("answering %r failed", question[:200])
            reply = notice_html(ui_text(_browser_lang(request), "error"))
        turns, shown = [*turns, answer], [*shown, (asked, reply)]
        yield messages(shown), turns, shown, sources_html(turns, bot.index.documents)

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
                        latex_delimiters=[], buttons=[], feedback_options=None, examples=examples,
                        placeholder="Ask about the documents · Fragen zu den Dokumenten · 关于文档的问题",
                        show_label=False, allow_tags=False, layout="bubble",
                    )  # fmt: skip
                    with gr.Row():
                        box = gr.Textbox(
                            elem_id="cq-question", show_label=False, scale=5, max_lines=4, max_length=2000,
                            placeholder="Your question · Ihre Frage · 您的问题 …", submit_btn=False,
                        )  # fmt: skip
                        send = gr.Button("Ask", elem_id="cq-send", variant="primary", scale=1, min_width=80)
                with gr.Column(scale=2, min_width=320):
                    panel = gr.HTML(sources_html([], {}), elem_id="cq-sources")
            with gr.Tab("About the corpus"):
                gr.HTML(corpus_html(bot), elem_id="cq-about")
        private: dict[str, Any] = {"api_visibility": "private"}
        answer_step: dict[str, Any] = dict(
            fn=finish, inputs=[pending, turns, shown], outputs=[chatbot, turns, shown, panel],
            concurrency_id="ask", **private,
        )  # fmt: skip
        for event in (box.submit, send.click):
            event(start, [box, shown], [box, pending, chatbot], queue=False, **private).then(**answer_step)
        chatbot.example_select(pick, [shown], [pending, chatbot], queue=False, **private).then(**answer_step)
        # the bin icon of the chat starts a new conversation
        chatbot.clear(lambda: ([], [], sources_html([], {})), None, [turns, shown, panel], **private)
        gr.api(chat, api_name="chat", concurrency_id="ask")
        gr.api(chat_stream, api_name="chat_stream", concurrency_id="ask")
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, *, block: bool = True) -> str:
    """Start the server (bounded queue, no share link, no analytics) and return its local URL."""
    _gradio()
    app.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE, api_open=False)
    system_fonts = ["Noto Sans", "Noto Sans CJK SC", "DejaVu Sans", "Arial", "sans-serif"]
    theme = gr.themes.Default(
        primary_hue="blue", font=system_fonts, font_mono=["DejaVu Sans Mono", "monospace"]
    )
    _, url, _ = app.launch(
        server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=True,
        footer_links=["api"], run_history=False, enable_monitoring=False, ssr_mode=False, mcp_server=False,
        max_file_size="1mb", theme=theme, css=CSS, js=JS,
    )  # fmt: skip
    if block:
        print(f"cqbot is ready: {url}", flush=True)
        app.block_thread()
    return str(url)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Build the index if it is missing or stale, load the model once, and serve the chat app."""
    from cqbot import builder
    from cqbot.embedding import load_embedder, resolve_model
    from cqbot.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
    from cqbot.pipeline import Chatbot

    _location, weights = resolve_model(settings)
    try:
        report = builder.check(settings, settings.model, weights)
        reasons, full = list(report.reasons), False
    except IndexMissingError:
        reasons, full = ["no index yet"], False
    except (IndexMismatchError, IndexCorruptError) as exc:
        reasons, full = [str(exc).splitlines()[0]], True
    embedder = load_embedder(settings)
    if reasons:
        print(f"Building the index first ({'; '.join(reasons)}) …", flush=True)
        builder.build(settings, embedder, full=full, progress=True)
    bot = Chatbot.from_settings(settings, embedder=embedder)
    launch(build_app(bot), host, port)


CSS = """
.cq-head h1 { margin: 0; font-size: 1.5rem; }
.cq-head p { margin: .2rem 0 0; color: var(--body-text-color-subdued); }
.cq-answer p { margin: 0 0 .4rem; line-height: 1.55; }
.cq-ref { text-decoration: none; font-weight: 600; color: var(--color-accent) !important; cursor: pointer; }
.cq-ref:hover { text-decoration: underline; }
.cq-srclist { margin-top: .5rem; padding-top: .4rem; border-top: 1px solid var(--border-color-primary);
  font-size: .9em; }
.cq-srclist ol { list-style: none; margin: .2rem 0 0; padding: 0; }
.cq-srclist li { margin: .15rem 0; }
.cq-label { font-size: .75em; font-weight: 700; text-transform: uppercase; letter-spacing: .04em;
  color: var(--body-text-color-subdued); margin-right: .4rem; }
.cq-page, .cq-ext { font-size: .85em; color: var(--body-text-color-subdued); margin-left: .3rem; }
.cq-notice { font-size: .85em; font-style: italic; color: var(--body-text-color-subdued); }
.cq-refusal, .cq-error, .cq-hint { border-left: 4px solid #d97706; background: rgba(217,119,6,.10);
  padding: .4rem .6rem; border-radius: 4px; }
.cq-error { border-left-color: #dc2626; background: rgba(220,38,38,.08); }
.cq-hint { border-left-color: #6b7280; background: rgba(107,114,128,.10); }
.cq-icon { display: inline-block; width: 1.3em; height: 1.3em; line-height: 1.3em; text-align: center;
  border-radius: 50%; background: #d97706; color: #fff; font-weight: 700; margin-right: .3rem; }
.cq-error .cq-icon { background: #dc2626; } .cq-hint .cq-icon { background: #6b7280; }
#cq-sources { max-height: 680px; overflow-y: auto; }
.cq-empty { color: var(--body-text-color-subdued); padding: 2rem 1rem; text-align: center;
  border: 1px dashed var(--border-color-primary); border-radius: 8px; }
.cq-turn { margin-bottom: 1rem; }
.cq-turn-q { font-size: .85em; color: var(--body-text-color-subdued); margin: 0 0 .4rem; }
.cq-src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .8rem;
  margin-bottom: .6rem; background: var(--background-fill-secondary); scroll-margin-top: 1rem;
  transition: box-shadow .3s, border-color .3s; }
.cq-src:target, .cq-src.cq-active { border-color: var(--color-accent);
  box-shadow: 0 0 0 3px rgba(59,130,246,.35); }
.cq-src header { font-weight: 600; }
.cq-num { display: inline-block; min-width: 1.5em; text-align: center; border-radius: 4px;
  background: var(--color-accent); color: #fff; font-size: .85em; margin-right: .3rem; }
.cq-meta { font-size: .8em; color: var(--body-text-color-subdued); margin: .2rem 0 .4rem; }
.cq-passage { margin: 0; padding: .2rem 0 .2rem .7rem; border-left: 3px solid var(--border-color-primary);
  line-height: 1.55; font-size: .92em; white-space: normal; }
.cq-passage mark { background: #fde68a; color: #111827; padding: 0 .1em; border-radius: 2px; }
.cq-translation { font-size: .88em; margin: .4rem 0 0; }
.cq-about table { width: 100%; border-collapse: collapse; font-size: .9em; }
.cq-about th, .cq-about td { text-align: left; padding: .35rem .5rem; vertical-align: top;
  border-bottom: 1px solid var(--border-color-primary); }
.cq-about .cq-n { text-align: right; } .cq-about .cq-url { word-break: break-all; font-size: .85em; }
"""

# Markers and source items scroll the passages panel to their passage and flash it; plain `#src-…`
# anchors would also work, but Gradio's <base href> would turn them into page loads on some URLs.
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a.cq-ref');
    if (!link) return;
    event.preventDefault();
    const target = document.getElementById(link.getAttribute('href').slice(1));
    if (!target) return;
    document.querySelectorAll('.cq-src.cq-active').forEach((el) => el.classList.remove('cq-active'));
    target.classList.add('cq-active');
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
  });
}
"""
