"""FAISS vs Milvus Lite as the index backend: question latency and vector search alone.

1. The shipped corpus: index/ is copied to a temporary folder twice, one copy rewritten with its vectors
   in Milvus Lite (no embedding); the questions of eval/questions.jsonl are asked of both bots in turn:
   p50/p95 of the whole `bot.ask`, and of the vector search alone (the chunk search, k = dense_k, and the
   sentence-unit search, k = UNIT_K, that each question makes), with the question vectors made once.
2. 100k synthetic vectors (dim 384, random, normalised): single-query exact search (k = 10 and 30),
   FAISS IndexFlatIP vs Milvus Lite FLAT: write time, p50/p95, how often the top 10 are FAISS's.
   (Random vectors have no clusters, so they say nothing about IVF recall: bench_scale.py measures that.)

Usage: python benchmarks/bench_milvus.py [--questions 138] [--n 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from cqbot import builder
from cqbot.config import Settings, load_settings
from cqbot.evaluation.goldset import load_questions
from cqbot.evaluation.scoring import percentile
from cqbot.faiss_store import single_threaded_search
from cqbot.index import make_faiss
from cqbot.milvus import store as milvus_store
from cqbot.milvus.client import Location
from cqbot.model.embedding import passage_embedder
from cqbot.pipeline import Chatbot
from cqbot.records import Chunk
from cqbot.retrieval import UNIT_K

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "questions.jsonl"
DIM = 384


def pct(values: list[float], q: float) -> float:
    return percentile(values, q) or 0.0  # the evaluation's percentile (linear, like numpy)


def ms(values: list[float]) -> str:
    return f"p50 {1000 * pct(values, 50):7.2f} ms   p95 {1000 * pct(values, 95):7.2f} ms"


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def to_milvus(settings: Settings) -> float:
    """The index in settings.index_dir rewritten with its vectors in Milvus Lite (none embedded); seconds."""
    t0 = time.perf_counter()
    builder.build(settings.replace(index_backend="milvus"), passage_embedder(settings))
    return time.perf_counter() - t0


def shipped_corpus(base: Path, limit: int) -> None:
    shutil.copytree(ROOT / "index", base / "faiss")
    shutil.copytree(ROOT / "index", base / "milvus")
    settings = load_settings(corpus_dir=ROOT / "corpus", index_dir=base / "faiss")
    faiss_bot = Chatbot.from_settings(settings)
    seconds = to_milvus(settings.replace(index_dir=base / "milvus"))
    milvus_bot = Chatbot.from_settings(
        settings.replace(index_dir=base / "milvus"), embedder=faiss_bot.embedder
    )
    m = milvus_bot.index.manifest
    print(
        f"shipped corpus: {m.chunks} chunks, {m.sentences} sentence units; to Milvus Lite in {seconds:.1f} s"
    )
    questions = [q.question for q in load_questions(QUESTIONS)[0]][:limit]
    bots = {"faiss": faiss_bot, "milvus-lite": milvus_bot}
    for bot in bots.values():  # warm: model, caches, the Lite database opened at its first search
        for q in questions[:3]:
            bot.ask(q)
    ask: dict[str, list[float]] = {name: [] for name in bots}
    same = 0
    for q in questions:  # in turn, so both see the same load from whatever else runs on the machine
        got = []
        for name, bot in bots.items():
            t0 = time.perf_counter()
            answer = bot.ask(q)
            ask[name].append(time.perf_counter() - t0)
            got.append([(c.doc_id, c.start, c.end) for c in answer.citations])
        same += got[0] == got[1]
    vectors = faiss_bot.embedder.embed_queries(questions)
    k = settings.dense_k
    search: dict[str, list[float]] = {name: [] for name in bots}
    for qvec in vectors:
        for name, bot in bots.items():
            idx = bot.index
            search[name].append(
                timed(lambda i=idx, v=qvec: (i.search(v[None, :], k), i.search_units(v, UNIT_K)))
            )
    print(f"  {len(questions)} questions (eval/questions.jsonl), same citations from both: {same}")
    for name in bots:
        print(f"  {name:12s} bot.ask        {ms(ask[name])}")
    for name in bots:
        print(f"  {name:12s} vector search  {ms(search[name])}   (chunks k={k} + units k={UNIT_K})")


def synthetic(base: Path, n: int, queries: int) -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((n, DIM), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    qs = rng.standard_normal((queries, DIM), dtype=np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    print(f"{n:,} synthetic vectors, dim {DIM}, {queries} single-vector queries, exact search")
    t0 = time.perf_counter()
    exact, kind = make_faiss(data, n)
    faiss_write = time.perf_counter() - t0
    plan, mkind = make_faiss(data, n, "milvus")
    location = Location(str(base / "bench.db"), base)
    chunks = [Chunk(f"c{i}", f"doc{i // 20}", "", 0, 0, ()) for i in range(n)]
    no_units = np.zeros((0, 3), np.int64), np.zeros((0, DIM), np.float32)
    t0 = time.perf_counter()
    prefix = milvus_store.write_generation(location, "g", chunks, data, *no_units, (plan, plan))
    milvus_write = time.perf_counter() - t0
    lite, _ = milvus_store.open_generation(location, "g", prefix, (n, 0), (mkind, mkind))
    size = sum(f.stat().st_size for f in location.lite_path("g").rglob("*") if f.is_file()) / 2**20
    truth = exact.search(qs, 10)[1]
    for name, idx, write in (
        ("faiss " + kind, exact, faiss_write),
        ("milvus-lite " + mkind, lite, milvus_write),
    ):
        idx.search(qs[:2], 10)  # warm (Lite: opens the database)
        rows = np.concatenate([idx.search(q[None, :], 10)[1] for q in qs])
        same = np.mean([list(r) == list(t) for r, t in zip(rows, truth, strict=True)])
        for k in (10, 30):
            lat = [timed(lambda q=q, k=k, i=idx: i.search(q[None, :], k)) for q in qs]
            print(f"  {name:24s} k={k:2d}  {ms(lat)}   same top 10: {same:.0%}   written in {write:5.1f} s")
    print(f"  Milvus Lite database on disk: {size:.0f} MB (float32 vectors: {n * DIM * 4 / 2**20:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=138)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    single_threaded_search()  # as the bot does
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (load average "
        f"{os.getloadavg()[0]:.1f}), faiss single-threaded, Milvus Lite {_version('milvus-lite')} "
        f"through pymilvus {_version('pymilvus')} (in-process gRPC server)"
    )
    base = Path(tempfile.mkdtemp(prefix="cqbot-milvus-"))
    try:
        shipped_corpus(base, args.questions)
        synthetic(base, args.n, args.queries)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
