"""cqbot serve: the chat app in the browser, its REST routes and health check."""

from __future__ import annotations

from pathlib import Path

import click

from cqbot.cli.common import fail, handle_errors, settings_of
from cqbot.errors import first_line


@click.command()
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
        fail(f"--root-path must start with '/', got {root_path!r}", 2)
    try:
        bot = open_chatbot(settings_of(ctx), say=click.echo)
        serve_app(bot, host, port, auth=users, root_path=root_path.rstrip("/"), say=click.echo)
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {first_line(exc)}", 1)
