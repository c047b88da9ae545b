"""Votes on answers (👍 / 👎 in the chat), kept as JSON lines, and read back as evaluation material.

Each vote is one line appended under an exclusive lock (`flock`), written in one `write` call and
flushed to disk, so concurrent votes never interleave and a crash loses at most the vote being written.
`cqbot eval --feedback FILE` turns 👍 answers into regression questions (the evidence is what they cited;
a 👍 on a decline expects a decline) and lists 👎 answers for review.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cqbot.errors import EvalInputError
from cqbot.evaluation.goldset import Question

FILE_NAME = "feedback.jsonl"


def feedback_file(folder: Path) -> Path:
    return folder / FILE_NAME


def record_vote(folder: Path, answer: dict[str, Any], liked: bool, comment: str = "") -> dict[str, Any]:
    """Append one vote on an answer object (`Answer.to_dict()`) to folder/feedback.jsonl; the entry."""
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": answer.get("question", ""),
        "language": answer.get("language", ""),
        "vote": "up" if liked else "down",
        "comment": comment.strip()[:2000],
        "answer": answer,
    }
    folder.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(feedback_file(folder), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return entry


@dataclass(frozen=True)
class Feedback:
    """What a feedback file holds for evaluation: regression questions (👍) and answers to review (👎)."""

    questions: tuple[Question, ...]
    to_review: tuple[dict[str, Any], ...]
    skipped: int  # lines that are not a vote (unreadable JSON, no question)

    def review_rows(self) -> list[dict[str, Any]]:
        """The 👎 votes as the report lists them: time, question, language, comment, the answer given."""
        keys = ("time", "question", "language", "comment")
        return [
            {k: v.get(k) for k in keys} | {"answer": v["answer"].get("answer", "")} for v in self.to_review
        ]


def read_feedback(path: Path) -> Feedback:
    """The votes of a feedback file; a line that is not a vote is counted in `skipped`."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvalInputError(f"feedback file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"cannot read feedback file {path}: {exc}") from exc
    questions: list[Question] = []
    review: list[dict[str, Any]] = []
    skipped = 0
    for n, raw in enumerate(lines, start=1):
        try:
            entry = json.loads(raw)
            answer = entry["answer"]
            question = str(entry["question"]).strip()
            if not question or entry["vote"] not in ("up", "down") or not isinstance(answer, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            skipped += bool(raw.strip())
            continue
        if entry["vote"] == "down":
            review.append(entry)
            continue
        cited = [str(c["quote"]) for c in answer.get("citations") or () if c.get("quote")]
        answered = bool(answer.get("answered"))
        questions.append(
            Question(
                id=f"feedback-{n}",
                question=question,
                lang=str(entry.get("language") or "") or None,
                evidence=tuple(cited[:1]) if answered else (),
                answerable=answered,
                line=n,
                tags=("feedback",),
            )
        )
    return Feedback(tuple(questions), tuple(review), skipped)
