"""`cqbot eval` through click: input errors without a model, then end to end on real questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cqbot.cli import cli
from cqbot.config import Settings
from cqbot.evaluation import scoring as ev
from cqbot.evaluation.goldset import load_questions

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "eval" / "dev_questions.jsonl"
PICK = ("d001", "d004", "d011", "d022", "n001")  # four answerable, one unanswerable


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# ---- input errors (no model is loaded) --------------------------------------------------------------


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = invoke("eval", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert "does not exist" in one_line_error(result)


def test_unknown_extension_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text("- x\n")
    result = invoke("eval", str(path))
    assert result.exit_code == 2
    assert "unknown extension '.yaml'" in one_line_error(result)


def test_no_valid_question_exits_2_after_warning_per_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a"}\nnot json\n')
    result = invoke("eval", str(path))
    assert result.exit_code == 2
    assert f"warning: {path}:1: missing 'question'; line skipped" in result.stderr
    assert f"warning: {path}:2: not valid JSON" in result.stderr
    assert "no valid question" in one_line_error(result)


def test_strict_exits_2_at_first_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("id,question\na,fine\n,no id\nb,also fine\n")
    result = invoke("eval", str(path), "--strict")
    assert result.exit_code == 2
    assert f"{path}:3: missing 'id'" in one_line_error(result)


@pytest.mark.parametrize("spec", ["recall=0.5", "cite@1", "cite@1=high"])
def test_bad_fail_under_exits_2(spec: str) -> None:
    result = invoke("eval", str(DEV), "--fail-under", spec)
    assert result.exit_code == 2
    assert "--fail-under" in result.stderr


def test_unknown_metric_lists_the_known_ones() -> None:
    result = invoke("eval", str(DEV), "--fail-under", "cite@1=0.5", "--fail-under", "recall=0.5")
    assert result.exit_code == 2
    assert "unknown metric 'recall'; known: " + ", ".join(ev.METRICS) in result.stderr


def test_help_has_an_example() -> None:
    result = invoke("eval", "--help")
    assert result.exit_code == 0 and "cqbot eval eval/dev_questions.jsonl" in result.output


# ---- end to end with the real model -----------------------------------------------------------------


def dev_lines(*ids: str) -> list[str]:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and json.loads(line)["id"] in ids]


def run_eval(settings: Settings, questions: Path, out: Path, *extra: str) -> Result:
    root = ("--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir))
    return invoke(*root, "eval", str(questions), "--out", str(out), "--quiet", *extra)


@pytest.fixture(scope="module")
def dev_run(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("eval-cli")
    questions = base / "questions.jsonl"
    lines = dev_lines(*PICK)
    assert len(lines) == len(PICK)
    questions.write_text("\n".join([*lines[:2], '{"id": "broken"', *lines[2:]]) + "\n", encoding="utf-8")
    out = base / "out"
    result = run_eval(real_settings, questions, out, "--k", "2")
    return {"result": result, "out": out, "questions": questions, "settings": real_settings}


@pytest.mark.model
def test_eval_writes_every_file(dev_run: dict[str, Any]) -> None:
    result, out = dev_run["result"], dev_run["out"]
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "latency.png",
        "metrics_by_language.png",
        "report.json",
        "report.md",
        "results.jsonl",
    ]
    assert f"{dev_run['questions']}:3: not valid JSON" in result.stderr
    assert "cite@2" in result.stdout and f"report: {out / 'report.md'}" in result.stdout
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Headline" in md and "## Per language" in md and "## Failed questions" in md
    assert "](metrics_by_language.png)" in md and "](latency.png)" in md


@pytest.mark.model
def test_results_hold_answers_and_verdicts(dev_run: dict[str, Any]) -> None:
    lines = (dev_run["out"] / "results.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == list(PICK)
    gold = {q.id: q for q in load_questions(dev_run["questions"])[0]}
    for r in records:
        assert {"question", "language", "answered", "answer", "citations", "latency_ms", "mode"} <= set(r)
        assert set(ev.VERDICTS) <= set(r)
        assert {k: r[k] for k in ev.VERDICTS} == ev.score(gold[r["id"]], r, 2)
    unanswerable = records[-1]
    assert unanswerable["cite_at_1"] is None and unanswerable["expected"]["answerable"] is False
    assert records[0]["expected"]["evidence"]


@pytest.mark.model
def test_report_json_matches_metrics_recomputed_from_results(dev_run: dict[str, Any]) -> None:
    out = dev_run["out"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    records = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert ev.metrics(records) == {
        "overall": report["overall"],
        "by_language": report["by_language"],
        "by_tag": report["by_tag"],
    }
    assert report["overall"]["questions"] == len(PICK)
    assert report["overall"]["support"]["refusal_recall"] == 1
    assert report["meta"]["k"] == 2 and report["meta"]["skipped"] == 1
    assert set(report["by_language"]) == {"de", "en"}


@pytest.mark.model
def test_fail_under_exits_1_naming_the_metric(dev_run: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_eval(dev_run["settings"], dev_run["questions"], out, "--fail-under", "cite@1=1.01")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert line.startswith("error: below the bar: cite@1 ") and "< 1.01" in line
    assert (out / "report.md").is_file()  # the report is written before the verdict


@pytest.mark.model
def test_unknown_metric_exits_2_before_asking(dev_run: dict[str, Any], tmp_path: Path) -> None:
    result = run_eval(dev_run["settings"], dev_run["questions"], tmp_path / "out", "--fail-under", "f1=0.5")
    assert result.exit_code == 2 and "unknown metric 'f1'" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.model
def test_eval_asks_liked_answers_again_and_lists_disliked_ones(
    real_bot: Any, real_settings: Settings, tmp_path: Path
) -> None:
    from cqbot.feedback import feedback_file, record_vote

    liked = real_bot.ask("Wie viele Unternehmen mit ausländischen Investitionen gibt es in Chongqing?")
    disliked = real_bot.ask("重庆有多少家世界500强企业？")
    record_vote(tmp_path / "fb", liked.to_dict(), True)
    record_vote(tmp_path / "fb", disliked.to_dict(), False, "should be the current figure")
    questions = tmp_path / "q.jsonl"
    questions.write_text(dev_lines("d001")[0] + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_eval(real_settings, questions, out, "--feedback", str(feedback_file(tmp_path / "fb")))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["d001", "feedback-1"]
    assert records[1]["cite_at_1"] is True  # the liked answer is still given: a regression check
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## To review: answers voted 👎 in the chat (1)" in report
    assert "重庆有多少家世界500强企业？ — “should be the current figure”" in report
    assert (
        json.loads((out / "report.json").read_text(encoding="utf-8"))["by_tag"]["feedback"]["cite@1"] == 1.0
    )
