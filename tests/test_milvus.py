"""Milvus as the index backend, on Milvus Lite: FAISS's search results, generations kept and dropped as
a running server needs them, and one-line errors that say the fix."""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cqbot import builder, staleness
from cqbot.config import Settings, load_settings
from cqbot.errors import ConfigError, IndexCorruptError, IndexMissingError
from cqbot.faiss_store import ivf_lists
from cqbot.index import (
    Index,
    load_index,
    make_faiss,
    recorded_backend,
)
from cqbot.milvus.client import Location
from cqbot.model.embedding import Embedder
from cqbot.records import Citation
from fakes import HashingEmbedder

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

ROOT = Path(__file__).resolve().parents[1]
# a few documents in two languages: enough chunks and sentences to rank, small enough to build in a second
FILES = ("chongqing-foreign-investment.en.md", "chongqing-foreign-investment.de.md", "investment-fairs.en.md")
QUESTIONS = ["When did the foreign investment law take effect?", "Wie viele Unternehmen gibt es?", "fairs"]


def _settings(base: Path, files: tuple[str, ...] = FILES, **changes: Any) -> Settings:
    (base / "corpus").mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copy(ROOT / "corpus" / name, base / "corpus" / name)
    return load_settings(env={}, corpus_dir=base / "corpus", index_dir=base / "index", **changes)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Index, Index]:
    """The same corpus and vectors indexed with FAISS and with Milvus Lite (one Lite start-up per module)."""
    embedder = HashingEmbedder()
    faiss_settings = _settings(tmp_path_factory.mktemp("faiss"))
    milvus_settings = _settings(tmp_path_factory.mktemp("milvus"), index_backend="milvus")
    builder.build(faiss_settings, embedder)
    builder.build(milvus_settings, embedder)
    return load_index(faiss_settings.index_dir), load_index(milvus_settings.index_dir)


def test_milvus_search_gives_the_faiss_rows_and_scores(built: tuple[Index, Index]) -> None:
    faiss_index, milvus_index = built
    queries = HashingEmbedder().embed_queries(QUESTIONS)
    want_scores, want_rows = faiss_index.search(queries, 10)
    scores, rows = milvus_index.search(queries, 10)
    assert (rows == want_rows).all()
    assert np.allclose(scores, want_scores, atol=1e-5)
    for query in queries:
        want_unit_scores, want_units = faiss_index.search_units(query, 25)
        unit_scores, units = milvus_index.search_units(query, 25)
        assert (units == want_units).all() and np.allclose(unit_scores, want_unit_scores, atol=1e-5)
    # more asked than there are: rows -1, as FAISS gives
    n = len(milvus_index.chunks)
    _, rows = milvus_index.faiss_index.search(queries[:1], n + 3)
    assert sorted(rows[0][:n]) == list(range(n)) and (rows[0][n:] == -1).all()


def test_the_manifest_says_where_the_vectors_are(built: tuple[Index, Index]) -> None:
    _, index = built
    m = index.manifest
    assert (m.backend, m.milvus_uri, m.index_type) == ("milvus", "", "milvus-flat+milvus-flat")
    assert m.milvus_prefix.startswith("cqbot_") and m.milvus_prefix.endswith(m.generation.replace("-", "_"))
    names = {p.name for p in index.directory.iterdir()}
    assert f"milvus-{m.generation}.db" in names and not any(n.endswith(".faiss") for n in names)
    # an index folder built before Milvus has none of these fields: it loads as FAISS
    data = json.loads((index.directory / "manifest.json").read_text(encoding="utf-8"))
    assert {"backend", "milvus_uri", "milvus_prefix"} <= set(data)
    # what `cqbot build` compares to tell that the backend settings changed since
    assert recorded_backend("milvus", "", index.directory) == (m.backend, m.milvus_uri)
    assert recorded_backend("faiss", "", index.directory) != (m.backend, m.milvus_uri)


