"""Answers, citations and the corpus as HTML for the chat page (escaping, links, passages), and its style.

No Gradio here: ui.py lays out the page and calls these; tests check the HTML directly. Text in the
asker's language (answer, notices, translations) carries dir="auto", so an Arabic, Persian, Urdu,
Hebrew, Pashto or Uyghur answer reads right to left while the quoted German passage stays left to right.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence

from cqbot.index import Index
from cqbot.messages import message
from cqbot.records import Answer, Citation, Document

PASSAGE_CHARS = 600


_BLANK_LINE = re.compile(r"\n[ \t]*\n")


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
    label = esc(message(lang, "open"))
    return f'<a class="cq-ext" href="{esc(url)}" target="_blank" rel="noopener noreferrer">{label} ↗</a>'


def _page(c: Citation, lang: str) -> str:
    return f'<span class="cq-page">{esc(message(lang, "page", n=c.page))}</span>' if c.page else ""


def answer_html(answer: Answer, turn: int) -> str:
    """The chat bubble: answer text with [n] markers linking to their passages, then the source list."""
    lang = answer.language
    notice = f'<p class="cq-notice" dir="auto">{esc(answer.notice)}</p>' if answer.notice else ""
    if not answer.answered:
        return (
            '<div class="cq-answer cq-refusal"><p dir="auto">'
            f'<span class="cq-icon" aria-hidden="true">∅</span> '
            f"{esc(answer.answer)}</p>{notice}{closest_html(answer)}</div>"
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
        f'<div class="cq-answer"><p dir="auto">{text}</p>{notice}{unsupported_html(answer)}'
        '<div class="cq-srclist">'
        f'<span class="cq-label">{esc(message(lang, "sources"))}</span><ol>{items}</ol></div></div>'
    )


def unsupported_html(answer: Answer) -> str:
    """Generated statements no passage supports: shown apart, under their label, never as the answer."""
    if not answer.unsupported:
        return ""
    items = "".join(f'<li dir="auto">{esc(t)}</li>' for t in answer.unsupported)
    label = esc(message(answer.language, "unsupported"))
    return f'<div class="cq-unsupported"><span class="cq-label">{label}</span><ul>{items}</ul></div>'


def closest_html(answer: Answer) -> str:
    """A decline's nearest sentences, labelled as not an answer."""
    if not answer.closest:
        return ""
    lang = answer.language
    items = "".join(
        f"<li><q>{esc(c.quote)}</q>"
        + (f' <span class="cq-closest-tr" dir="auto">({esc(c.translation)})</span>' if c.translation else "")
        + f' <span class="cq-closest-src">— {esc(c.title or c.doc_id)}</span> {_page(c, lang)} '
        f"{_source_link(c, lang)}</li>"
        for c in answer.closest
    )
    return (
        f'<div class="cq-closest"><span class="cq-label">{esc(message(lang, "closest"))}</span>'
        f"<ul>{items}</ul></div>"
    )


def citation_lines(c: Citation) -> list[str]:
    """A citation as plain text lines (CLI): number, title, document and offsets, link, translation."""
    page = f", p. {c.page}" if c.page else ""
    lines = [f"[{c.n}] {c.title} ({c.doc_id}{page}, chars {c.start}-{c.end})"]
    if c.source:
        lines.append(f"    {c.source}")
    if c.translation:
        lines.append(f"    {c.translation}")
    return lines


def answer_text(answer: Answer) -> str:
    """The answer as plain text (CLI): answer, notice, sources; for a decline, its closest passages."""
    lines = [answer.answer]
    if answer.notice:
        lines.append(f"({answer.notice})")
    if answer.unsupported:
        lines.append(f"\n{message(answer.language, 'unsupported')}")
        lines.extend(f"  - {t}" for t in answer.unsupported)
    if answer.citations:
        lines.append(f"\n{message(answer.language, 'sources')}:")
        for c in answer.citations:
            lines.extend(citation_lines(c))
    elif answer.closest:
        lines.append(f"\n{message(answer.language, 'closest')}")
        for c in answer.closest:
            lines.append(f"  “{c.quote}”")
            lines.extend("  " + line for line in citation_lines(c))
    return "\n".join(lines)


def explain_text(evidence: Mapping[str, object]) -> str:
    """The signals that decided (`cqbot ask --explain`): scores, what the question asks, each check."""
    asks = evidence.get("asks") or {}
    assert isinstance(asks, Mapping)
    lines = [
        f"decision: {'answer' if evidence.get('answered') else 'decline'}",
        f"best sentence score {evidence.get('best_score')}, off-topic anchors {evidence.get('background')}, "
        f"margin {evidence.get('margin')} (needs {evidence.get('min_margin')})",
        f"question asks for: {asks.get('kind')} (probability {asks.get('share')})",
    ]
    rank = evidence.get("rank")
    if isinstance(rank, int) and rank > 0:  # the best sentence only dated what a how-many question asks
        lines.append(f"decided on the sentence ranked {rank + 1} (the best one states no count)")
    checks = evidence.get("checks") or []
    assert isinstance(checks, Sequence)
    for check in checks:
        mark = "held" if check["held"] else "FAILED"
        detail = f" ({check['detail']})" if check.get("detail") else ""
        lines.append(f"  {check['name']:<7} {mark}{detail}")
    return "\n".join(lines)


def citation_html(c: Citation, turn: int, lang: str, documents: Mapping[str, Document]) -> str:
    """One cited passage: number, title, page, link, and the quote highlighted inside its paragraph."""
    doc = documents.get(c.doc_id)
    before, quote, after = passage(doc.text, c.start, c.end) if doc else ("", c.quote, "")
    translation = (
        '<p class="cq-translation" dir="auto">'
        f'<span class="cq-label">{esc(message(lang, "translation"))}</span> '
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
            f'<section class="cq-turn"><p class="cq-turn-q">{esc(message(a.language, "passages"))}: '
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


def corpus_html(index: Index) -> str:
    """The "About the corpus" view: indexed documents, their chunk counts, the model and build time."""
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
.cq-closest { margin-top: .4rem; font-size: .92em; }
.cq-unsupported { margin-top: .4rem; font-size: .9em; color: var(--body-text-color-subdued);
  border-left: 3px solid #dc2626; padding-left: .5rem; }
.cq-unsupported ul { margin: .2rem 0 0; padding-left: 1.1rem; text-decoration: line-through; }
.cq-closest ul { margin: .2rem 0 0; padding-left: 1.1rem; }
.cq-closest-src, .cq-closest-tr { color: var(--body-text-color-subdued); }
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
