"""Shared fixtures: a fake embedder for fast plumbing tests, and the real model over the real corpus."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cqbot.config import Settings, load_settings
from fakes import HashingEmbedder

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
DEV_QUESTIONS = ROOT / "eval" / "dev_questions.jsonl"


@pytest.fixture
def fake_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    """Settings over an empty corpus/ and index/ in tmp_path (fill the corpus in the test)."""
    (tmp_path / "corpus").mkdir()
    return load_settings(
        env={},
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "index",
        feedback_dir=tmp_path / "feedback",
    )


@pytest.fixture(scope="session")
def real_embedder():  # type: ignore[no-untyped-def]
    """The real multilingual model (provisioned once into the user cache)."""
    from cqbot.model.embedding import load_embedder

    return load_embedder(load_settings(env={}))


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    """A copy of the shipped corpus, indexed with the real model in a temporary folder."""
    from cqbot.builder import build

    base = tmp_path_factory.mktemp("real")
    shutil.copytree(CORPUS, base / "corpus")
    if (
        ROOT / "index" / "manifest.json"
    ).exists():  # built already (make test builds first): reuse its vectors
        shutil.copytree(ROOT / "index", base / "index")
    settings = load_settings(
        env={}, corpus_dir=base / "corpus", index_dir=base / "index", feedback_dir=base / "feedback"
    )
    build(settings, real_embedder)
    yield settings


@pytest.fixture(scope="session")
def real_bot(real_settings: Settings, real_embedder):  # type: ignore[no-untyped-def]
    from cqbot.pipeline import Chatbot

    return Chatbot.from_settings(real_settings, embedder=real_embedder)
