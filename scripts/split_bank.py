"""Split the question bank (eval/bank/*.jsonl) into a tuning part and a locked part by document sentence.

Every question is tied to the sentences that hold its evidence (answerable) or that it mirrors (`near`,
unanswerable near misses); questions that share a sentence, directly or through another question, form
one group, and a group goes wholly to one part (by a hash of its first sentence), so one fact is never in
both. Off-topic questions with no sentence go by a hash of their id. Writes eval/tuning.jsonl and
eval/locked.jsonl (the locked part: run once per change, at the end; never tuned on).

Usage: python scripts/split_bank.py [--locked-share 0.5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from cqbot.chunking import split_sentences
from cqbot.corpus import read_corpus

ROOT = Path(__file__).resolve().parents[1]
# changing the salt re-deals the parts: never do that to make a figure look better
SALT = "cqbot-bank-1"
SOURCE = "chongqing-foreign-investment"  # the German source article; every other document is "related"
SEVEN = {"de", "en", "zh", "fr", "es", "ja", "ru"}  # the languages the pattern rules of constraints.py read


def _share(key: str) -> float:
    return int(hashlib.sha256(f"{SALT}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locked-share", type=float, default=0.5)
    args = parser.parse_args()
    docs = {d.id: d for d in read_corpus(ROOT / "corpus").documents if d.kind != "translation"}
    sentences = {doc_id: split_sentences(d.text) for doc_id, d in docs.items()}

    def sentence_keys(snippet: str) -> list[str]:
        keys = []
        for doc_id, doc in docs.items():
            at = doc.text.find(snippet)
            while at >= 0:
                for start, end in sentences[doc_id]:
                    if start <= at < end:
                        keys.append(f"{doc_id}:{start}")
                at = doc.text.find(snippet, at + 1)
        return keys

    rows: list[dict[str, object]] = []
    for path in sorted((ROOT / "eval" / "bank").glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                row = json.loads(line)
                row["_where"] = f"{path.name}:{n}"
                rows.append(row)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    keys_of: list[list[str]] = []
    bad = 0
    for row in rows:
        snippets = list(row.get("evidence") or []) + ([row["near"]] if row.get("near") else [])
        keys = [k for s in snippets for k in sentence_keys(str(s))]
        if snippets and not keys:
            print(f"{row['_where']}: evidence not found in any original document", file=sys.stderr)
            bad += 1
        keys_of.append(keys or [f"id:{row['id']}"])
        for k in keys[1:]:
            parent[find(k)] = find(keys[0])
    if bad:
        return 1
    parts: dict[str, list[dict[str, object]]] = {"tuning": [], "locked": []}
    for row, keys in zip(rows, keys_of, strict=True):
        group = min(k for k in parent if find(k) == find(keys[0])) if keys[0] in parent else keys[0]
        part = "locked" if _share(group) < args.locked_share else "tuning"
        row = {k: v for k, v in row.items() if k != "_where"}
        row["group"] = group
        doc = docs.get(str(row.get("doc")))
        tags = ["source" if row.get("doc") == SOURCE else "related"]
        if doc is not None and row.get("lang") != doc.lang:
            tags.append(f"{tags[0]}-cross-lingual")
        tags.append("seven-languages" if row.get("lang") in SEVEN else "other-languages")
        row["tags"] = tags
        parts[part].append(row)
    for part, items in parts.items():
        out = ROOT / "eval" / f"{part}.jsonl"
        tmp = out.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), encoding="utf-8")
        tmp.replace(out)
        groups = {r["group"] for r in items}
        print(f"{out.relative_to(ROOT)}: {len(items)} questions, {len(groups)} sentence groups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
