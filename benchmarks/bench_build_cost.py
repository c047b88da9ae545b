"""What a cqbot build costs next to a plain index of the same files with the same model.

The plain index is what a LangChain + FAISS tutorial builds: every file's raw text cut by LangChain's
RecursiveCharacterTextSplitter into 500-character chunks (50 characters overlap), embedded with
sentence-transformers (what LangChain's HuggingFaceEmbeddings calls: `encode`, batches of 32, no
prompt), added to a FAISS IndexFlatIP and written to disk. cqbot's side is `cqbot build --full` into an
empty folder. Each side runs in a fresh process (model loading counts on both sides, as for a user),
one after the other, on the same files; the ratio is cqbot's wall time over the plain index's.

--cqbot-src runs cqbot from another checkout's src/ (to measure an earlier version the same way).
--generated N adds a corpus of about N chunks made by gen_corpus.py (seed 7), the real files among
generated look-alikes.

Usage: python benchmarks/bench_build_cost.py [--generated 1000] [--cqbot-src /path/to/old/src]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAIN_CHUNK = 500
PLAIN_OVERLAP = 50


def plain_index(corpus: Path, out: Path) -> None:
    """The plain index, run in its own process (see --plain)."""
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from sentence_transformers import SentenceTransformer

    from cqbot.config import load_settings
    from cqbot.model.embedding import quiet_hub, resolve_model

    quiet_hub()
    splitter = RecursiveCharacterTextSplitter(chunk_size=PLAIN_CHUNK, chunk_overlap=PLAIN_OVERLAP)
    texts = []
    for path in sorted(corpus.rglob("*")):
        if path.is_file() and path.suffix in (".md", ".txt"):
            texts.extend(splitter.split_text(path.read_text(encoding="utf-8")))
    model = SentenceTransformer(resolve_model(load_settings(env={}))[0], device="cpu")
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    faiss.write_index(index, str(out / "plain.faiss"))
    print(f"plain: {len(texts)} chunks", file=sys.stderr)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return seconds, (done.stdout + done.stderr).strip().splitlines()[-1]


def compare(name: str, corpus: Path, work: Path, cqbot_src: Path) -> str:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error", TOKENIZERS_PARALLELISM="false")
    out = work / f"plain-{name}"
    out.mkdir()
    plain_s, plain_line = timed([sys.executable, __file__, "--plain", str(corpus), str(out)], env)
    env.update(CQBOT_CORPUS_DIR=str(corpus), CQBOT_INDEX_DIR=str(work / f"index-{name}"))
    env["PYTHONPATH"] = str(cqbot_src)  # the cqbot being timed (the plain index uses this checkout)
    cqbot_s, cqbot_line = timed([sys.executable, "-m", "cqbot", "build", "--full", "--quiet"], env)
    return (
        f"| {name} | {plain_s:.1f} ({plain_line}) | {cqbot_s:.1f} ({cqbot_line}) | "
        f"**{cqbot_s / plain_s:.2f}x** |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plain", nargs=2, type=Path, metavar=("CORPUS", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--generated", type=int, default=0, help="also a generated corpus of ~N chunks")
    ap.add_argument("--cqbot-src", type=Path, default=ROOT / "src", help="the src/ of the cqbot to time")
    args = ap.parse_args()
    if args.plain:
        plain_index(*args.plain)
        return
    work = Path(tempfile.mkdtemp(prefix="cqbot-cost-"))
    try:
        rows = [compare("shipped corpus", ROOT / "corpus", work, args.cqbot_src)]
        if args.generated:
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from gen_corpus import generate

            generate(args.generated, work / "generated", seed=7)
            name = f"generated ~{args.generated} chunks"
            rows.append(compare(name, work / "generated", work, args.cqbot_src))
        print(f"cqbot from {args.cqbot_src}; {os.cpu_count()} CPUs; load average {os.getloadavg()}")
        print("| corpus | plain index s | cqbot build --full s | ratio |")
        print("| --- | --- | --- | --- |")
        print("\n".join(rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
