"""Scale benchmark: what build, memory, query time and answers cost as the corpus grows.

Sizes in --real are corpora of about that many chunks, made by gen_corpus.py (the real documents
hidden among generated distractors) and embedded for real: build throughput against raw `encode` on
the same texts, index size, peak RSS of the build and of a loaded bot, warm `ask` latency, no-change
rebuild, and dev-set citations among the distractors. The other sizes are vector counts for the
approximate index alone (make_faiss past the exact limit, so whatever cqbot uses there, with its
search knob swept; HNSW M=32 as a reference up to --hnsw-up-to), on synthetic vectors: perturbed
copies normalize(v + sigma * noise) of the real vectors of the first real size (random unit vectors
with --vectors random, or when there is no real size): build time, memory, single-query latency
(k=10), recall@10 against exact search and how often the exact nearest vector is among the 10 found.
Every measurement runs in a child process, so peak RSS is its own. The output is printed and
appended to benchmarks/scale-results.md.

--standin runs corpora of that many chunks through the whole pipeline with stand-in vectors instead of
the model: read, chunk, index and save, load, ask, no-change rebuild at sizes too large to embed here.

Usage: python benchmarks/bench_scale.py [--sizes 1k,10k,100k,1m] [--real 1k] [--standin 10k]
       [--vectors perturbed|random] [--hnsw-up-to 100k]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
from gen_corpus import generate, parse_size

from cqbot.evaluation.scoring import percentile

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "scale-results.md"
DEV = ROOT / "eval" / "dev_questions.jsonl"
LATENCY_SET = ROOT / "eval" / "questions.jsonl"
K = 10
EF_SEARCH = (128, 256, 512, 1024)
NPROBE = (16, 32, 64, 128, 256)
# the HNSW reference: cqbot's settings before it moved to IVF-Flat past the exact limit
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200


# ---- helpers shared by parent and children --------------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def pct(values: list[float], q: float) -> float:
    return percentile(values, q) or 0.0  # the evaluation's percentile (linear, like numpy)


def build_figures(report: Any, index_dir: Path) -> dict[str, Any]:
    """What a finished build reports, for the results table."""
    return dict(
        rss_build_mb=peak_rss_mb(), build_s=report.seconds, timings=report.timings,
        documents=report.documents, chunks=report.chunks, units=report.sentences,
        embedded=report.embedded, index_type=report.index_type, index_mb=dir_mb(index_dir),
    )  # fmt: skip


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fmt_size(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


# ---- children -------------------------------------------------------------------------------------


def child_build(job: dict[str, Any]) -> dict[str, Any]:
    """build --full, raw encode of the same texts, no-change rebuild; saves real vectors for later."""
    from cqbot import builder
    from cqbot.chunking import chunk_document
    from cqbot.config import load_settings
    from cqbot.corpus import read_corpus
    from cqbot.evaluation.goldset import load_questions
    from cqbot.index import load_index
    from cqbot.model.embedding import load_embedder

    settings = load_settings(env={}, corpus_dir=Path(job["corpus"]), index_dir=Path(job["index"]))
    t = time.perf_counter()
    embedder = load_embedder(settings)
    embedder.embed_passages(["warm-up"])
    out: dict[str, Any] = {"model_load_s": time.perf_counter() - t, "rss_model_mb": peak_rss_mb()}
    log(f"build --full of {job['corpus']}")
    report = builder.build(settings, embedder, full=True)
    out.update(build_figures(report, Path(job["index"])))
    read = read_corpus(settings.corpus_dir)
    docs = {d.id: d for d in read.documents}
    chunks = [
        c for d in read.documents for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)
    ]
    _spans, _aligned, unit_texts = builder._sentence_table(chunks, docs, lambda _m: None)
    texts = list(dict.fromkeys([c.text for c in chunks] + unit_texts))
    if 0 < job.get("raw_sample", 0) < len(texts):
        # a fixed random sample of the same texts: the raw rate without embedding everything twice
        pick = np.random.default_rng(0).choice(len(texts), size=job["raw_sample"], replace=False)
        texts = [texts[i] for i in sorted(pick)]
    log(f"raw encode of {len(texts)} of the same texts")
    t = time.perf_counter()
    embedder.embed_passages(texts)
    out.update(raw_s=time.perf_counter() - t, raw_texts=len(texts))
    t = time.perf_counter()
    again = builder.build(settings, embedder)
    out.update(nochange_s=time.perf_counter() - t, nochange_up_to_date=again.up_to_date)
    if job.get("save_vectors"):
        index = load_index(settings.index_dir)
        vectors = np.concatenate([index.chunk_vectors, index.sentence_vectors]).astype(np.float32)
        np.save(job["save_vectors"], vectors)
        questions = [q.question for path in (LATENCY_SET, DEV) for q in load_questions(path)[0]]
        np.save(job["save_queries"], embedder.embed_queries(questions))
    return out


class StandInEmbedder:
    """Vectors without the model: a perturbed real vector picked by the text's hash (same text, same vector).

    Measures everything a build and an answer cost besides the embedding; answers are meaningless.
    """

    def __init__(self, name: str, weights: str, base: np.ndarray, sigma: float) -> None:
        self.name, self.weights, self.dim = name, weights, int(base.shape[1])
        self._base, self._sigma = base, sigma

    def embed_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            noise = np.random.default_rng(h).standard_normal(self.dim, dtype=np.float32)
            v = self._base[h % len(self._base)] + self._sigma * noise
            out[i] = v / np.linalg.norm(v)
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)


def child_standin(job: dict[str, Any]) -> dict[str, Any]:
    """build --full and no-change rebuild with stand-in vectors: the pipeline's costs besides the model."""
    from cqbot import builder
    from cqbot.config import load_settings
    from cqbot.model.embedding import resolve_model

    settings = load_settings(env={}, corpus_dir=Path(job["corpus"]), index_dir=Path(job["index"]))
    embedder = StandInEmbedder(settings.model, resolve_model(settings)[1], np.load(job["base"]), job["sigma"])
    out: dict[str, Any] = {"standin": True, "rss_model_mb": peak_rss_mb()}
    log(f"build --full of {job['corpus']} with stand-in vectors")
    report = builder.build(settings, embedder, full=True)
    out.update(build_figures(report, Path(job["index"])))
    log("no-change rebuild")
    t = time.perf_counter()
    again = builder.build(settings, embedder)
    out.update(nochange_s=time.perf_counter() - t, nochange_up_to_date=again.up_to_date)
    return out


