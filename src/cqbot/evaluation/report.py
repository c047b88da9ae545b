"""Evaluation output: results.jsonl, report.json, report.md and its charts, each written atomically."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cqbot.evaluation.scoring import METRICS, failed_checks
from cqbot.files import write_atomic, write_text_atomic

LABELS = {
    "cite@1": "cite@1",
    "cite@k": "cite@k",
    "mrr": "MRR",
    "answer_match": "answer match",
    "refusal_precision": "refusal precision",
    "refusal_recall": "refusal recall",
    "answerable_declined": "answerable declined",
    "lang_accuracy": "language accuracy",
}
MEASURED_OVER = {
    "cite@1": "answerable questions with evidence",
    "cite@k": "answerable questions with evidence",
    "mrr": "answerable questions with evidence",
    "answer_match": "questions with expected answers",
    "refusal_precision": "refused questions",
    "refusal_recall": "unanswerable questions",
    "answerable_declined": "answerable questions",
    "lang_accuracy": "questions with a gold language",
}
CHECK_NAMES = {
    "cite_at_1": "cite@1",
    "cite_at_k": "cite@k",
    "answer_match": "answer match",
    "refusal_correct": "refusal",
    "lang_correct": "language",
}
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|#"})


def format_value(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def headline(overall: Mapping[str, Any], k: int) -> str:
    """A short plain-text table of the overall metrics."""
    support = overall.get("support", {})
    rows = [("metric", "value", "n")]
    for name in METRICS:
        label = f"cite@{k}" if name == "cite@k" else name
        rows.append((label, format_value(overall.get(name)), str(support.get(name, 0))))
    n = str(support.get("latency", 0))
    rows.append(("latency p50 (ms)", format_value(overall.get("latency_p50_ms"), 1), n))
    rows.append(("latency p95 (ms)", format_value(overall.get("latency_p95_ms"), 1), n))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{a:<{width}}  {b:>7}  {c:>4}" for a, b, c in rows)


def write_report(
    out_dir: Path | str,
    records: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    meta: Mapping[str, Any] | None = None,
    warn: Callable[[str], None] = lambda _msg: None,
) -> Path:
    """Write results.jsonl, report.json, the charts and report.md into `out_dir`; return report.md."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = dict(meta or {})
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    write_text_atomic(out / "results.jsonl", lines)
    report = {"meta": meta, **metrics}
    write_text_atomic(out / "report.json", json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    try:
        charts = write_charts(out, records, metrics)
    except ImportError:
        warn("charts skipped: install matplotlib (pip install matplotlib)")
        charts = []
    path = out / "report.md"
    write_text_atomic(path, markdown(records, metrics, meta, charts))
    return path


# ---- charts ----------------------------------------------------------------------------------------


def write_charts(out: Path, records: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any]) -> list[str]:
    """metrics_by_language.png and latency.png (matplotlib, Agg, no pyplot); their file names."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    groups = {"all": metrics["overall"], **metrics.get("by_tag", {}), **metrics["by_language"]}
    fig = Figure(figsize=(1.0 * len(METRICS) + 2.6, 0.32 * len(groups) + 1.6), layout="constrained")
    _heat_map(fig, groups)
    names = ["metrics_by_language.png"]
    _save_atomic(fig, out / names[0])

    latency = [float(r["latency_ms"]) for r in records if isinstance(r.get("latency_ms"), int | float)]
    if latency:
        fig = Figure(figsize=(6.0, 3.6), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        ax.hist(latency, bins=min(30, max(5, len(latency) // 2)), color="#4c72b0")
        overall = metrics["overall"]
        for key, style in (("latency_p50_ms", "--"), ("latency_p95_ms", ":")):
            if overall.get(key) is not None:
                label = f"{key.split('_')[1]} {overall[key]:.0f} ms"
                ax.axvline(overall[key], color="black", linestyle=style, label=label)
        ax.set_xlabel("latency per question (ms)")
        ax.set_ylabel("questions")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Latency")
        ax.legend(fontsize="small")
        names.append("latency.png")
        _save_atomic(fig, out / "latency.png")
    return names


def _heat_map(fig: Any, groups: Mapping[str, Mapping[str, Any]]) -> None:
    """Rows (all, each slice, each language) x metrics, each cell coloured by its value and showing it;
    answerable_declined is coloured reversed (lower is better); n/a cells are grey."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    ax = fig.subplots()
    values = np.array(
        [[m.get(name) if m.get(name) is not None else np.nan for name in METRICS] for m in groups.values()]
    )
    good = values.copy()
    declined = METRICS.index("answerable_declined")
    good[:, declined] = 1 - good[:, declined]
    ax.imshow(np.ma.masked_invalid(good), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_facecolor("#dddddd")
    for row, col in np.ndindex(values.shape):
        value = values[row, col]
        text = "n/a" if np.isnan(value) else f"{value:.2f}"
        ax.text(col, row, text, ha="center", va="center", fontsize=7, color="black")
    ax.set_xticks(range(len(METRICS)), [LABELS[n] for n in METRICS], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(groups)), [f"{g} (n={m['questions']})" for g, m in groups.items()], fontsize=7)
    ax.set_title("Metrics per slice and language (green is good)")


