"""Gold questions -> per-question verdicts -> metrics, as pure functions; report.py writes them out.

Edge cases, decided once here:
- cite@1, cite@k and the reciprocal rank are measured only for answerable questions with evidence;
  no citations (a refusal included) scores 0. Citations of an unanswerable question are not scored.
- A citation is correct when its quote contains an evidence string after NFC and whitespace collapsing;
  duplicate evidence strings count once. The reciprocal rank looks at every citation, not just k.
- Answer match: NFKC, casefold, collapsed whitespace and number groups joined (8.753 = 8,753 = 8 753 =
  8753) on both sides; a numeric answer must not touch further digits (50 does not match 150).
- Refusal: positive class = refused (`answered` false); gold positive = `answerable` false.
  answerable_declined: the share of answerable questions that were declined (lower is better).
- A question's `tags` (e.g. source / related, cross-lingual, seven-languages / other-languages) put it
  in slices that are measured apart (`by_tag`); a bar may name one: `source:cite@1=0.9`.
- A metric with nothing to measure is None (null in JSON), never 0.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cqbot.errors import QuestionError
from cqbot.evaluation.goldset import Question, normalise_space
from cqbot.numbers import join_digit_groups
from cqbot.records import Answer

METRICS = (
    "cite@1",
    "cite@k",
    "mrr",
    "answer_match",
    "refusal_precision",
    "refusal_recall",
    "answerable_declined",
    "lang_accuracy",
)
LATENCY = ("latency_p50_ms", "latency_p95_ms")
VERDICTS = ("cite_at_1", "cite_at_k", "rr", "answer_match", "refusal_correct", "lang_correct")
_SPACE = re.compile(r"\s+")


# ---- scoring ---------------------------------------------------------------------------------------


def normalise_answer(text: str) -> str:
    """NFKC, casefolded, whitespace collapsed, digit groups joined: '8 753' -> '8753'."""
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()
    return join_digit_groups(text)


def answer_matches(answer: str, answers: Iterable[str]) -> bool:
    """Whether `answer` contains one of `answers` (see normalise_answer); numbers match whole."""
    hay = normalise_answer(answer)
    for gold in answers:
        needle = normalise_answer(gold)
        if not needle:
            continue
        for m in re.finditer(re.escape(needle), hay):
            before = hay[m.start() - 1] if m.start() else ""
            after = hay[m.end()] if m.end() < len(hay) else ""
            glued = (needle[0].isdigit() and before.isdigit()) or (needle[-1].isdigit() and after.isdigit())
            if not glued:
                return True
    return False


def same_language(detected: object, gold: str) -> bool:
    def primary(code: str) -> str:
        return code.strip().lower().replace("_", "-").split("-")[0]

    return isinstance(detected, str) and primary(detected) == primary(gold)


def score(question: Question, result: Mapping[str, Any], k: int) -> dict[str, Any]:
    """Per-question verdicts for one answer (as `Answer.to_dict()`); None where there is no gold."""
    verdicts: dict[str, Any] = dict.fromkeys(VERDICTS)
    if question.answerable and question.evidence:
        evidence = [normalise_space(e) for e in question.evidence]
        quotes = [normalise_space(str(c.get("quote", ""))) for c in result.get("citations") or ()]
        first = next((i for i, q in enumerate(quotes) if any(e in q for e in evidence)), None)
        verdicts["cite_at_1"] = first == 0
        verdicts["cite_at_k"] = first is not None and first < k
        verdicts["rr"] = 0.0 if first is None else 1.0 / (first + 1)
    if question.answers:
        verdicts["answer_match"] = answer_matches(str(result.get("answer", "")), question.answers)
    verdicts["refusal_correct"] = bool(result.get("answered")) == question.answerable
    if question.lang:
        verdicts["lang_correct"] = same_language(result.get("language"), question.lang)
    return verdicts


def record(question: Question, result: Mapping[str, Any], k: int) -> dict[str, Any]:
    """One line of results.jsonl: id, the answer's fields, the verdicts and the gold it was scored on."""
    return {"id": question.id, **result, **score(question, result, k), "expected": question.gold()}


def failed_checks(rec: Mapping[str, Any]) -> list[str]:
    """Names of the verdicts of one record that are False."""
    return [v for v in VERDICTS if v != "rr" and rec.get(v) is False]


def run(
    ask: Callable[[str], Answer],
    questions: Sequence[Question],
    k: int,
    *,
    progress: bool = False,
    warn: Callable[[str], None] = lambda _msg: None,
) -> list[dict[str, Any]]:
    """Ask every question and score it; a question the pipeline rejects is skipped with a warning."""
    records: list[dict[str, Any]] = []

    def one(q: Question) -> None:
        try:
            answer = ask(q.question)
        except QuestionError as exc:
            warn(f"question {q.id!r} (line {q.line}) skipped: {exc}")
            return
        records.append(record(q, answer.to_dict(), k))

    if not progress:
        for q in questions:
            one(q)
        return records
    from rich.console import Console
    from rich.progress import track

    for q in track(questions, description="evaluating", console=Console(stderr=True), transient=True):
        one(q)
    return records