def child_bot(job: dict[str, Any]) -> dict[str, Any]:
    """Load the bot as `cqbot ask` does, answer one question (RSS), then latency, dev set, profile."""
    import cProfile
    import io
    import pstats

    from cqbot.config import load_settings
    from cqbot.evaluation import scoring as evaluation
    from cqbot.evaluation.goldset import load_questions
    from cqbot.pipeline import Chatbot

    settings = load_settings(env={}, corpus_dir=Path(job["corpus"]), index_dir=Path(job["index"]))
    latency_qs = [q.question for q in load_questions(LATENCY_SET)[0]][: job["n_latency"]]
    t = time.perf_counter()
    bot = Chatbot.from_settings(settings)
    out: dict[str, Any] = {"bot_load_s": time.perf_counter() - t}
    t = time.perf_counter()
    bot.ask(latency_qs[0])
    out.update(
        first_ask_ms=(time.perf_counter() - t) * 1000, rss_bot_mb=peak_rss_mb(), rss_bot_now_mb=rss_mb()
    )
    for q in latency_qs[1:4]:
        bot.ask(q)
    times = []
    for q in latency_qs:
        t = time.perf_counter()
        bot.ask(q)
        times.append((time.perf_counter() - t) * 1000)
    out.update(p50_ms=pct(times, 50), p95_ms=pct(times, 95), n_latency=len(times))
    # warm memory: after every question of both sets (and the latency passes above)
    warm = [q.question for path in (LATENCY_SET, DEV) for q in load_questions(path)[0]]
    for q in warm:
        bot.ask(q)
    out.update(
        rss_bot_warm_mb=rss_mb(), rss_bot_warm_peak_mb=peak_rss_mb(), asked=len(latency_qs) + 4 + len(warm)
    )
    # where the time goes, stage by stage, without the profiler's overhead
    stages: dict[str, list[float]] = {"embed question": [], "bm25 scores": [], "chunk search": []}
    stages["unit search"] = []
    retriever, index = bot.retriever, bot.index
    for q in latency_qs:
        t = time.perf_counter()
        qvec = bot.embedder.embed_queries([q])[0]
        t1 = time.perf_counter()
        retriever.lexical_scores(q)
        t2 = time.perf_counter()
        index.search(qvec[None, :], settings.dense_k)
        t3 = time.perf_counter()
        index.search_units(qvec, 50)
        t4 = time.perf_counter()
        for name, dt in zip(stages, (t1 - t, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stages[name].append(dt * 1000)
    out["stages_ms"] = {name: statistics.median(v) for name, v in stages.items()}
    if job.get("quality", True):
        questions, _ = load_questions(DEV)
        records = evaluation.run(bot.ask, questions, 3)
        overall = evaluation.metrics(records)["overall"]
        out.update({key: overall.get(key) for key in ("cite@1", "cite@k", "mrr", "answer_match")})
        first = [r["citations"][0]["doc_id"] for r in records if r.get("citations")]
        out["distractor_first"] = sum(1 for d in first if d.startswith("syn-"))
        out["answered"] = len(first)
    profiler = cProfile.Profile()
    bot.ask(job["profile_question"])
    profiler.enable()
    bot.ask(job["profile_question"])
    profiler.disable()
    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(22)
    text = buf.getvalue().replace(str(ROOT / ".venv"), "venv").replace(str(ROOT), ".")
    out["profile"] = "\n".join(line.rstrip() for line in text.splitlines() if line.strip())
    return out


def synthetic(n: int, source: str, sigma: float, seed: int, base: np.ndarray | None) -> np.ndarray:
    """n unit vectors: perturbed copies of `base` rows, or random ones; made in blocks (memory)."""
    rng = np.random.default_rng(seed)
    dim = 384 if base is None else base.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        noise = rng.standard_normal((b - a, dim), dtype=np.float32)
        if source == "perturbed" and base is not None:
            block = base[rng.integers(0, len(base), b - a)] + sigma * noise
        else:
            block = noise
        out[a:b] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _latency_recall(index: Any, queries: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Single-query latency, recall@10, and how often the exact nearest one is among the 10 found."""
    times, hits, top1 = [], 0, 0
    for i in range(len(queries)):
        t = time.perf_counter()
        _scores, rows = index.search(queries[i : i + 1], K)
        times.append((time.perf_counter() - t) * 1000)
        found = set(rows[0].tolist())
        hits += len(found & set(truth[i].tolist()))
        top1 += int(truth[i][0]) in found
    return {
        "p50_ms": pct(times, 50),
        "p95_ms": pct(times, 95),
        "recall": hits / truth.size,
        "top1": top1 / len(queries),
    }


def _knob(index: Any) -> tuple[str, int] | None:
    """The search-time knob of an approximate index: (name, current value)."""
    if hasattr(index, "nprobe"):
        return "nprobe", int(index.nprobe)
    if hasattr(index, "hnsw"):
        return "efSearch", int(index.hnsw.efSearch)
    return None


def _set_knob(index: Any, name: str, value: int) -> None:
    if name == "nprobe":
        index.nprobe = min(value, index.nlist)
    else:
        index.hnsw.efSearch = value


def _sweep(
    index: Any, kind: str, build_s: float, queries: np.ndarray, truth: np.ndarray, mark: str = "project"
) -> list[dict[str, Any]]:
    """Latency and recall at the index's own setting (marked) and at the other values tried."""
    import faiss

    knob = _knob(index)
    mb = len(faiss.serialize_index(index)) / 2**20
    if knob is None:
        return [{"variant": kind, "build_s": build_s, "mb": mb, **_latency_recall(index, queries, truth)}]
    name, own = knob
    values = sorted({own, *(NPROBE if name == "nprobe" else EF_SEARCH)})
    rows = []
    for value in values:
        _set_knob(index, name, value)
        label = f"{kind} {name}={value}" + (f" ({mark})" if value == own else "")
        rows.append(
            {"variant": label, "build_s": build_s, "mb": mb, **_latency_recall(index, queries, truth)}
        )
    _set_knob(index, name, own)
    return rows


def child_index(job: dict[str, Any]) -> dict[str, Any]:
    """Exact search vs the project's approximate index (make_faiss past the limit) on n synthetic
    vectors, with HNSW (M=32, efConstruction=200) as a reference up to `hnsw_up_to` vectors."""
    import faiss

    from cqbot.index import make_faiss

    n, source = job["n"], job["source"]
    base = np.load(job["base"]) if job.get("base") else None
    qbase = np.load(job["queries"]) if job.get("queries") else None
    vectors = synthetic(n, source, job["sigma"], job["seed"], base)
    if source == "perturbed" and qbase is not None:
        queries = synthetic(job["n_queries"], source, job["sigma"], job["seed"] + 1, qbase)
    else:
        queries = synthetic(job["n_queries"], "random", 0.0, job["seed"] + 1, None)
    dim = vectors.shape[1]
    out: dict[str, Any] = {"n": n, "source": source, "rss_vectors_mb": rss_mb(), "variants": []}
    log(f"{fmt_size(n)} {source}: exact search")
    flat = faiss.IndexFlatIP(dim)
    t = time.perf_counter()
    flat.add(vectors)
    add_s = time.perf_counter() - t
    _s, truth = flat.search(queries, K)
    threads = faiss.omp_get_max_threads()
    for label, count in ((f"{threads} threads", threads), ("1 thread", 1)):
        faiss.omp_set_num_threads(count)
        res = _latency_recall(flat, queries, truth)
        variant = {"variant": f"flat-ip (exact, {label})", "build_s": add_s, "mb": n * dim * 4 / 2**20}
        out["variants"].append({**variant, **res})
    faiss.omp_set_num_threads(threads)
    del flat
    rss0 = rss_mb()
    log(f"{fmt_size(n)} {source}: make_faiss past the exact limit")
    t = time.perf_counter()
    index, kind = make_faiss(vectors, exact_limit=0)
    build_s = time.perf_counter() - t
    out.update(kind=kind, build_s=build_s, index_rss_mb=rss_mb() - rss0)
    project = _sweep(index, kind, build_s, queries, truth)
    out["variants"] += project
    out["project"] = next((v for v in project if "(project)" in v["variant"]), project[0])
    del index
    if n <= job["hnsw_up_to"]:
        log(f"{fmt_size(n)} {source}: HNSW reference build")
        hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = EF_SEARCH[0]
        t = time.perf_counter()
        hnsw.add(vectors)
        hnsw_s = time.perf_counter() - t
        out["variants"] += _sweep(hnsw, f"hnsw-m{HNSW_M}", hnsw_s, queries, truth, "old default")
    out["peak_rss_mb"] = peak_rss_mb()
    return out


CHILDREN = {"build": child_build, "standin": child_standin, "bot": child_bot, "index": child_index}


def run_child(kind: str, job: dict[str, Any], work: Path) -> dict[str, Any]:
    job_file = work / f"job-{kind}-{time.monotonic_ns()}.json"
    job_file.write_text(json.dumps(job))
    result_file = job_file.with_suffix(".out.json")
    subprocess.run([sys.executable, __file__, "--child", kind, str(job_file), str(result_file)], check=True)
    result: dict[str, Any] = json.loads(result_file.read_text())
    return result


# ---- parent ---------------------------------------------------------------------------------------


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True
        )
        return head + (" (src/ modified)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> list[str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = next(
        int(line.split()[1]) / 2**20
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    import faiss
    import onnxruntime

    return [
        f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, {mem:.1f} GiB RAM, "
        f"no GPU; Python {platform.python_version()}, faiss {faiss.__version__}, "
        f"onnxruntime {onnxruntime.__version__}, faiss threads {faiss.omp_get_max_threads()}",
        f"- load average at start (1/5/15 min): {load_avg()}; niceness {os.nice(0)}; cqbot at {commit()}",
    ]


def real_size(
    n: int, args: argparse.Namespace, work: Path, save: bool, standin: bool = False
) -> dict[str, Any]:
    corpus = work / f"corpus-{fmt_size(n)}"
    if n == 0:
        shutil.copytree(ROOT / "corpus", corpus)
    else:
        generate(n, corpus, args.seed)
    job = {
        "corpus": str(corpus),
        "index": str(work / f"index-{fmt_size(n)}"),
        "n_latency": args.latency_questions,
        "profile_question": "How many foreign-invested enterprises are there in Chongqing?",
        "raw_sample": args.raw_sample,
    }
    if save:
        job.update(save_vectors=str(work / "real-vectors.npy"), save_queries=str(work / "query-vectors.npy"))
    if standin:
        base = work / "real-vectors.npy"
        if not base.exists():
            base = work / "random-vectors.npy"
            np.save(base, synthetic(10_000, "random", 0.0, args.seed, None))
        job.update(base=str(base), sigma=args.sigma, quality=False)
    load = load_avg()
    log(f"{'stand-in' if standin else 'real'} size {fmt_size(n)}: build")
    built = run_child("standin" if standin else "build", job, work)
    log(f"size {fmt_size(n)}: bot")
    bot = run_child("bot", job, work)
    shutil.rmtree(corpus, ignore_errors=True)
    return {"n": n, "load": f"{load} / {load_avg()}", **built, **bot}


def index_size(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    base = work / "real-vectors.npy"
    source = args.vectors if base.exists() else "random"
    job = {
        "n": n,
        "source": source,
        "sigma": args.sigma,
        "seed": args.seed,
        "base": str(base) if base.exists() else None,
        "queries": str(work / "query-vectors.npy") if base.exists() else None,
        "n_queries": args.queries,
        "hnsw_up_to": args.hnsw_up_to,
    }
    load = load_avg()
    result = run_child("index", job, work)
    return {"load": f"{load} / {load_avg()}", **result}


def exactness(index_type: str) -> str:
    return "exact" if all(part == "flat-ip" for part in index_type.split("+")) else "approximate"


def f(x: Any, spec: str = ".2f") -> str:
    return "n/a" if x is None else format(x, spec)


def table(rows: list[dict[str, Any]], sigma: float) -> list[str]:
    head = (
        "| size | what | vectors (chunks + units) | index | build s | build texts/s | raw encode texts/s "
        "| index MB | build peak RSS MB | bot peak RSS MB (1 question → warm) "
        "| query p50 / p95 ms | no-change rebuild s "
        "| cite@1 / cite@3 (dev) | recall@10 | load avg before / after |"
    )
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in rows:
        if "chunks" in r:
            size = "shipped" if r["n"] == 0 else fmt_size(r["n"])
            what, rate, raw = "real, e5 embedded", f"{r['embedded'] / r['build_s']:.1f}", "n/a"
            if r.get("standin"):
                what, rate = "stand-in vectors: pipeline without the model", "n/a"
            else:
                raw = f"{r['raw_texts'] / r['raw_s']:.1f}"
            lines.append(
                f"| {size} | {what} | {r['chunks']:,} + {r['units']:,} | {r['index_type']} "
                f"| {r['build_s']:.1f} | {rate} | {raw} "
                f"| {r['index_mb']:.1f} | {r['rss_build_mb']:.0f} "
                f"| {r['rss_bot_mb']:.0f} → {f(r.get('rss_bot_warm_peak_mb'), '.0f')} "
                f"| {r['p50_ms']:.1f} / {r['p95_ms']:.1f} (ask) | {r['nochange_s']:.2f} "
                f"| {f(r.get('cite@1'))} / {f(r.get('cite@k'))} | {exactness(r['index_type'])} "
                f"| {r['load']} |"
            )
        else:
            p = r["project"]
            what = f"synthetic {r['source']}" + (f" σ={sigma}" if r["source"] == "perturbed" else "")
            lines.append(
                f"| {fmt_size(r['n'])} | {what}, index + search only | {r['n']:,} vectors "
                f"| {p['variant'].replace(' (project)', '')} "
                f"| {r['build_s']:.1f} | n/a | n/a | {p['mb']:.0f} | {r['peak_rss_mb']:.0f} "
                f"| n/a | {p['p50_ms']:.2f} / {p['p95_ms']:.2f} (search k=10) | n/a | n/a "
                f"| {f(p.get('recall'), '.3f')} | {r['load']} |"
            )
    return lines


def details(rows: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for r in rows:
        if "chunks" in r:
            size = "shipped corpus" if r["n"] == 0 else f"{fmt_size(r['n'])} chunks"
            kind = "stand-in vectors" if r.get("standin") else "embedded"
            lines += [
                "",
                f"### {size}: {r['documents']} documents, {r['chunks']:,} chunks, {r['units']:,} units, "
                f"{r['embedded']:,} texts {kind}",
                "- build stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["timings"].items()),
            ]
            if not r.get("standin"):
                build_rate, raw_rate = r["embedded"] / r["build_s"], r["raw_texts"] / r["raw_s"]
                lines.append(
                    f"- build {build_rate:.1f} texts/s vs raw encode "
                    f"{raw_rate:.1f} texts/s on {r['raw_texts']:,} of the same texts: "
                    f"pipeline overhead {100 * (raw_rate / build_rate - 1):+.1f} % "
                    f"(build {r['build_s']:.1f} s, raw encode {r['raw_s']:.1f} s)"
                )
            lines += [
                f"- RSS: before the build {r['rss_model_mb']:.0f} MB, build peak {r['rss_build_mb']:.0f} MB; "
                f"bot (ONNX) after one ask: peak {r['rss_bot_mb']:.0f} MB, now {r['rss_bot_now_mb']:.0f} MB,"
                f" load {r['bot_load_s']:.2f} s, first ask {r['first_ask_ms']:.0f} ms; after "
                f"{r.get('asked', 'n/a')} questions: now {f(r.get('rss_bot_warm_mb'), '.0f')} MB, "
                f"peak {f(r.get('rss_bot_warm_peak_mb'), '.0f')} MB",
                f"- warm ask over {r['n_latency']} questions: p50 {r['p50_ms']:.1f} ms, "
                f"p95 {r['p95_ms']:.1f} ms; "
                "median per stage: " + ", ".join(f"{k} {v:.2f} ms" for k, v in r["stages_ms"].items()),
            ]
            if "cite@1" in r:
                lines.append(
                    f"- dev set: cite@1 {f(r['cite@1'])}, cite@3 {f(r['cite@k'])}, MRR {f(r['mrr'])}, "
                    f"answer match {f(r['answer_match'])}; first citation from a distractor in "
                    f"{r['distractor_first']} of {r['answered']} answers"
                )
            lines += [
                f"- no-change rebuild {r['nochange_s']:.2f} s (up to date: {r['nochange_up_to_date']})",
                "- profile of one warm ask (cProfile, cumulative):",
                "```",
                r["profile"],
                "```",
            ]
        else:
            lines += [
                "",
                f"### {fmt_size(r['n'])} synthetic vectors ({r['source']}): "
                f"vectors alone {r['rss_vectors_mb']:.0f} MB RSS; "
                f"{r['kind']} (make_faiss) build {r['build_s']:.1f} s, +{r['index_rss_mb']:.0f} MB RSS; "
                f"child peak {r['peak_rss_mb']:.0f} MB",
                "",
                "| variant | build s | size MB | p50 ms | p95 ms | recall@10 | nearest found |",
                "| --- | --- | --- | --- | --- | --- | --- |",
            ]
            for v in r["variants"]:
                lines.append(
                    f"| {v['variant']} | {v['build_s']:.1f} | {v['mb']:.0f} | {v['p50_ms']:.2f} "
                    f"| {v['p95_ms']:.2f} | {f(v.get('recall'), '.3f')} | {f(v.get('top1'), '.3f')} |"
                )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1k,10k,100k,1m", help="comma-separated: 1k, 10k, 100k, 1m …")
    ap.add_argument("--real", default="1k", help="which of the sizes to embed for real (chunks)")
    ap.add_argument(
        "--standin", default="", help="corpus sizes (chunks) through the whole pipeline with stand-in vectors"
    )
    ap.add_argument("--no-baseline", action="store_true", help="skip the shipped-corpus row")
    ap.add_argument("--vectors", choices=("perturbed", "random"), default="perturbed")
    ap.add_argument("--sigma", type=float, default=0.03, help="noise per dimension of perturbed copies")
    ap.add_argument("--queries", type=int, default=200, help="queries for recall and latency")
    ap.add_argument("--latency-questions", type=int, default=50)
    ap.add_argument(
        "--raw-sample",
        type=int,
        default=0,
        help="raw-encode baseline on this many of the build's texts (0: all of them, doubling the time)",
    )
    ap.add_argument(
        "--hnsw-up-to",
        type=parse_size,
        default=100_000,
        help="build the HNSW reference up to this many vectors (1m takes about 15 min on 2 cores)",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    real = {parse_size(s) for s in args.real.split(",") if s.strip()}
    standin = {parse_size(s) for s in args.standin.split(",") if s.strip()}
    if not real <= set(sizes):
        sys.exit(f"error: --real {args.real} names sizes that --sizes {args.sizes} lacks")
    work = args.work or Path(tempfile.mkdtemp(prefix="cqbot-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    lines = [
        "",
        f"## bench_scale.py {' '.join(sys.argv[1:])} ({time.strftime('%Y-%m-%d %H:%M')})",
        *machine(),
    ]
    print("\n".join(lines), flush=True)
    rows: list[dict[str, Any]] = []
    try:
        order = ([0] if real and not args.no_baseline else []) + sorted(real)
        jobs = [("real", n) for n in order] + [("standin", n) for n in sorted(standin)]
        jobs += [("index", n) for n in sorted(set(sizes) - real)]
        for i, (kind, n) in enumerate(jobs):
            try:
                if kind == "real":
                    rows.append(real_size(n, args, work, save=n == min(real)))
                elif kind == "standin":
                    rows.append(real_size(n, args, work, save=False, standin=True))
                else:
                    rows.append(index_size(n, args, work))
            except subprocess.CalledProcessError as exc:
                log(f"{kind} {fmt_size(n)} failed ({exc}); going on with the next size")
            log(f"done {kind} {fmt_size(n)} ({i + 1}/{len(jobs)})")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    body = [
        f"- load average at end: {load_avg()}; total {(time.time() - started) / 60:.1f} min",
        "",
        *table(rows, args.sigma),
        *details(rows),
    ]
    print("\n".join(body), flush=True)
    with open(args.out, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines + body) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        job_in = json.loads(Path(sys.argv[3]).read_text())
        result_out = CHILDREN[sys.argv[2]](job_in)
        Path(sys.argv[4]).write_text(json.dumps(result_out))
    else:
        main()
