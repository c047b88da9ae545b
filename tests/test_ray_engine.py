"""`cqbot build --engine ray`: the embedding step on Ray Data gives the local vectors, keeps incremental
builds, and fails in one line. One local Ray (this machine's CPUs) serves the whole module."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from cqbot import builder, ray_engine
from cqbot.chunking import chunk_document
from cqbot.cli import cli
from cqbot.config import Settings, load_settings
from cqbot.corpus import read_corpus
from cqbot.model.embedding import passage_embedder
from cqbot.pipeline import Chatbot
from cqbot.ray_engine import RayEmbedder, _start_local

pytest.importorskip("ray", reason="the Ray engine needs the scale extra: pip install 'cqbot[scale]'")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
FIRST = ("chongqing-foreign-investment.de.md", "chongqing-foreign-investment.en.md")
ADDED = "investment-fairs.de.md"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray started once; every RayEmbedder of this module finds it running and leaves it so."""
    starter = RayEmbedder(load_settings(env={}))
    assert starter.workers() == os.cpu_count()
    yield
    starter.close()
    import ray

    assert not ray.is_initialized()


class Recording(RayEmbedder):
    """A RayEmbedder that keeps what it was asked to embed."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.texts: list[str] = []

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.texts += texts
        return super().embed_passages(texts, progress=progress)


@pytest.mark.ray
@pytest.mark.model
def test_ray_vectors_are_the_local_vectors_in_order(local_ray: None, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(env={})
    docs = [d for d in read_corpus(CORPUS).documents if d.path.startswith("key-figures.")][:6]
    spans = [(d, a, b) for d in docs for c in chunk_document(d) for a, b in c.sentences[:2]]
    texts = list(dict.fromkeys(builder.unit_text(d, a, b) for d, a, b in spans))[:40]
    assert len(texts) == 40 and len({d.lang for d in docs}) == 6
    monkeypatch.setattr(ray_engine, "BATCH_ROWS", 8)  # several batches over both workers: order is at stake
    embedder = RayEmbedder(settings)
    local = passage_embedder(settings)
    assert (embedder.name, embedder.weights) == (local.name, local.weights)

    got, want = embedder.embed_passages(texts), local.embed_passages(texts)

    assert got.shape == want.shape and got.dtype == np.float32
    assert embedder.dim == want.shape[1]
    cosine = np.sum(got * want, axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cosine.min() >= 0.9999, cosine.min()
    assert (np.argmax(got @ want.T, axis=1) == np.arange(len(texts))).all()


@pytest.mark.ray
@pytest.mark.model
def test_ray_build_is_incremental_and_answers(local_ray: None, tmp_settings: Settings) -> None:
    for name in FIRST:
        shutil.copy(CORPUS / name, tmp_settings.corpus_dir / name)
    args = ["--corpus", str(tmp_settings.corpus_dir), "--index", str(tmp_settings.index_dir)]

    first = invoke(*args, "build", "--engine", "ray", "-q")
    assert first.exit_code == 0, first.output
    assert "2 documents" in first.stdout and "embedded" in first.stdout and "reused 0" in first.stdout
    # same model and weights as the local engine: its build finds the index current
    assert builder.build(tmp_settings, passage_embedder(tmp_settings)).up_to_date

    shutil.copy(CORPUS / ADDED, tmp_settings.corpus_dir / ADDED)
    embedder = Recording(tmp_settings)
    report = builder.build(tmp_settings, embedder)

    assert report.added == (ADDED,) and report.documents == 3
    assert report.reused > 0 and report.embedded == len(embedder.texts) > 0
    added = next(d for d in read_corpus(tmp_settings.corpus_dir).documents if d.path == ADDED)
    for text in embedder.texts:  # only the new file's texts went to Ray
        assert text.removeprefix(f"{added.title}: ") in added.text, text

    answer = Chatbot.from_settings(tmp_settings).ask("How many exhibitors attended the WCIFIT in July 2022?")
    assert answer.answered, answer.answer
    assert answer.citations[0].doc_id == added.id and "1.212 Aussteller" in answer.citations[0].quote


# ---- errors: one line, no traceback (no Ray is started for these) ----------------------------------


def test_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("--index", str(tmp_path / "index"), "build", "--engine", "spark")
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: Invalid value for '--engine': 'spark' is not one of 'local', 'ray'."]


def test_ray_address_without_ray_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("--index", str(tmp_path / "index"), "build", "--ray-address", "10.0.0.5:6379")
    assert result.exit_code == 2
    assert "Error: --ray-address needs --engine ray" in result.stderr.splitlines()


def test_malformed_ray_address_is_one_line(tmp_settings: Settings) -> None:
    shutil.copy(CORPUS / ADDED, tmp_settings.corpus_dir / ADDED)
    args = ["--corpus", str(tmp_settings.corpus_dir), "--index", str(tmp_settings.index_dir)]
    result = invoke(*args, "build", "--engine", "ray", "--ray-address", "ray://head:10001")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Ray Data does not run over Ray Client (ray://head:10001);")
    assert len(result.stderr.splitlines()) == 1


def test_unreachable_ray_address_is_one_line(tmp_settings: Settings) -> None:
    shutil.copy(CORPUS / ADDED, tmp_settings.corpus_dir / ADDED)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["--corpus", str(tmp_settings.corpus_dir), "--index", str(tmp_settings.index_dir)]
    proc = subprocess.run(
        [sys.executable, "-m", "cqbot", *args, "build", "--engine", "ray", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CQBOT_RAY_ADDRESS": f"127.0.0.1:{port}"},
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: cannot reach Ray at 127.0.0.1:{port} (Connection refused); "
        "start it with `ray start --head` or check --ray-address"
    ]
    assert not (tmp_settings.index_dir / "manifest.json").exists()


class SlowRay:
    """Stands in for the ray module: the first local start times out as Ray's does on a busy machine."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[str] = []

    def init(self, **_kwargs: Any) -> None:
        self.calls.append("init")
        if self.failures:
            self.failures -= 1
            raise Exception("The current node timed out during startup. This could happen because ...")

    def shutdown(self) -> None:
        self.calls.append("shutdown")


