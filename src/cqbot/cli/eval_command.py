"""cqbot eval: batch question evaluation (the work is in evaluation.run)."""

from __future__ import annotations

from pathlib import Path

import click

from cqbot.cli.common import handle_errors, interactive, settings_of
from cqbot.errors import CqbotError


@click.command("eval")
@click.argument("questions", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    default="eval-out",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for results.jsonl, report.json, report.md and the charts.",
)
@click.option(
    "--k", type=click.IntRange(min=1), default=3, show_default=True, help="Citations counted by cite@k."
)
@click.option(
    "--fail-under",
    "bars",
    multiple=True,
    metavar="METRIC=VALUE",
    help="Exit 1 if METRIC is below VALUE (repeatable). METRIC: cite@1, cite@k, mrr, answer_match, "
    "refusal_precision, refusal_recall, lang_accuracy.",
)
@click.option(
    "--strict", is_flag=True, help="Stop with exit 2 at the first bad input line instead of skipping it."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--feedback",
    "feedback_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The chat's votes (feedback/feedback.jsonl): 👍 answers are asked again as regression questions "
    "(tag 'feedback'), 👎 ones are listed in report.md to review.",
)
@click.option(
    "--mode",
    type=click.Choice(["extractive", "generated", "both"]),
    help="Answers to score: quoted (extractive), from the LLM endpoint (generated; needs CQBOT_LLM_URL), "
    "or both side by side [default: generated if an endpoint is set, else extractive].",
)
@click.pass_context
@handle_errors
def eval_command(
    ctx: click.Context,
    questions: Path,
    out_dir: Path,
    k: int,
    bars: tuple[str, ...],
    strict: bool,
    quiet: bool,
    feedback_path: Path | None,
    mode: str | None,
) -> None:
    """Ask every question of QUESTIONS (.jsonl or .csv) and score the answers against its gold fields.

    \b
    Example:
      cqbot eval eval/dev_questions.jsonl --out eval-out --fail-under cite@1=0.8
      cqbot eval eval/dev_questions.jsonl --mode both   # eval-out/{extractive,generated}/ + comparison
      cqbot eval eval/locked.jsonl --feedback feedback/feedback.jsonl
    """
    from cqbot.evaluation.goldset import load_questions
    from cqbot.evaluation.run import evaluate, with_feedback
    from cqbot.evaluation.scoring import parse_bar

    try:
        parsed = [parse_bar(b) for b in bars]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--fail-under'") from None
    qs, problems = load_questions(questions, strict=strict)
    for problem in problems:
        click.echo(f"warning: {problem}; line skipped", err=True)
    warn = lambda w: click.echo(f"warning: {w}", err=True)  # noqa: E731
    qs, to_review = with_feedback(qs, feedback_path, warn)
    outcome = evaluate(
        settings_of(ctx),
        qs,
        source=questions,
        out_dir=out_dir,
        k=k,
        mode=mode,
        bars=parsed,
        skipped=len(problems),
        to_review=to_review,
        progress=interactive(quiet),
        warn=warn,
    )
    click.echo(outcome.summary)
    click.echo(f"report: {outcome.report}")
    if outcome.failures:
        raise CqbotError("below the bar: " + "; ".join(outcome.failures))
