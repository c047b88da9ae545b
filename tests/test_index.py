"""Index and build plumbing with the fake embedder: incremental builds, atomic writes, clear errors."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cqbot import builder, staleness
from cqbot.config import Settings
from cqbot.errors import CorpusError, IndexCorruptError, IndexMismatchError, IndexMissingError
from cqbot.index import load_index, make_faiss, read_manifest
from fakes import HashingEmbedder

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _copy_corpus(settings: Settings) -> None:
    shutil.rmtree(settings.corpus_dir)
    shutil.copytree(CORPUS, settings.corpus_dir)


def test_second_build_reembeds_nothing(tmp_settings: Settings, fake_embedder: HashingEmbedder) -> None:
    _copy_corpus(tmp_settings)
    first = builder.build(tmp_settings, fake_embedder)
    assert first.documents >= 1 and first.chunks >= 1 and first.embedded > 0
    calls = len(fake_embedder.calls)
    second = builder.build(tmp_settings, fake_embedder)
    assert second.up_to_date and second.embedded == 0
    assert len(fake_embedder.calls) == calls  # the embedder was not even called


def test_changed_file_reembeds_only_its_changed_text(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    _copy_corpus(tmp_settings)
    builder.build(tmp_settings, fake_embedder)
    path = tmp_settings.corpus_dir / "chongqing-foreign-investment.de.md"
    text = path.read_text(encoding="utf-8")
    new_sentence = "Diese Zahl ist ein Beispiel für einen geänderten Satz."
    path.write_text(text.replace("Zukünftig will", new_sentence + " Zukünftig will"), encoding="utf-8")
    report = builder.build(tmp_settings, fake_embedder)
    assert report.changed == ("chongqing-foreign-investment.de.md",)
    # the new sentence, the paragraph chunk holding it; the other chunks and sentences are reused
    assert 1 <= report.embedded <= 3
    assert report.reused > 100
    index = load_index(tmp_settings.index_dir)
    assert any(new_sentence in c.text for c in index.chunks)


def test_touch_without_change_reembeds_nothing(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    _copy_corpus(tmp_settings)
    builder.build(tmp_settings, fake_embedder)
    path = tmp_settings.corpus_dir / "chongqing-foreign-investment.de.md"
    path.write_bytes(path.read_bytes())
    assert builder.build(tmp_settings, fake_embedder).up_to_date


def test_added_and_removed_files(tmp_settings: Settings, fake_embedder: HashingEmbedder) -> None:
    corpus = tmp_settings.corpus_dir
    (corpus / "a.md").write_text("---\nid: a\ntitle: A\nlang: en\n---\nAlpha one. Alpha two.\n")
    (corpus / "b.md").write_text("---\nid: b\ntitle: B\nlang: en\n---\nBravo one. Bravo two.\n")
    builder.build(tmp_settings, fake_embedder)
    (corpus / "b.md").unlink()
    (corpus / "c.md").write_text("---\nid: c\ntitle: C\nlang: en\n---\nCharlie one.\n")
    stale = staleness.check(tmp_settings, fake_embedder.name, fake_embedder.weights)
    assert stale.stale and stale.added == ("c.md",) and stale.removed == ("b.md",)
    report = builder.build(tmp_settings, fake_embedder)
    assert report.added == ("c.md",) and report.removed == ("b.md",)
    assert set(load_index(tmp_settings.index_dir).documents) == {"a", "c"}
    assert not staleness.check(tmp_settings, fake_embedder.name, fake_embedder.weights).stale


def test_bad_files_are_skipped_and_counted(tmp_settings: Settings, fake_embedder: HashingEmbedder) -> None:
    corpus = tmp_settings.corpus_dir
    (corpus / "good.md").write_text("---\nid: good\ntitle: Good\nlang: en\n---\nA usable sentence.\n")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    (corpus / "latin1.txt").write_bytes("Gr\xfc\xdfe aus K\xf6ln".encode("latin-1"))
    (corpus / "empty.txt").write_text("")
    warnings: list[str] = []
    report = builder.build(tmp_settings, fake_embedder, warn=warnings.append)
    assert report.documents == 1
    assert {p for p, _ in report.skipped} == {"broken.pdf", "latin1.txt", "empty.txt"}
    assert len(warnings) == 3 and all(w.startswith("skipped ") for w in warnings)


def test_nothing_usable_is_an_error(tmp_settings: Settings, fake_embedder: HashingEmbedder) -> None:
    (tmp_settings.corpus_dir / "empty.txt").write_text("  \n")
    with pytest.raises(CorpusError, match="no usable document"):
        builder.build(tmp_settings, fake_embedder)


def test_interrupted_build_keeps_previous_index(
    tmp_settings: Settings, fake_embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _copy_corpus(tmp_settings)
    builder.build(tmp_settings, fake_embedder)
    before = read_manifest(tmp_settings.index_dir)
    (tmp_settings.corpus_dir / "new.md").write_text("---\nid: new\ntitle: N\nlang: en\n---\nNew text here.\n")

    import cqbot.index as index_module

    calls = {"n": 0}
    original = index_module._write_atomic

    def dying_write(path: Path, write: Callable[[Path], object]) -> None:
        calls["n"] += 1
        if calls["n"] == 4:  # some files of the new generation are written, the manifest is not
            raise KeyboardInterrupt
        original(path, write)

    monkeypatch.setattr(index_module, "_write_atomic", dying_write)
    with pytest.raises(KeyboardInterrupt):
        builder.build(tmp_settings, fake_embedder)
    monkeypatch.undo()
    after = load_index(tmp_settings.index_dir)
    assert after.manifest.generation == before.generation
    assert "new" not in after.documents


def test_index_errors_say_what_to_run(tmp_settings: Settings, fake_embedder: HashingEmbedder) -> None:
    with pytest.raises(IndexMissingError, match="cqbot build"):
        load_index(tmp_settings.index_dir)
    (tmp_settings.corpus_dir / "a.md").write_text("---\nid: a\ntitle: A\nlang: en\n---\nAlpha.\n")
    builder.build(tmp_settings, fake_embedder)
    with pytest.raises(IndexMismatchError, match="built with model"):
        load_index(tmp_settings.index_dir, model="another/model")
    with pytest.raises(IndexMismatchError, match="dimension"):
        load_index(tmp_settings.index_dir, dim=999)
    gen = read_manifest(tmp_settings.index_dir).generation
    (tmp_settings.index_dir / f"vectors-{gen}.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="cqbot build --full"):
        load_index(tmp_settings.index_dir)
    (tmp_settings.index_dir / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError):
        load_index(tmp_settings.index_dir)


def test_model_change_forces_full_rebuild(tmp_settings: Settings) -> None:
    (tmp_settings.corpus_dir / "a.md").write_text("---\nid: a\ntitle: A\nlang: en\n---\nAlpha. Beta.\n")
    builder.build(tmp_settings, HashingEmbedder(dim=64))
    other = HashingEmbedder(dim=32, name="other-embedder")
    report = builder.build(tmp_settings, other)
    assert report.reused == 0 and report.embedded > 0
    assert read_manifest(tmp_settings.index_dir).dim == 32


def test_approximate_index_past_threshold_has_high_recall() -> None:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(200, 48))  # clustered, like sentence vectors of a real corpus
    base = (centres[rng.integers(0, 200, 20_000)] + 0.6 * rng.normal(size=(20_000, 48))).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    exact, kind_exact = make_faiss(base, exact_limit=100_000)
    approx, kind_approx = make_faiss(base, exact_limit=5_000)
    assert kind_exact == "flat-ip" and kind_approx.startswith("ivf-sq8")
    queries = base[:200] + 0.1 * rng.normal(size=(200, 48)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    _, truth = exact.search(queries, 10)
    _, found = approx.search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.95


def test_manifest_records_what_the_index_was_built_from(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    (tmp_settings.corpus_dir / "a.md").write_text("---\nid: a\ntitle: A\nlang: en\n---\nAlpha. Beta.\n")
    builder.build(tmp_settings, fake_embedder)
    data = json.loads((tmp_settings.index_dir / "manifest.json").read_text())
    for key in (
        "model",
        "weights",
        "dim",
        "chunk_size",
        "chunk_overlap",
        "files",
        "chunks",
        "cqbot_version",
        "built_at",
        "index_type",
    ):
        assert key in data
    assert data["files"]["a.md"] and len(data["files"]["a.md"]) == 64


KILLED_BUILDER = """
import sys
from pathlib import Path
from cqbot import builder
from cqbot.config import load_settings
from fakes import HashingEmbedder
settings = load_settings(env={}, corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]))
print("ready", flush=True)
while True:  # full rebuilds until killed: the kill lands at a different stage each time
    builder.build(settings, HashingEmbedder(), full=True)
