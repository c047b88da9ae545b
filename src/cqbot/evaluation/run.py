"""One evaluation run as `cqbot eval` does it: questions (and chat votes) -> answers -> scores -> report."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cqbot import __version__
from cqbot.config import Settings
from cqbot.errors import ConfigError, EvalInputError
from cqbot.evaluation import scoring
from cqbot.evaluation.goldset import Question
from cqbot.evaluation.report import headline, write_report
from cqbot.files import write_text_atomic


@dataclass(frozen=True)
class Outcome:
    """What a run produced: the summary to print, the report written, the bars it fell below."""

    summary: str
    report: Path
    failures: tuple[str, ...]


def with_feedback(
    questions: Sequence[Question], path: Path | None, warn: Callable[[str], None]
) -> tuple[list[Question], list[dict[str, Any]]]:
    """The questions plus the chat's 👍 answers as regression questions, and the 👎 ones to review."""
    if path is None:
        return list(questions), []
    from cqbot.feedback import read_feedback

    votes = read_feedback(path)
    if votes.skipped:
        warn(f"{path}: {votes.skipped} line(s) are not votes; skipped")
    return [*questions, *votes.questions], votes.review_rows()


def evaluate(
    settings: Settings,
    questions: Sequence[Question],
    *,
    source: Path,
    out_dir: Path,
    k: int = 3,
    mode: str | None = None,
    bars: Sequence[tuple[str, float]] = (),
    skipped: int = 0,
    to_review: Sequence[dict[str, Any]] = (),
    progress: bool = False,
    warn: Callable[[str], None] = lambda _msg: None,
) -> Outcome:
    """Ask every question, score the answers and write the report into out_dir.

    `mode`: "extractive", "generated" (needs settings.llm_url) or "both" (a report per mode in
    out_dir/<mode>/ and a side-by-side one); default: generated when an endpoint is set."""
    from cqbot.pipeline import Chatbot

    if not questions:
        raise EvalInputError(f"{source}: no valid question to ask")
    mode = mode or ("generated" if settings.llm_url else "extractive")
    if mode != "extractive" and not settings.llm_url:
        raise ConfigError(f"--mode {mode} needs an LLM endpoint: set CQBOT_LLM_URL and CQBOT_LLM_MODEL")
    modes = scoring.MODES if mode == "both" else (mode,)
    by_mode: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    summary: list[str] = []
    bot: Chatbot | None = None
    meta: dict[str, Any] = {}
    report = out_dir / "report.md"
    for m in modes:
        # the extractive bot is the same bot without the endpoint; both share one model and index
        mode_settings = settings if m == "generated" else settings.replace(llm_url="")
        bot = Chatbot(mode_settings, bot.embedder, bot.index) if bot else Chatbot.from_settings(mode_settings)
        records = scoring.run(bot.ask, questions, k, progress=progress, warn=warn)
        if not records:
            raise EvalInputError(f"{source}: the pipeline rejected every question")
        result = scoring.metrics(records)
        meta = {
            "questions_file": str(source),
            "to_review": list(to_review),
            "skipped": skipped + len(questions) - len(records),
            "k": k,
            "mode": m,
            "model": settings.model,
            "index": str(settings.index_dir),
            "cqbot_version": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        report = write_report(out_dir / m if mode == "both" else out_dir, records, result, meta, warn=warn)
        by_mode[m] = {**result, "generated_share": scoring.generated_share(records)}
        failures += [f"{m}: {f}" if mode == "both" else f for f in scoring.below_bars(result, bars)]
        if mode != "both":
            summary.append(headline(result["overall"], k))
    if mode == "both":
        meta = {**meta, "mode": "both", "questions": len(questions)}
        both = {"meta": meta, "modes": by_mode}
        write_text_atomic(out_dir / "report.json", json.dumps(both, ensure_ascii=False, indent=2) + "\n")
        report = out_dir / "report.md"
        write_text_atomic(report, scoring.side_by_side(by_mode, meta))
        summary.append(scoring.side_by_side(by_mode, meta))
    return Outcome("\n".join(summary), report, tuple(failures))