def _save_atomic(fig: Any, path: Path) -> None:
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))


# ---- markdown --------------------------------------------------------------------------------------


def _md(text: object, limit: int = 400) -> str:
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat.translate(_MD_SPECIAL)


def _quoted(items: Sequence[str]) -> str:
    return " · ".join(f"“{_md(s)}”" for s in items) if items else "none"


def markdown(
    records: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    meta: Mapping[str, Any],
    charts: Sequence[str],
) -> str:
    """report.md: headline metrics, a table per language, charts, then every failed question."""
    overall = metrics["overall"]
    k = meta.get("k", "k")
    out = ["# cqbot evaluation", ""]
    facts = [f"{overall['questions']} questions"]
    if meta.get("questions_file"):
        facts[0] += f" from `{meta['questions_file']}`"
    if meta.get("skipped"):
        facts.append(f"{meta['skipped']} input line(s) skipped")
    facts += [f"{key} `{meta[key]}`" for key in ("model", "index") if meta.get(key)]
    facts.append(f"k = {k}")
    if meta.get("created"):
        facts.append(str(meta["created"]))
    out += [" · ".join(facts), "", "## Headline", "", "| metric | value | measured over |", "|---|---:|---|"]
    support = overall["support"]
    for name in METRICS:
        label = f"cite@{k}" if name == "cite@k" else LABELS[name]
        value = format_value(overall[name])
        out.append(f"| {label} | {value} | {support[name]} {MEASURED_OVER[name]} |")
    p50, p95 = format_value(overall["latency_p50_ms"], 0), format_value(overall["latency_p95_ms"], 0)
    out += [f"| latency p50 / p95 (ms) | {p50} / {p95} | {support['latency']} questions |", ""]
    out += ["n/a: nothing to measure in this run (see *measured over*).", ""]

    out += ["## Per language", ""]
    heads = ["language", "questions", *(f"cite@{k}" if n == "cite@k" else LABELS[n] for n in METRICS)]
    out += ["| " + " | ".join([*heads, "p50 ms"]) + " |", "|---" + "|---:" * (len(heads)) + "|"]
    for lang, m in metrics["by_language"].items():
        cells = [_md(lang), str(m["questions"]), *(format_value(m[n]) for n in METRICS)]
        out.append("| " + " | ".join([*cells, format_value(m["latency_p50_ms"], 0)]) + " |")
    out.append("")
    if metrics.get("by_tag"):
        out += ["## Per slice (question tags)", ""]
        out += ["| " + " | ".join(["slice", *heads[1:]]) + " |", "|---" + "|---:" * (len(heads) - 1) + "|"]
        for tag, m in metrics["by_tag"].items():
            out.append(
                "| "
                + " | ".join([_md(tag), str(m["questions"]), *(format_value(m[n]) for n in METRICS)])
                + " |"
            )
        out.append("")
    for name in charts:
        out += [f"![{name.removesuffix('.png').replace('_', ' ')}]({name})", ""]

    review = meta.get("to_review") or []
    if review:
        out += [f"## To review: answers voted 👎 in the chat ({len(review)})", ""]
        for v in review:
            comment = f" — “{_md(v.get('comment'))}”" if v.get("comment") else ""
            out += [f"- {_md(v.get('time'))} ({_md(v.get('language'))}): {_md(v.get('question'))}{comment}"]
            out += [f"  - answered: {_md(v.get('answer'))}"]
        out.append("")
    failed = [(r, failed_checks(r)) for r in records]
    failed = [(r, checks) for r, checks in failed if checks]
    out += [f"## Failed questions ({len(failed)} of {len(records)})", ""]
    if not failed:
        out += ["None: every measured check passed.", ""]
    for r, checks in failed:
        out += _failure(r, checks)
    return "\n".join(out)


def _failure(r: Mapping[str, Any], checks: Sequence[str]) -> list[str]:
    gold = r.get("expected") or {}
    lang = gold.get("lang") or "?"
    lines = [f"### {_md(r.get('id'))} ({_md(lang)}): {_md(r.get('question', ''))}", ""]
    lines.append("- failed: " + ", ".join(CHECK_NAMES.get(c, c) for c in checks))
    expected = "answerable" if gold.get("answerable", True) else "not answerable (should refuse)"
    evidence, answers = _quoted(gold.get("evidence") or []), _quoted(gold.get("answers") or [])
    lines.append(f"- expected: {expected}; evidence: {evidence}; answers: {answers}")
    got = "answered" if r.get("answered") else "refused"
    lines.append(f"- got: {got}, language {_md(r.get('language', '?'))}: {_md(r.get('answer', ''))}")
    citations = r.get("citations") or []
    lines.append("- cited:" + ("" if citations else " nothing"))
    for c in citations:
        where = f"{_md(c.get('doc_id', '?'))}, chars {c.get('start')}-{c.get('end')}"
        lines.append(f"  {c.get('n', '?')}. {where}: “{_md(c.get('quote', ''))}”")
    lines.append("")
    return lines