"""


def test_killed_build_leaves_a_loadable_index(tmp_settings: Settings, fake_embedder: HashingEmbedder) -> None:
    import signal
    import subprocess
    import sys
    import time

    corpus = tmp_settings.corpus_dir
    for i in range(150):
        (corpus / f"doc{i}.md").write_text(
            f"---\nid: doc{i}\ntitle: Doc {i}\nlang: en\n---\n" + f"Sentence {i} about topic {i % 7}. " * 40
        )
    builder.build(tmp_settings, fake_embedder)
    for delay in (0.3, 0.7, 1.1, 1.6, 2.2):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_BUILDER, str(corpus), str(tmp_settings.index_dir)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},  # for fakes
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        index = load_index(tmp_settings.index_dir)  # never half-written: the old or a complete new one
        assert len(index.documents) == 150 and index.faiss_index.ntotal == len(index.chunks)


def test_lexical_index_is_stored_with_the_build(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    from cqbot.lexical import build_lexical, tokenize
    from cqbot.retrieval import Retriever

    _copy_corpus(tmp_settings)
    builder.build(tmp_settings, fake_embedder)
    index = load_index(tmp_settings.index_dir)
    assert index.lexical_dir() is not None
    stored = Retriever(index, tmp_settings)
    for question in ("33618", "8.753 Unternehmen", "重庆外资企业", "Invest in Chongqing"):
        fresh = build_lexical(index.chunks)
        tokens = [t for t in tokenize(question) if t in fresh.vocab_dict]
        expected = fresh.get_scores(tokens) if tokens else np.zeros(len(index.chunks))
        assert np.allclose(stored.lexical_scores(question), expected, atol=1e-5)


def test_ivf_index_round_trips_through_save_and_load(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    _copy_corpus(tmp_settings)
    settings = tmp_settings.replace(exact_search_limit=10)
    report = builder.build(settings, fake_embedder)
    assert report.index_type.startswith("ivf-sq8")
    index = load_index(settings.index_dir)
    assert index.manifest.index_type == report.index_type and index.faiss_index.nprobe >= 1
    query = fake_embedder.embed_queries(["Chongqing beherbergt aktuell 8.753 Unternehmen"])[0]
    _, rows = index.search(query[None, :], 3)
    # the approximate search finds what an exact scan of the stored vectors finds first (which chunk
    # that is depends on the fake embedder's hashing, not on the index)
    exact = int(np.argmax(index.chunk_vectors.read_all() @ query))
    assert exact in {int(r) for r in rows[0]}


def test_chunk_vectors_are_pooled_from_their_sentences(
    tmp_settings: Settings, fake_embedder: HashingEmbedder
) -> None:
    _copy_corpus(tmp_settings)
    report = builder.build(tmp_settings, fake_embedder)
    # sentences and clauses are embedded, chunks are not
    assert sum(fake_embedder.calls) == report.embedded < report.sentences + report.chunks
    index = load_index(tmp_settings.index_dir)
    sentences, chunks = index.sentence_vectors.read_all(), index.chunk_vectors.read_all()
    for row in (0, len(index.chunks) // 2, len(index.chunks) - 1):
        chunk = index.chunks[row]
        want = np.zeros(fake_embedder.dim, dtype=np.float32)
        for unit, (r, start, end) in enumerate(index.sentence_spans.tolist()):
            if r == row and (start, end) in chunk.sentences:  # the sentence, not its clauses
                want += (end - start) * sentences[unit]
        assert np.allclose(chunks[row], want / np.linalg.norm(want), atol=1e-5)


def test_a_chunk_without_sentences_gets_no_pooled_vector() -> None:
    from cqbot.records import Chunk

    chunks = [Chunk("a", "d", "Eins. Zwei.", 0, 11, ((0, 5), (6, 11))), Chunk("b", "d", "", 11, 11, ())]
    spans = np.array([[0, 0, 5], [0, 6, 11], [0, 6, 9]])  # two sentences and a clause of the second
    vectors = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    pooled = builder.chunk_vectors_from_sentences(chunks, spans, vectors, 2)
    assert np.allclose(pooled[0], [5 / np.hypot(5, 5), 5 / np.hypot(5, 5)])
    assert not pooled[1].any()  # none of its own (chunk_document never makes such a chunk)
