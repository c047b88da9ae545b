"""Build and answer benchmark on the shipped corpus: prints the figures for benchmarks/RESULTS.md.

- build throughput (texts/s) of `cqbot build --full` next to the raw `encode` throughput of the
  same model on the same texts in the same run, and the pipeline overhead;
- incremental rebuild time with no change;
- answer quality and warm latency on the dev set, with the source text alone and with the full
  corpus (before / after the corpus grew).

Usage: python benchmarks/bench_build.py [--questions eval/dev_questions.jsonl]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from cqbot import builder
from cqbot.chunking import chunk_document
from cqbot.config import load_settings
from cqbot.corpus import read_corpus
from cqbot.evaluation import scoring as evaluation
from cqbot.evaluation.goldset import load_questions
from cqbot.index import load_index
from cqbot.model.embedding import passage_embedder
from cqbot.pipeline import Chatbot

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quality(bot: Chatbot, questions_path: Path) -> dict[str, float | None]:
    questions, _ = load_questions(questions_path)
    records = evaluation.run(bot.ask, questions, 3)
    return evaluation.metrics(records)["overall"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, default=ROOT / "eval" / "dev_questions.jsonl")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cqbot-bench-"))
    try:
        shutil.copytree(ROOT / "corpus", tmp / "corpus")
        settings = load_settings(env={}, corpus_dir=tmp / "corpus", index_dir=tmp / "index")
        embedder = passage_embedder(settings)  # what `cqbot build` uses
        embedder.embed_passages(["warm-up"])

        report = builder.build(settings, embedder, full=True)
        texts_embedded = report.embedded
        # the same texts, raw: what the model alone costs
        read = read_corpus(settings.corpus_dir)
        docs = {d.id: d for d in read.documents}
        chunks = [
            c for d in read.documents for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)
        ]
        _spans, _aligned, unit_texts = builder._sentence_table(chunks, docs, lambda _m: None)
        texts = list(dict.fromkeys(unit_texts))  # chunk vectors are pooled from these, not embedded
        t = time.perf_counter()
        embedder.embed_passages(texts)
        raw = time.perf_counter() - t
        t = time.perf_counter()
        again = builder.build(settings, embedder)
        nochange = time.perf_counter() - t
        assert again.up_to_date

        print("## Build (shipped corpus)")
        print(f"documents {report.documents}, chunks {report.chunks}, sentence units {report.sentences}")
        print(f"texts embedded by the build: {texts_embedded}; raw encode over {len(texts)} texts")
        print(
            f"build --full: {report.seconds:.2f} s ({texts_embedded / report.seconds:.1f} texts/s); "
            f"stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in report.timings.items())
        )
        print(f"raw encode:   {raw:.2f} s ({len(texts) / raw:.1f} texts/s)")
        print(f"pipeline overhead vs raw encode: {100 * (report.seconds - raw) / raw:+.1f} %")
        print(f"no-change rebuild: {nochange * 1000:.0f} ms")

        bot = Chatbot(settings, embedder, load_index(settings.index_dir))
        full = quality(bot, args.questions)
        only = tmp / "source-only"
        (only / "corpus").mkdir(parents=True)
        shutil.copy(ROOT / "corpus" / "chongqing-foreign-investment.de.md", only / "corpus")
        s2 = settings.replace(corpus_dir=only / "corpus", index_dir=only / "index")
        builder.build(s2, embedder)
        small = quality(Chatbot(s2, embedder, load_index(s2.index_dir)), args.questions)
        print(f"\n## Answers on {args.questions.name}: source text alone | full corpus")
        for key in (*evaluation.METRICS, "latency_p50_ms", "latency_p95_ms"):
            a, b = small.get(key), full.get(key)
            fa = "n/a" if a is None else f"{a:.3f}"
            fb = "n/a" if b is None else f"{b:.3f}"
            print(f"{key:20s} {fa:>8s} | {fb:>8s}")
        print(f"\npeak RSS of this process: {rss_mb():.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
