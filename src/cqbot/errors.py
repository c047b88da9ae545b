"""Named errors. Library code raises these; cli.py turns them into one-line messages and exit codes."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """An exception's message as one line: its first non-blank line, else the exception's class name."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


class CqbotError(Exception):
    """Base class: the message is one line that says what went wrong and how to fix it."""

    exit_code = 1


class ConfigError(CqbotError):
    """A setting is missing or has an invalid value."""

    exit_code = 2


class CorpusError(CqbotError):
    """The corpus folder is missing or holds no usable document."""


class DocumentError(CqbotError):
    """One file could not be read; the build skips it with a warning."""


class ModelError(CqbotError):
    """The embedding model could not be found, provisioned or loaded."""


class IndexMissingError(CqbotError):
    """No index has been built yet."""


class IndexMismatchError(CqbotError):
    """The index was built with another model, dimension or format."""


class IndexCorruptError(CqbotError):
    """An index file is unreadable or inconsistent with the manifest."""


class QuestionError(CqbotError):
    """The question cannot be answered as given (empty, unreadable)."""

    exit_code = 2


class EvalInputError(CqbotError):
    """A question file for evaluation is missing or malformed."""

    exit_code = 2


class LLMError(CqbotError):
    """The configured language-model endpoint failed or answered badly."""
