"""Command line: build / ask / eval / serve / provision, each a thin face over the library."""

from __future__ import annotations

import click

from cqbot.cli.eval_command import eval_command
from cqbot.cli.index_commands import ask, build, provision
from cqbot.cli.serve_command import serve


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


for command in (build, ask, provision, eval_command, serve):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="cqbot")