def test_a_local_ray_that_starts_too_slowly_is_started_once_more() -> None:
    slow = SlowRay(failures=1)
    _start_local(slow)
    assert slow.calls == ["init", "shutdown", "init"]
    twice = SlowRay(failures=2)
    with pytest.raises(Exception, match="timed out during startup"):
        _start_local(twice)
    assert twice.calls == ["init", "shutdown", "init"]  # once more, not forever


def test_missing_ray_says_what_to_install(tmp_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(CORPUS / ADDED, tmp_settings.corpus_dir / ADDED)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as without the scale extra
    args = ["--corpus", str(tmp_settings.corpus_dir), "--index", str(tmp_settings.index_dir)]
    result = invoke(*args, "build", "--engine", "ray")
    assert result.exit_code == 2
    assert (
        result.stderr == "error: --engine ray needs Ray Data; install it with: pip install 'cqbot[scale]'\n"
    )


@pytest.mark.ray
@pytest.mark.model
def test_a_ray_built_index_cites_as_the_local_one_on_the_locked_questions(  # type: ignore[no-untyped-def]
    local_ray: None, real_settings: Settings, real_bot, tmp_path: Path
) -> None:
    """The whole shipped corpus embedded by Ray workers, nothing reused: every locked question gets the
    citations (and the answer-or-decline) of the locally built index."""
    from cqbot.evaluation.goldset import load_questions

    settings = real_settings.replace(index_dir=tmp_path / "index")
    with RayEmbedder(settings) as embedder:
        report = builder.build(settings, embedder, full=True)
    assert report.reused < report.embedded and report.embedded > 3000  # embedded by Ray, not copied
    ray_bot = Chatbot.from_settings(settings, embedder=real_bot.embedder)
    questions, _ = load_questions(ROOT / "eval" / "locked.jsonl")
    differ = []
    for q in questions:
        mine, theirs = ray_bot.ask(q.question), real_bot.ask(q.question)
        cited = [(c.doc_id, c.start, c.end) for c in (*mine.citations, *mine.closest)]
        local = [(c.doc_id, c.start, c.end) for c in (*theirs.citations, *theirs.closest)]
        if (mine.answered, cited) != (theirs.answered, local):
            differ.append(q.id)
    assert not differ, f"{len(differ)} of {len(questions)} locked questions answered differently: {differ}"
