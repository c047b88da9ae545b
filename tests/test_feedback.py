"""Votes on answers: appended safely from many processes at once, and read back as evaluation material."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from cqbot.errors import EvalInputError
from cqbot.feedback import feedback_file, read_feedback, record_vote

ANSWER = {
    "question": "How many foreign-invested enterprises are there?",
    "language": "en",
    "answered": True,
    "answer": "According to the documents: “…” [1]",
    "citations": [{"n": 1, "doc_id": "d", "quote": "Chongqing beherbergt aktuell 8.753 Unternehmen."}],
}
DECLINE = {"question": "Population?", "language": "en", "answered": False, "answer": "…", "citations": []}


def _vote_many(args: tuple[str, int]) -> None:
    folder, worker = args
    for i in range(25):
        record_vote(Path(folder), {**ANSWER, "question": f"q{worker}-{i}"}, i % 2 == 0, "x" * 3000)


def test_concurrent_votes_from_many_processes_are_whole_lines(tmp_path: Path) -> None:
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_vote_many, [(str(tmp_path), w) for w in range(8)])
    lines = feedback_file(tmp_path).read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]  # every line parses: none interleaved
    assert len(entries) == 200
    assert sorted(e["question"] for e in entries) == sorted(f"q{w}-{i}" for w in range(8) for i in range(25))
    assert {e["vote"] for e in entries} == {"up", "down"}
    assert all(len(e["comment"]) == 2000 for e in entries)  # comments are capped
    assert set(entries[0]) == {"time", "question", "language", "vote", "comment", "answer"}


def test_votes_become_regression_questions_and_a_review_list(tmp_path: Path) -> None:
    record_vote(tmp_path, ANSWER, True)
    record_vote(tmp_path, DECLINE, True)
    record_vote(tmp_path, ANSWER, False, "  wrong figure  ")
    with feedback_file(tmp_path).open("a", encoding="utf-8") as f:
        f.write("not json\n{}\n\n")
    votes = read_feedback(feedback_file(tmp_path))
    up, declined = votes.questions
    assert (up.id, up.question, up.lang, up.answerable) == ("feedback-1", ANSWER["question"], "en", True)
    assert up.evidence == ("Chongqing beherbergt aktuell 8.753 Unternehmen.",) and up.tags == ("feedback",)
    assert declined.answerable is False and declined.evidence == ()
    (review,) = votes.to_review
    assert review["comment"] == "wrong figure" and review["answer"] == ANSWER
    assert votes.skipped == 2


def test_a_missing_feedback_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvalInputError, match=r"feedback file .* does not exist"):
        read_feedback(tmp_path / "nope.jsonl")
