"""Metrics, scoring and the question loader of cqbot.evaluation on small hand-made data (no model)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cqbot.errors import EvalInputError, QuestionError
from cqbot.evaluation import scoring as ev
from cqbot.evaluation.goldset import Question, load_questions
from cqbot.evaluation.report import headline, write_report
from cqbot.records import Answer, Citation

ROOT = Path(__file__).resolve().parents[1]


def q(**kw: Any) -> Question:
    kw.setdefault("id", "q1")
    kw.setdefault("question", "How many?")
    for key in ("evidence", "answers"):
        kw[key] = tuple(kw.get(key, ()))
    return Question(**kw)


def result(
    quotes: Sequence[str] = (), answered: bool = True, answer: str = "", language: str = "en", **kw: Any
) -> dict[str, Any]:
    cites = [{"n": i + 1, "doc_id": "d", "quote": text} for i, text in enumerate(quotes)]
    return {"answered": answered, "answer": answer, "language": language, "citations": cites, **kw}


def rec(question: Question, res: dict[str, Any], k: int = 3) -> dict[str, Any]:
    return ev.record(question, res, k)


# ---- scoring ---------------------------------------------------------------------------------------


def test_cite_at_1_k_and_reciprocal_rank() -> None:
    gold = q(evidence=["8.753 Unternehmen"])
    first = ev.score(gold, result(["Es gibt 8.753 Unternehmen.", "other"]), k=3)
    assert (first["cite_at_1"], first["cite_at_k"], first["rr"]) == (True, True, 1.0)
    second = ev.score(gold, result(["other", "Es gibt 8.753 Unternehmen."]), k=3)
    assert (second["cite_at_1"], second["cite_at_k"], second["rr"]) == (False, True, 0.5)


def test_rank_beyond_k_counts_for_mrr_but_not_cite_at_k() -> None:
    verdicts = ev.score(q(evidence=["x y"]), result(["a", "b", "c", "x y"]), k=3)
    assert (verdicts["cite_at_1"], verdicts["cite_at_k"], verdicts["rr"]) == (False, False, 0.25)


def test_answerable_without_citations_scores_zero() -> None:
    verdicts = ev.score(q(evidence=["x"]), result([], answered=False), k=3)
    assert (verdicts["cite_at_1"], verdicts["cite_at_k"], verdicts["rr"]) == (False, False, 0.0)
    assert verdicts["refusal_correct"] is False


def test_unanswerable_with_citations_is_not_cite_scored_but_fails_refusal() -> None:
    verdicts = ev.score(q(answerable=False, evidence=["x"]), result(["x"], answered=True), k=3)
    assert verdicts["cite_at_1"] is None and verdicts["cite_at_k"] is None and verdicts["rr"] is None
    assert verdicts["refusal_correct"] is False


def test_no_gold_fields_give_null_verdicts() -> None:
    verdicts = ev.score(q(), result(["x"]), k=3)
    assert verdicts == {
        "cite_at_1": None,
        "cite_at_k": None,
        "rr": None,
        "answer_match": None,
        "refusal_correct": True,
        "lang_correct": None,
    }


def test_evidence_matches_after_whitespace_and_nfc_normalisation() -> None:
    gold = q(evidence=["Unternehmen  mit\nausländischen Investitionen"])  # composed ä
    quote = "8.753 Unternehmen\u00a0mit   ausla\u0308ndischen\tInvestitionen."  # decomposed ä, odd spaces
    assert ev.score(gold, result([quote]), k=1)["cite_at_1"] is True


def test_evidence_is_case_sensitive_quote_containment() -> None:
    assert ev.score(q(evidence=["Unternehmen"]), result(["unternehmen"]), k=1)["cite_at_1"] is False


@pytest.mark.parametrize("answer", ["8.753", "8,753", "8753", "8 753", "8\u202f753", "Es sind 8.753 Firmen"])
@pytest.mark.parametrize("gold", ["8.753", "8,753", "8753", "8 753"])
def test_number_formats_match_each_other(answer: str, gold: str) -> None:
    assert ev.answer_matches(answer, [gold])


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        ("about 150 firms", "50", False),
        ("about 50 % of trade", "50", True),
        ("the 8753rd firm", "8753", True),  # not glued to another digit
        ("8.7531", "8.753", False),
        ("3.5 percent", "35", False),  # a decimal is not a digit group
        ("１２３ firms", "123", True),  # full-width digits
        ("the Invest in Chongqing brand", "invest in chongqing", True),
        ("nothing here", "Invest in Chongqing", False),
        ("1.000.000 yuan", "1000000", True),
    ],
)
def test_answer_match_edges(answer: str, gold: str, expected: bool) -> None:
    assert ev.answer_matches(answer, [gold]) is expected


def test_answer_match_any_one_suffices_and_empty_list_is_null() -> None:
    assert ev.score(q(answers=["322", "zzz"]), result(answer="322 Firmen"), k=3)["answer_match"] is True
    assert ev.score(q(answers=[]), result(answer="322"), k=3)["answer_match"] is None


@pytest.mark.parametrize(
    ("detected", "gold", "ok"), [("zh", "zh", True), ("zh", "zh-CN", True), ("en", "de", False)]
)
def test_language_verdict(detected: str, gold: str, ok: bool) -> None:
    assert ev.score(q(lang=gold), result(language=detected), k=3)["lang_correct"] is ok


def test_record_keeps_id_answer_fields_verdicts_and_gold() -> None:
    answer = Answer(
        "Q?", "de", True, "A [1]", (Citation(1, "doc", "T", "", "c", 0, 5, None, "x y", 1.0),), 12.345
    )
    r = rec(q(id="d1", evidence=["x y"], lang="de"), answer.to_dict())
    assert r["id"] == "d1" and r["latency_ms"] == 12.35 and r["citations"][0]["quote"] == "x y"
    assert r["cite_at_1"] is True and r["expected"]["evidence"] == ["x y"]
    assert next(iter(r)) == "id"


# ---- metrics ---------------------------------------------------------------------------------------


def test_metrics_on_a_hand_made_set() -> None:
    records = [
        rec(q(id="a", lang="de", evidence=["e"], answers=["1"]), result(["e"], answer="1", language="de")),
        rec(
            q(id="b", lang="de", evidence=["e"], answers=["2"]), result(["x", "e"], answer="1", language="en")
        ),
        rec(q(id="c", lang="en", evidence=["e"]), result([], answered=False)),  # wrongly refused
        rec(q(id="d", lang="en", answerable=False), result([], answered=False)),  # rightly refused
        rec(q(id="e", lang="en", answerable=False), result(["e"], answered=True)),  # wrongly answered
    ]
    m = ev.metrics(records)["overall"]
    assert m["questions"] == 5
    assert m["cite@1"] == pytest.approx(1 / 3)
    assert m["cite@k"] == pytest.approx(2 / 3)
    assert m["mrr"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["answer_match"] == 0.5
    assert m["refusal_precision"] == 0.5  # refused c and d; only d should have been
    assert m["refusal_recall"] == 0.5  # d refused, e answered
    assert m["lang_accuracy"] == pytest.approx(4 / 5)
    assert m["support"]["cite@1"] == 3 and m["support"]["refusal_recall"] == 2


def test_empty_sets_are_null_not_zero() -> None:
    m = ev.metrics([])["overall"]
    assert m["questions"] == 0
    assert all(m[name] is None for name in (*ev.METRICS, *ev.LATENCY))
    only_answered = ev.metrics([rec(q(), result(["x"]))])["overall"]
    assert only_answered["refusal_precision"] is None  # nothing refused
    assert only_answered["refusal_recall"] is None  # nothing unanswerable
    assert only_answered["cite@1"] is None and only_answered["lang_accuracy"] is None


def test_duplicate_evidence_counts_once(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "?", "evidence": ["x  y", "x y", "z"]}) + "\n")
    (question,), _ = load_questions(path)
    assert question.evidence == ("x  y", "z")
    assert ev.score(question, result(["x y z"]), k=1)["cite_at_1"] is True


def test_per_language_groups_by_gold_language_else_detected() -> None:
    records = [
        rec(q(id="a", lang="de"), result(language="en")),
        rec(q(id="b"), result(language="fr")),
        rec(q(id="c", lang="de"), result(language="de")),
    ]
    by = ev.metrics(records)["by_language"]
    assert list(by) == ["de", "fr"]
    assert by["de"]["questions"] == 2 and by["de"]["lang_accuracy"] == 0.5
    assert by["fr"]["lang_accuracy"] is None


def test_latency_percentiles() -> None:
    assert ev.percentile([], 50) is None
    assert ev.percentile([7.0], 95) == 7.0
    assert ev.percentile([1, 2, 3, 4], 50) == 2.5
    assert ev.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    records = [rec(q(id=str(i)), result(latency_ms=float(i))) for i in range(1, 21)]
    m = ev.metrics(records)["overall"]
    assert (m["latency_p50_ms"], m["latency_p95_ms"]) == (10.5, 19.05)


def test_metrics_survive_a_json_round_trip() -> None:
    records = [rec(q(id="a", evidence=["e"], lang="en"), result(["e"], latency_ms=3.5))]
    again = json.loads(json.dumps(records))
    assert ev.metrics(again) == ev.metrics(records)


# ---- bars and headline ------------------------------------------------------------------------------


def test_parse_bar() -> None:
    assert ev.parse_bar("cite@1=0.9") == ("cite@1", 0.9)
    with pytest.raises(ValueError, match="known: cite@1, cite@k, mrr"):
        ev.parse_bar("recall=0.5")
    for bad in ("cite@1", "cite@1=high", "cite@1=nan"):
        with pytest.raises(ValueError):
            ev.parse_bar(bad)


def test_below_bars_names_each_metric_and_unmeasured_ones() -> None:
    overall = {"cite@1": 0.8, "mrr": 0.95, "refusal_recall": None}
    failures = ev.below_bars(overall, [("cite@1", 0.9), ("mrr", 0.9), ("refusal_recall", 0.5)])
    assert failures == ["cite@1 0.800 < 0.9", "refusal_recall not measured (bar 0.5)"]
    assert ev.below_bars(overall, [("cite@1", 0.8)]) == []


def test_bars_on_a_slice_and_a_ceiling_for_answerable_declined() -> None:
    def tagged(qid: str, tags: list[str], answerable: bool, answered: bool, cited: bool) -> dict[str, Any]:
        question = Question(
            id=qid, question="?", evidence=("e",) if answerable else (), answerable=answerable
        )
        question = replace(question, tags=tuple(tags))
        return rec(question, result(["e" if cited else "x"] if answered else [], answered=answered))

    records = [
        tagged("a", ["source"], True, True, True),
        tagged("b", ["related"], True, True, False),
        tagged("c", ["related"], True, False, False),
        tagged("d", ["related"], False, False, False),
    ]
    m = ev.metrics(records)
    assert m["by_tag"]["source"]["cite@1"] == 1.0 and m["by_tag"]["related"]["cite@1"] == 0.0
    assert m["overall"]["answerable_declined"] == pytest.approx(1 / 3)
    assert m["by_tag"]["related"]["answerable_declined"] == 0.5
    assert ev.parse_bar("related:cite@1=0.5") == ("related:cite@1", 0.5)
    assert ev.below_bars(m, [("source:cite@1", 0.9), ("related:cite@1", 0.5)]) == [
        "related:cite@1 0.000 < 0.5"
    ]
    assert ev.below_bars(m, [("answerable_declined", 0.3)]) == ["answerable_declined 0.333 > 0.3"]
    assert ev.below_bars(m, [("answerable_declined", 0.4), ("missing:cite@1", 0.1)]) == [
        "missing:cite@1 not measured (bar 0.1)"
    ]


def test_headline_names_k() -> None:
    text = headline(ev.metrics([rec(q(evidence=["e"]), result(["e"], latency_ms=5.0))])["overall"], 5)
    assert "cite@5" in text and "n/a" in text and "latency p95 (ms)" in text


# ---- loader ----------------------------------------------------------------------------------------


def test_shipped_question_files_load_cleanly() -> None:
    files = sorted((ROOT / "eval").glob("*.jsonl"))
    assert len(files) >= 5
    for path in files:
        questions, problems = load_questions(path)
        assert questions and problems == [], path
    dev, _ = load_questions(ROOT / "eval" / "dev_questions.jsonl")
    assert any(not x.answerable for x in dev) and dev[0].lang == "de"


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_jsonl_lines_are_skipped_with_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "q.jsonl",
        '{"id": "a", "question": "fine?"}',
        "",
        '{"id": "b", "question": ',
        '{"question": "no id"}',
        '{"id": "c", "question": "  "}',
        '{"id": "d", "question": "x", "evidence": "not a list"}',
        '{"id": "e", "question": "x", "answerable": "yes"}',
        '{"id": "a", "question": "again"}',
        '["a", "list"]',
        '{"id": "f", "question": "x", "answers": [""]}',
        '{"id": 7, "question": "x"}',
        '{"id": "g", "question": "also fine", "lang": "ZH", "answerable": null}',
    )
    questions, problems = load_questions(path)
    assert [x.id for x in questions] == ["a", "g"]
    assert questions[1].lang == "zh" and questions[1].answerable is True
    assert [p.line for p in problems] == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    messages = [str(p) for p in problems]
    assert messages[0].startswith(f"{path}:3: not valid JSON")
    assert "missing 'id'" in messages[1]
    assert "'question' must be a non-empty string" in messages[2]
    assert "'evidence' must be a list of strings" in messages[3]
    assert "'answerable' must be true or false" in messages[4]
    assert "duplicate id 'a' (first on line 1)" in messages[5]
    assert "expected a JSON object" in messages[6]
    assert "empty string" in messages[7]
    assert "'id' must be a non-empty string" in messages[8]


def test_strict_stops_at_the_first_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", '{"id": "a", "question": "x"}', "{bad", '{"id": "b"}')
    with pytest.raises(EvalInputError, match=r"q\.jsonl:2: not valid JSON") as info:
        load_questions(path, strict=True)
    assert info.value.exit_code == 2


def test_missing_file_unknown_extension_and_encoding(tmp_path: Path) -> None:
    with pytest.raises(EvalInputError, match="does not exist"):
        load_questions(tmp_path / "nope.jsonl")
    with pytest.raises(EvalInputError, match="is not a file"):
        load_questions(tmp_path)
    with pytest.raises(EvalInputError, match=r"unknown extension '\.txt'"):
        load_questions(write(tmp_path / "q.txt", "x"))
    (tmp_path / "latin.jsonl").write_bytes('{"id": "ä"}'.encode("latin-1"))
    with pytest.raises(EvalInputError, match="not UTF-8"):
        load_questions(tmp_path / "latin.jsonl")


def test_empty_file_gives_no_questions(tmp_path: Path) -> None:
    assert load_questions(write(tmp_path / "q.jsonl", "")) == ([], [])


def test_csv_with_lists_flags_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text(
        "\ufeffID,Question,lang,evidence,answers,answerable\n"
        "d1,How many?,en,8.753 Unternehmen|  ,8.753|8753,yes\n"
        "n1,Mayor?,de,,,0\n"
        'm1,"two\nlines",,,,\n'
        "x1,Bad flag,en,,,maybe\n"
        ",No id,en,,,true\n"
        "y1,Too many,en,,,true,extra\n"
        "z1,Short row\n",
        encoding="utf-8",
    )
    questions, problems = load_questions(path)
    assert [x.id for x in questions] == ["d1", "n1", "m1", "z1"]
    d1, n1, m1, z1 = questions
    assert d1.evidence == ("8.753 Unternehmen",) and d1.answers == ("8.753", "8753") and d1.answerable
    assert n1.answerable is False and n1.lang == "de" and n1.evidence == ()
    assert m1.question == "two\nlines" and m1.lang is None and m1.answerable is True
    assert z1.line == 9
    assert [(p.line, p.message.split()[0]) for p in problems] == [
        (6, "'answerable'"),
        (7, "missing"),
        (8, "7"),
    ]


def test_csv_without_required_columns_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EvalInputError, match="must name the columns id and question"):
        load_questions(write(tmp_path / "q.csv", "name,text", "a,b"))


def test_csv_strict(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", "id,question,answerable", "a,x,true", "b,y,perhaps")
    with pytest.raises(EvalInputError, match=r"q\.csv:3: 'answerable'"):
        load_questions(path, strict=True)


# ---- run and report --------------------------------------------------------------------------------


def fake_ask(text: str) -> Answer:
    if text == "reject me":
        raise QuestionError("the question is empty")
    quote = "Es gibt 8.753 Unternehmen."
    cite = Citation(1, "doc", "Title", "", "c1", 0, len(quote), None, quote, 1.0)
    if text.startswith("Mayor"):
        return Answer(text, "en", False, "Not in the documents.", (), 2.0)
    return Answer(text, "de", True, f"„{quote}“ [1]", (cite,), 5.0)


def test_run_scores_every_question_and_skips_rejected_ones() -> None:
    warnings: list[str] = []
    questions = [
        q(id="a", question="Wie viele?", evidence=["8.753 Unternehmen"], answers=["8753"], lang="de"),
        q(id="b", question="reject me", line=2),
        q(id="c", question="Mayor?", answerable=False, lang="en"),
    ]
    records = ev.run(fake_ask, questions, 3, warn=warnings.append)
    assert [r["id"] for r in records] == ["a", "c"]
    assert records[0]["cite_at_1"] is True and records[0]["answer_match"] is True
    assert records[1]["refusal_correct"] is True
    assert warnings == ["question 'b' (line 2) skipped: the question is empty"]


def test_write_report(tmp_path: Path) -> None:
    questions = [
        q(id="a", question="Wie viele?", evidence=["8.753 Unternehmen"], lang="de"),
        q(id="b|x", question="Wo *genau*?", evidence=["nowhere"], answers=["42"], lang="de"),
        q(id="c", question="Mayor?", answerable=False, lang="en"),
    ]
    records = ev.run(fake_ask, questions, 3)
    metrics = ev.metrics(records)
    out = tmp_path / "out"
    path = write_report(out, records, metrics, {"k": 3, "questions_file": "q.jsonl"})
    assert path == out / "report.md"
    assert sorted(p.name for p in out.iterdir()) == [
        "latency.png",
        "metrics_by_language.png",
        "report.json",
        "report.md",
        "results.jsonl",
    ]
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b|x", "c"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["meta"]["k"] == 3 and report["overall"] == json.loads(json.dumps(metrics["overall"]))
    md = path.read_text(encoding="utf-8")
    assert "## Failed questions (1 of 3)" in md and "### b\\|x (de): Wo \\*genau\\*?" in md
    assert "- failed: cite@1, cite@k, answer match" in md
    assert "evidence: “nowhere”; answers: “42”" in md and "Es gibt 8.753 Unternehmen." in md
    assert "](metrics_by_language.png)" in md and "](latency.png)" in md
    assert (out / "metrics_by_language.png").read_bytes().startswith(b"\x89PNG")
    assert "| cite@3 |" in md and "| de | 2 |" in md


def test_write_report_replaces_an_earlier_run(tmp_path: Path) -> None:
    records = ev.run(fake_ask, [q(id="a", question="Wie viele?", evidence=["8.753 Unternehmen"])], 3)
    for _ in range(2):
        write_report(tmp_path, records, ev.metrics(records), {"k": 3})
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert "None: every measured check passed." in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert math.isclose(json.loads((tmp_path / "report.json").read_text())["overall"]["cite@1"], 1.0)
