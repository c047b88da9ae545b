"""Gold question files (.jsonl or .csv) -> Questions, with every skipped line and why."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cqbot.errors import EvalInputError

SUFFIXES = (".jsonl", ".ndjson", ".csv")
_TRUTH = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Question:
    """One gold question; empty `evidence` / `answers` mean there is nothing to check."""

    id: str
    question: str
    lang: str | None = None
    evidence: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    answerable: bool = True
    line: int = 0
    tags: tuple[str, ...] = ()  # slices the report measures apart, e.g. "source", "cross-lingual"

    def gold(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "evidence": list(self.evidence),
            "answers": list(self.answers),
            "answerable": self.answerable,
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class Problem:
    """A line of the question file that was skipped, and why."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class _Invalid(ValueError):
    pass


def load_questions(path: Path | str, *, strict: bool = False) -> tuple[list[Question], list[Problem]]:
    """Valid questions of a .jsonl or .csv file, and the lines skipped; `strict` raises at the first."""
    p = Path(path)
    if not p.exists():
        raise EvalInputError(f"question file {p} does not exist")
    if not p.is_file():
        raise EvalInputError(f"question file {p} is not a file")
    if p.suffix.lower() not in SUFFIXES:
        raise EvalInputError(f"{p}: unknown extension {p.suffix!r}; use .jsonl (JSON Lines) or .csv")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{p} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    rows = _csv_rows(text, p) if p.suffix.lower() == ".csv" else _jsonl_rows(text)
    questions: list[Question] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        try:
            if isinstance(row, str):
                raise _Invalid(row)
            q = _question(row, line)
            if q.id in seen:
                raise _Invalid(f"duplicate id {q.id!r} (first on line {seen[q.id]})")
        except _Invalid as exc:
            problem = Problem(str(p), line, str(exc))
            if strict:
                raise EvalInputError(f"{problem} (--strict stops at the first bad line)") from None
            problems.append(problem)
            continue
        seen[q.id] = line
        questions.append(q)
    return questions, problems


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield n, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        yield n, row if isinstance(row, dict) else f"expected a JSON object, got {type(row).__name__}"


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    end = 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip().lower() for c in cells]
                if "id" not in header or "question" not in header:
                    raise EvalInputError(
                        f"{path}:{start}: the CSV header must name the columns id and question "
                        f"(found: {', '.join(header)})"
                    )
                continue
            if len(cells) > len(header):
                yield start, f"{len(cells)} cells but the header names {len(header)} columns"
                continue
            yield start, _csv_record(dict(zip(header, (c.strip() for c in cells), strict=False)))
    except csv.Error as exc:
        raise EvalInputError(f"{path}:{reader.line_num}: unreadable CSV ({exc})") from exc


def _csv_record(cells: dict[str, str]) -> dict[str, Any] | str:
    row: dict[str, Any] = {"id": cells.get("id") or None, "question": cells.get("question") or None}
    row["lang"] = cells.get("lang") or None
    for key in ("evidence", "answers"):
        row[key] = [s for s in cells.get(key, "").split("|") if s.strip()]
    flag = cells.get("answerable", "").lower()
    if flag and flag not in _TRUTH:
        return f"'answerable' must be true/false/1/0/yes/no, not {flag!r}"
    row["answerable"] = _TRUTH.get(flag, True)
    return row


def _question(row: Mapping[str, Any], line: int) -> Question:
    qid, text = row.get("id"), row.get("question")
    for key, value in (("id", qid), ("question", text)):
        if value is None:
            raise _Invalid(f"missing {key!r}")
        if not isinstance(value, str) or not value.strip():
            raise _Invalid(f"{key!r} must be a non-empty string")
    lang = row.get("lang")
    if lang is not None and (not isinstance(lang, str) or not lang.strip()):
        raise _Invalid("'lang' must be a language code such as 'de'")
    answerable = row.get("answerable", True)
    if answerable is None:
        answerable = True
    if not isinstance(answerable, bool):
        raise _Invalid("'answerable' must be true or false")
    return Question(
        id=str(qid),
        question=str(text),
        lang=lang.strip().lower() if isinstance(lang, str) else None,
        evidence=_strings(row, "evidence"),
        answers=_strings(row, "answers"),
        answerable=answerable,
        line=line,
        tags=_strings(row, "tags"),
    )


def _strings(row: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = row.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"{key!r} must be a list of strings")
    if any(not v.strip() for v in value):
        raise _Invalid(f"{key!r} holds an empty string, which would match anything")
    unique: dict[str, str] = {}
    for v in value:
        unique.setdefault(normalise_space(v), v.strip())
    return tuple(unique.values())


def normalise_space(text: str) -> str:
    """NFC with runs of whitespace collapsed to one space."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()
