"""Make a large corpus for the scale benchmark: the real documents hidden among generated distractors.

Distractors recombine sentences of the shipped corpus/ (same language), with the city, years and
other numbers varied: "Chengdu hat 4.211 Unternehmen …" next to the real "Chongqing hat 8.753 …".
Files are .md with front matter (id, title, lang, kind: summary), about N chunks in total (counted
with cqbot's own chunker), spread over part-NNN/ folders with the real files copied in at random
places. The same N and seed always give the same files.

Usage: python benchmarks/gen_corpus.py 1000 /tmp/corpus-1k [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from cqbot.chunking import chunk_document, paragraphs, split_sentences
from cqbot.config import Settings
from cqbot.corpus import read_corpus
from cqbot.records import Document

ROOT = Path(__file__).resolve().parents[1]
FILES_PER_PART = 1000
PARAGRAPH_MAX = 880  # under the 900-character chunk size: one paragraph is about one chunk
PARAGRAPH_MIN = 320  # over a third of it, so paragraphs do not merge

# Other Chinese cities, as each language writes them (Russian: the nominative, the word replaced whole).
CITIES = {
    "latin": [
        "Chengdu", "Wuhan", "Xi'an", "Kunming", "Guiyang", "Nanning", "Changsha", "Hefei", "Zhengzhou",
        "Lanzhou", "Tianjin", "Qingdao", "Shenyang", "Harbin", "Nanjing", "Hangzhou", "Xiamen", "Dalian",
        "Ningbo", "Suzhou",
    ],
    "zh": [
        "成都", "武汉", "西安", "昆明", "贵阳", "南宁", "长沙", "合肥", "郑州", "兰州",
        "天津", "青岛", "沈阳", "哈尔滨", "南京", "杭州", "厦门", "大连", "宁波", "苏州",
    ],
    "ja": [
        "成都", "武漢", "西安", "昆明", "貴陽", "南寧", "長沙", "合肥", "鄭州", "蘭州",
        "天津", "青島", "瀋陽", "ハルビン", "南京", "杭州", "廈門", "大連", "寧波", "蘇州",
    ],
    "ru": [
        "Чэнду", "Ухань", "Сиань", "Куньмин", "Гуйян", "Наньнин", "Чанша", "Хэфэй", "Чжэнчжоу", "Ланьчжоу",
        "Тяньцзинь", "Циндао", "Шэньян", "Харбин", "Нанкин", "Ханчжоу", "Сямынь", "Далянь", "Нинбо", "Сучжоу",
    ],
}  # fmt: skip
_CITY_PATTERN = {
    "latin": re.compile(r"Chongqing"),
    "zh": re.compile(r"重庆|重慶"),
    "ja": re.compile(r"重慶|重庆"),
    "ru": re.compile(r"Чунцин\w*"),
}
_NUMBER = re.compile(r"(?<![\d.,])\d+(?:[.,\u00a0\u202f ]\d{3})*(?:[.,]\d+)?(?![\d])")
_YEAR = re.compile(r"(?:19[5-9]\d|20[0-4]\d)")


def _script(lang: str) -> str:
    return lang if lang in ("zh", "ja", "ru") else "latin"


@dataclass(frozen=True)
class Pool:
    """Sentences and titles of one language, from the real documents."""

    lang: str
    sentences: tuple[str, ...]
    titles: tuple[str, ...]


def load_pools(corpus_dir: Path) -> list[Pool]:
    """Sentences (20-600 characters) and titles of the real documents, grouped by language."""
    read = read_corpus(corpus_dir)
    sentences: dict[str, list[str]] = {}
    titles: dict[str, list[str]] = {}
    for doc in sorted(read.documents, key=lambda d: d.path):
        bucket = sentences.setdefault(doc.lang, [])
        for a, b in paragraphs(doc.text):
            for s, e in split_sentences(doc.text, a, b):
                text = " ".join(doc.text[s:e].split())
                if 20 <= len(text) <= 600 and not text.startswith("#"):
                    bucket.append(text)
        titles.setdefault(doc.lang, []).append(doc.title)
    return [Pool(lang, tuple(sentences[lang]), tuple(titles[lang])) for lang in sorted(sentences)]


def vary(text: str, lang: str, city: str, rng: random.Random) -> str:
    """The text about `city` instead of Chongqing, with every year and other number changed."""
    text = _CITY_PATTERN[_script(lang)].sub(city, text)

    def number(m: re.Match[str]) -> str:
        s = m.group()
        if _YEAR.fullmatch(s):
            return str(rng.randint(2003, 2025))
        digits = [str(rng.randint(0, 9)) if c.isdigit() else c for c in s]
        if digits[0] == "0" and len([c for c in s if c.isdigit()]) > 1:
            digits[0] = str(rng.randint(1, 9))
        return "".join(digits)

    return _NUMBER.sub(number, text)


def distractor(pool: Pool, rng: random.Random) -> tuple[str, str]:
    """(title, body) of one generated document of 1-5 paragraphs."""
    city = rng.choice(CITIES[_script(pool.lang)])
    title = vary(rng.choice(pool.titles), pool.lang, city, rng)
    sep = "" if pool.lang in ("zh", "ja") else " "
    paras = []
    for _ in range(rng.randint(1, 5)):
        target = rng.randint(PARAGRAPH_MIN, PARAGRAPH_MAX)
        parts: list[str] = []
        length = 0
        for _try in range(40):
            sentence = vary(rng.choice(pool.sentences), pool.lang, city, rng)
            if length + len(sentence) + 1 > PARAGRAPH_MAX:
                continue
            parts.append(sentence)
            length += len(sentence) + len(sep)
            if length >= target:
                break
        paras.append(sep.join(parts))
    return title, "\n\n".join(paras)


def front_matter(doc_id: str, title: str, lang: str) -> str:
    return (
        f"---\nid: {doc_id}\ntitle: {json.dumps(title, ensure_ascii=False)}\nlang: {lang}\n"
        "kind: summary\npublisher: cqbot scale benchmark (generated distractor)\n---\n"
    )


def generate(
    n_chunks: int, out_dir: Path, seed: int = 7, corpus_dir: Path = ROOT / "corpus"
) -> dict[str, int]:
    """Write about `n_chunks` chunks of documents into out_dir (which must be empty or absent)."""
    if n_chunks < 1:
        raise ValueError(f"N must be at least 1 chunk, got {n_chunks}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ValueError(f"{out_dir} is not empty; pass a new folder")
    settings = Settings()
    rng = random.Random(seed)
    pools = load_pools(corpus_dir)
    weights = [len(p.sentences) for p in pools]
    real = sorted(read_corpus(corpus_dir).documents, key=lambda d: d.path)
    real_chunks = sum(len(chunk_document(d, settings.chunk_size, settings.chunk_overlap)) for d in real)
    files: list[tuple[str, str]] = []  # (file name, content) of the distractors
    total = real_chunks
    while total < n_chunks:
        pool = rng.choices(pools, weights)[0]
        doc_id = f"syn-{len(files):07d}"
        title, body = distractor(pool, rng)
        name = f"{doc_id}.{pool.lang}.md"
        doc = Document(doc_id, title, pool.lang, body, name, kind="summary")
        total += len(chunk_document(doc, settings.chunk_size, settings.chunk_overlap))
        files.append((name, front_matter(doc_id, title, pool.lang) + body + "\n"))
    parts = max(1, -(-len(files) // FILES_PER_PART))
    for i, (name, content) in enumerate(files):
        folder = out_dir / f"part-{i // FILES_PER_PART:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    for doc in real:
        folder = out_dir / f"part-{rng.randrange(parts):03d}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus_dir / doc.path, folder / Path(doc.path).name)
    return {"chunks": total, "real_chunks": real_chunks, "distractors": len(files), "real_files": len(real)}


def parse_size(text: str) -> int:
    """1000, 1k, 10k, 1m -> a number."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 1000, 1k, 1m)")
    return int(float(m.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=parse_size, help="about this many chunks in total (1000, 10k, 1m)")
    ap.add_argument("out_dir", type=Path, help="new or empty folder to write the .md files into")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="the real documents")
    args = ap.parse_args()
    try:
        made = generate(args.n, args.out_dir, args.seed, args.corpus)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    print(
        f"{args.out_dir}: {made['distractors']} generated documents + {made['real_files']} real ones, "
        f"about {made['chunks']} chunks ({made['real_chunks']} of them real)"
    )


if __name__ == "__main__":
    main()
