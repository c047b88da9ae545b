"""`cqbot build` and `cqbot ask` as a user runs them: exit codes, one-line errors, the JSON object."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cqbot.cli import cli
from cqbot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
CITATION_KEYS = {"n", "doc_id", "title", "source", "chunk_id", "start", "end", "page", "quote", "score"}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def cqbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point (`python -m cqbot`) in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "cqbot", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def test_empty_question_is_a_usage_error_before_any_loading(tmp_path: Path) -> None:
    result = invoke("--index", str(tmp_path / "none"), "ask", "   ")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: the question is empty; ask something about the documents"


def test_missing_index_says_what_to_run(tmp_path: Path) -> None:
    proc = cqbot("--index", str(tmp_path / "none"), "ask", "Wie viele Unternehmen?")
    assert proc.returncode == 1
    assert (
        proc.stderr.strip().splitlines()[-1] == f"error: no index in {tmp_path / 'none'}/; run: cqbot build"
    )
    assert "Traceback" not in proc.stderr


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    proc = cqbot("--index", str(tmp_path), "build", "--check", env={"CQBOT_CHUNK_SIZE": "tiny"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "chunk_size" in proc.stderr.strip().splitlines()[-1]


def test_missing_corpus_is_one_line(tmp_path: Path) -> None:
    proc = cqbot("--corpus", str(tmp_path / "nothing"), "--index", str(tmp_path / "idx"), "build", "-q")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "nothing" in proc.stderr.strip().splitlines()[-1]


@pytest.mark.model
def test_ask_json_prints_exactly_one_answer_object(real_settings: Settings) -> None:
    args = ["--corpus", str(real_settings.corpus_dir), "--index", str(real_settings.index_dir)]
    proc = cqbot(*args, "ask", "--json", "重庆有多少家外资企业？")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # the whole of stdout is one JSON object
    assert set(data) >= {"question", "language", "answered", "answer", "citations", "latency_ms", "mode"}
    assert data["language"] == "zh" and data["answered"] is True and data["mode"] == "extractive"
    first = data["citations"][0]
    assert set(first) >= CITATION_KEYS and first["n"] == 1 and "[1]" in data["answer"]
    assert "8.753 Unternehmen mit ausländischen Investitionen" in first["quote"]
    assert first["translation"] == "重庆目前共有外商投资企业8753家。"  # the aligned Chinese sentence

    text = cqbot(*args, "ask", "--explain", "Quelle est la température moyenne en été à Chongqing ?")
    lines = text.stdout.splitlines()
    assert text.returncode == 0
    assert lines[0] == (
        "Les documents ne répondent pas à cette question. "
        "Les passages les plus proches portent sur un autre sujet."
    )
    # the closest passages, labelled as not an answer, then the decision
    assert lines[2] == "Passages les plus proches (pas une réponse) :"
    assert lines[3].startswith("  “") and lines[4].startswith("  [1] ")
    assert "decision: decline" in lines
    assert any(line.startswith("  margin  FAILED (") for line in lines)


@pytest.mark.model
def test_build_check_and_incremental_rebuild(real_settings: Settings, tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(real_settings.corpus_dir, corpus)
    shutil.copytree(real_settings.index_dir, index)
    args = ["--corpus", str(corpus), "--index", str(index)]
    assert cqbot(*args, "build", "--check").returncode == 0
    (corpus / "note.md").write_text("---\nid: note\ntitle: Note\nlang: en\n---\nA short added note.\n")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    stale = cqbot(*args, "build", "--check")
    assert stale.returncode == 1 and "2 file(s) added" in stale.stdout
    built = cqbot(*args, "build")
    assert built.returncode == 0, built.stderr
    assert "warning: skipped broken.pdf" in built.stderr and "1 file(s) skipped" in built.stdout
    assert "embedded 1," in built.stdout  # the new sentence (its chunk vector is pooled), nothing else
    assert cqbot(*args, "build", "--check").returncode == 0
    # an up-to-date build answers from the manifest without loading the model (or torch)
    code = (
        "import sys; from cqbot.cli import cli; cli.main(sys.argv[1:], standalone_mode=False); "
        "print('torch loaded' if 'torch' in sys.modules else 'torch not loaded')"
    )
    again = subprocess.run(
        [sys.executable, "-c", code, *args, "build", "-q"], capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert "(up to date)" in again.stdout and "torch not loaded" in again.stdout
    # a removed file changes the index but needs nothing embedded: still no model
    (corpus / "note.md").unlink()
    removed = subprocess.run(
        [sys.executable, "-c", code, *args, "build", "-q"], capture_output=True, text=True, timeout=300
    )
    assert removed.returncode == 0, removed.stderr
    assert "embedded 0," in removed.stdout and "torch not loaded" in removed.stdout
    assert cqbot(*args, "build", "--check").returncode == 0