def test_a_rebuild_keeps_the_previous_generation_and_drops_older_ones(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    settings = _settings(tmp_path, FILES[:1], index_backend="milvus")
    doc = settings.corpus_dir / FILES[0]
    generations = []
    for i in range(3):
        if i:
            doc.write_text(doc.read_text(encoding="utf-8") + f"\n\nAddendum {i}: one more sentence.\n")
        builder.build(settings, embedder)
        index = load_index(settings.index_dir)
        generations.append(index.manifest.generation)
        if i == 0:
            first, query = index, embedder.embed_queries(["Addendum"])
            answer_before = first.search(query, 3)
        del index
    lite = {p.name for p in settings.index_dir.glob("milvus-*.db")}
    # the first generation was still open here (a server answering from it): kept, and it still answers
    assert {f"milvus-{g}.db" for g in generations} == lite
    assert all((a == b).all() for a, b in zip(first.search(query, 3), answer_before, strict=True))
    del first
    gc.collect()
    doc.write_text(doc.read_text(encoding="utf-8") + "\n\nAddendum 3: the last.\n")
    builder.build(settings, embedder)
    now = load_index(settings.index_dir).manifest.generation
    lite = {p.name for p in settings.index_dir.glob("milvus-*.db")}
    assert lite == {f"milvus-{generations[-1]}.db", f"milvus-{now}.db"}


def test_a_lite_path_setting_puts_the_databases_there(tmp_path: Path) -> None:
    target = tmp_path / "vectors" / "cqbot.db"
    target.parent.mkdir()
    settings = _settings(tmp_path, FILES[:1], index_backend="milvus", milvus_uri=str(target))
    builder.build(settings, HashingEmbedder())
    index = load_index(settings.index_dir)  # no settings needed: the manifest says where
    assert index.manifest.milvus_uri == str(target)
    (mine,) = target.parent.iterdir()  # named by the index folder's tag and the generation
    assert mine.name.startswith("cqbot-") and mine.name.endswith(f"-{index.manifest.generation}.db")
    assert index.search(HashingEmbedder().embed_queries(["Chongqing"]), 2)[1][0][0] >= 0
    # another index folder with the same setting keeps its own databases beside, and drops none of these
    other = _settings(tmp_path / "other", FILES[:1], index_backend="milvus", milvus_uri=str(target))
    for _ in range(3):
        builder.build(other, HashingEmbedder(), full=True)
    assert mine.exists() and len(list(target.parent.iterdir())) == 3  # this one + the other's last two
    del index
    gc.collect()


def test_past_the_exact_limit_a_milvus_server_gets_ivf_lists_and_lite_stays_exact() -> None:
    vectors = np.zeros((5000, 8), dtype=np.float32)
    assert make_faiss(vectors, 1000, "milvus", "http://milvus:19530")[1] == f"milvus-ivf-{ivf_lists(5000)}"
    assert make_faiss(vectors, 1000, "milvus", "")[1] == "milvus-flat"  # Lite: FLAT at any size
    assert make_faiss(vectors, 5000, "milvus", "http://milvus:19530")[1] == "milvus-flat"


def test_a_missing_lite_database_says_to_rebuild(built: tuple[Index, Index], tmp_path: Path) -> None:
    _, index = built
    copy = tmp_path / "index"
    shutil.copytree(index.directory, copy)
    shutil.rmtree(copy / f"milvus-{index.manifest.generation}.db")
    with pytest.raises(IndexCorruptError) as err:
        load_index(copy)
    message = str(err.value)
    assert "\n" not in message and "is missing; run: cqbot build --full" in message


def test_a_lite_database_open_in_another_process_is_named(built: tuple[Index, Index], tmp_path: Path) -> None:
    """Milvus Lite locks its database to one process: `cqbot ask` beside a `cqbot serve` says so."""
    _, index = built
    copy = tmp_path / "index"
    shutil.copytree(index.directory, copy)
    holder = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        import numpy as np
        from cqbot.index import load_index
        index = load_index(Path({str(copy)!r}))
        index.search(np.zeros((1, index.manifest.dim), np.float32), 1)
        print("open", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
        other = load_index(copy)  # loading opens nothing yet (a build loads its previous index so)
        with pytest.raises(IndexMissingError) as err:
            other.search(np.zeros((1, other.manifest.dim), np.float32), 1)
        assert "is open in another process" in str(err.value) and "\n" not in str(err.value)
        # two rebuilds while it is open there: its database, older than the previous one, is kept
        held = Location(other.manifest.milvus_uri, copy).lite_path(other.manifest.generation)
        settings = load_settings(env={}, corpus_dir=index.directory.parent / "corpus", index_dir=copy)
        for _ in range(2):
            builder.build(settings.replace(index_backend="milvus"), HashingEmbedder(), full=True)
        assert held.exists()
    finally:
        proc.communicate("", timeout=30)


def test_without_pymilvus_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, FILES[:1], index_backend="milvus")
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(ConfigError, match=r"run: pip install 'cqbot\[scale\]'$"):
        builder.build(settings, HashingEmbedder())


class _Remembering:
    """An embedder that embeds each list of questions once: two bots asked the same, one model call."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.weights = inner, inner.name, inner.weights
        self.seen: dict[tuple[str, ...], np.ndarray] = {}

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self.inner.embed_passages(texts, progress=progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        key = tuple(texts)
        if key not in self.seen:
            self.seen[key] = self.inner.embed_queries(texts)
        return self.seen[key]


@pytest.mark.model
def test_milvus_and_faiss_bots_cite_the_same_sentences(  # type: ignore[no-untyped-def]
    real_settings: Settings,
    real_embedder,
    tmp_path: Path,
) -> None:
    """Every question of the locked evaluation set: the same citations from both backends."""
    from cqbot.evaluation.goldset import load_questions
    from cqbot.pipeline import Chatbot

    embedder = _Remembering(real_embedder)
    faiss_bot = Chatbot.from_settings(real_settings, embedder=embedder)
    shutil.copytree(real_settings.index_dir, tmp_path / "index")
    settings = real_settings.replace(index_dir=tmp_path / "index", index_backend="milvus")
    report = builder.build(settings, real_embedder)  # the real index's vectors into Milvus Lite
    assert report.embedded == 0 and load_index(settings.index_dir).manifest.backend == "milvus"
    milvus_bot = Chatbot.from_settings(settings, embedder=embedder)
    assert milvus_bot.index.manifest.backend == "milvus"
    questions, _ = load_questions(ROOT / "eval" / "locked.jsonl")
    differ = []
    for q in questions:
        want, got = faiss_bot.ask(q.question), milvus_bot.ask(q.question)
        if (want.answered, _cited(want.citations), _cited(want.closest)) != (
            got.answered,
            _cited(got.citations),
            _cited(got.closest),
        ):
            differ.append(q.id)
    assert not differ, f"{len(differ)} of {len(questions)} questions cited differently: {differ}"


def _cited(citations: Sequence[Citation]) -> list[tuple[str, int, int, str]]:
    return [(c.doc_id, c.start, c.end, c.quote) for c in citations]


def test_switching_the_backend_rewrites_the_index_without_embedding(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    settings = _settings(tmp_path)
    builder.build(settings, embedder)
    embedded = len(embedder.calls)
    to_milvus = settings.replace(index_backend="milvus")
    reasons = staleness.check(to_milvus, embedder.name, "none").reasons
    assert "index backend changed (faiss -> milvus)" in reasons
    report = builder.build(to_milvus, embedder)
    assert not report.up_to_date and report.embedded == 0 and len(embedder.calls) == embedded
    index = load_index(settings.index_dir)
    assert index.manifest.backend == "milvus"
    assert builder.build(to_milvus, embedder).up_to_date  # and now it is current
    del index
    gc.collect()  # closes the Lite database this process opened


def test_a_milvus_uri_with_credentials_is_refused_before_anything_is_embedded(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    settings = _settings(tmp_path, FILES[:1], index_backend="milvus", milvus_uri="http://u:p@milvus:19530")
    with pytest.raises(ConfigError, match="must not hold credentials"):
        builder.build(settings, embedder)
    assert embedder.calls == []