# ---- metrics ---------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation, like numpy's default; None if empty."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summarise(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The metrics of one group of records, with `support`: how many records each was measured on."""

    def measured(key: str) -> list[float]:
        return [float(r[key]) for r in records if r.get(key) is not None]

    cite1, citek, rr = measured("cite_at_1"), measured("cite_at_k"), measured("rr")
    matched, lang = measured("answer_match"), measured("lang_correct")
    refused = [r for r in records if not r.get("answered")]
    unanswerable = [r for r in records if not _gold(r).get("answerable", True)]
    answerable = [r for r in records if _gold(r).get("answerable", True)]
    latency = [float(r["latency_ms"]) for r in records if isinstance(r.get("latency_ms"), int | float)]
    return {
        "questions": len(records),
        "cite@1": _mean(cite1),
        "cite@k": _mean(citek),
        "mrr": _mean(rr),
        "answer_match": _mean(matched),
        "refusal_precision": _mean([0.0 if _gold(r).get("answerable", True) else 1.0 for r in refused]),
        "refusal_recall": _mean([0.0 if r.get("answered") else 1.0 for r in unanswerable]),
        "answerable_declined": _mean([0.0 if r.get("answered") else 1.0 for r in answerable]),
        "lang_accuracy": _mean(lang),
        "latency_p50_ms": _round(percentile(latency, 50)),
        "latency_p95_ms": _round(percentile(latency, 95)),
        "support": {
            "cite@1": len(cite1),
            "cite@k": len(citek),
            "mrr": len(rr),
            "answer_match": len(matched),
            "refusal_precision": len(refused),
            "refusal_recall": len(unanswerable),
            "answerable_declined": len(answerable),
            "lang_accuracy": len(lang),
            "latency": len(latency),
        },
    }


def _gold(rec: Mapping[str, Any]) -> Mapping[str, Any]:
    gold = rec.get("expected")
    return gold if isinstance(gold, Mapping) else {}


def group_language(rec: Mapping[str, Any]) -> str:
    """The gold language of a record, else the detected one."""
    return str(_gold(rec).get("lang") or rec.get("language") or "unknown")


def metrics(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Metrics overall, per language (gold `lang`, else the detected language) and per gold tag."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    tagged: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        groups.setdefault(group_language(r), []).append(r)
        for tag in _gold(r).get("tags") or ():
            tagged.setdefault(str(tag), []).append(r)
    return {
        "overall": summarise(records),
        "by_language": {lang: summarise(rs) for lang, rs in sorted(groups.items())},
        "by_tag": {tag: summarise(rs) for tag, rs in sorted(tagged.items())},
    }


# ---- bars ------------------------------------------------------------------------------------------


def parse_bar(spec: str) -> tuple[str, float]:
    """'cite@1=0.9' -> ('cite@1', 0.9); 'source:cite@1=0.9' bars one tag's slice; ValueError names the
    known metrics. For answerable_declined the value is a ceiling, for every other metric a floor."""
    name, sep, value = spec.partition("=")
    name = name.strip()
    if not sep:
        raise ValueError(f"{spec!r} is not METRIC=VALUE, e.g. cite@1=0.9")
    if name.rpartition(":")[2] not in METRICS:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    try:
        bar = float(value)
    except ValueError:
        raise ValueError(f"{spec!r}: {value.strip()!r} is not a number") from None
    if math.isnan(bar):
        raise ValueError(f"{spec!r}: the bar must be a number, not NaN")
    return name, bar


def below_bars(metrics: Mapping[str, Any], bars: Iterable[tuple[str, float]]) -> list[str]:
    """One phrase per metric on the wrong side of its bar; a metric with nothing to measure cannot meet
    a bar. `metrics` is metrics()'s result (or a summarise() result, for untagged bars only)."""
    failures = []
    for name, bar in bars:
        tag, _, metric = name.rpartition(":")
        group = metrics.get("by_tag", {}).get(tag) if tag else metrics.get("overall", metrics)
        value = (group or {}).get(metric)
        if value is None:
            failures.append(f"{name} not measured (bar {bar:g})")
        elif metric == "answerable_declined" and value > bar:
            failures.append(f"{name} {value:.3f} > {bar:g}")
        elif metric != "answerable_declined" and value < bar:
            failures.append(f"{name} {value:.3f} < {bar:g}")
    return failures


# ---- modes (cqbot eval --mode both) ----------------------------------------------------------------

MODES = ("extractive", "generated")


def generated_share(records: Sequence[Mapping[str, Any]]) -> float | None:
    """Share of answers that are generated; below 1 in generated mode means fallbacks to extractive."""
    return _mean([1.0 if r.get("mode") == "generated" else 0.0 for r in records])


def side_by_side(by_mode: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    """Markdown table of each mode's overall metrics in adjacent columns (report.md of --mode both)."""
    modes = list(by_mode)
    k = meta.get("k", "k")
    out = ["# cqbot evaluation: " + " vs ".join(modes), ""]
    links = ", ".join(f"[{m}]({m}/report.md)" for m in modes)
    source = f"{meta.get('questions', '?')} questions from `{meta.get('questions_file', '?')}`"
    out += [f"{source}; k = {k}; full reports: {links}", ""]
    out += ["| metric | " + " | ".join(modes) + " |", "|---" + "|---:" * len(modes) + "|"]

    def cell(value: Any, digits: int = 3) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    for name in METRICS:
        label = f"cite@{k}" if name == "cite@k" else name
        out.append(f"| {label} | " + " | ".join(cell(by_mode[m]["overall"][name]) for m in modes) + " |")
    for name in LATENCY:
        values = " | ".join(cell(by_mode[m]["overall"][name], 0) for m in modes)
        out.append(f"| {name.replace('_ms', '').replace('_', ' ')} (ms) | {values} |")
    out.append(
        "| answers generated | " + " | ".join(cell(by_mode[m].get("generated_share")) for m in modes) + " |"
    )
    return "\n".join([*out, ""])
