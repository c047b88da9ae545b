"""What a question asks for (a number, a date, an amount of money, a name, a place, or something else),
in any language the embedding model reads.

The question's vector is compared with labelled example questions (data/question_kinds.jsonl: the same
kinds asked about many topics in many languages, so that topic cancels out and the kind of answer
remains); the kinds of the nearest examples vote, weighted by similarity. The pattern lists of
constraints.py (seven languages) are kept beside it where they measured better (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cqbot.constraints import asks_money, asks_name, needs_number
from cqbot.embedding import Embedder

Kind = Literal["number", "date", "money", "name", "place", "other"]
KINDS: tuple[Kind, ...] = ("number", "date", "money", "name", "place", "other")
# nearest examples that vote; a kind must win this share of their weight to count (tuned on the tuning
# part of eval/bank, RESULTS.md)
NEIGHBOURS = 10
MIN_SHARE = 0.5


@dataclass(frozen=True)
class Asks:
    """What the answer must state: `kind` from the examples, the requirements from kind and rules."""

    kind: str
    share: float  # the winning kind's share of the neighbours' weight
    number: bool  # the cited sentence must state a number (how many, how much, when)
    money: bool  # ... an amount of money (price, rent, salary, fee, investment sum)
    name: bool  # ... a name (which company, what is it called, who)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "share": round(self.share, 3)}


NOTHING = Asks("other", 0.0, False, False, False)


@cache
def load_examples() -> tuple[tuple[str, str], ...]:
    """(kind, question) pairs of data/question_kinds.jsonl."""
    path = resources.files("cqbot").joinpath("data/question_kinds.jsonl")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["kind"] in KINDS:
                out.append((str(row["kind"]), str(row["question"])))
    return tuple(out)


def cached_vectors(cache_dir: Path, embedder: Embedder, texts: Sequence[str], *, queries: bool) -> np.ndarray:
    """Vectors of fixed texts (anchors, examples), cached per model and text list under cache_dir."""
    kind = "query" if queries else "passage"
    key = hashlib.sha256("\n".join([embedder.name, embedder.weights, kind, *texts]).encode()).hexdigest()[:16]
    path = cache_dir / "vectors" / f"{key}.npy"
    try:
        cached = np.load(path)
        if cached.shape == (len(texts), embedder.dim):
            return np.asarray(cached, dtype=np.float32)
    except (OSError, ValueError):
        pass
    vectors = embedder.embed_queries(texts) if queries else embedder.embed_passages(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(tmp, vectors)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs the embedding time
    return np.asarray(vectors, dtype=np.float32)


class QuestionAnalyser:
    """Reads what a question asks for from its vector (examples) and its words (rules)."""

    def __init__(
        self, examples: np.ndarray, kinds: Sequence[str], mode: Literal["examples", "rules", "both"]
    ) -> None:
        self.examples = examples
        self.kinds = np.array([KINDS.index(k) for k in kinds], dtype=np.int64)
        self.mode = mode

    @classmethod
    def load(cls, cache_dir: Path, embedder: Embedder, mode: str = "both") -> QuestionAnalyser:
        pairs = load_examples() if mode != "rules" else ()
        vectors = cached_vectors(cache_dir, embedder, [q for _, q in pairs], queries=True)
        return cls(vectors, [k for k, _ in pairs], mode)  # type: ignore[arg-type]

    def kind_of(self, qvec: np.ndarray) -> tuple[str, float]:
        """The kind the nearest examples vote for, and its share of their weight."""
        if not len(self.examples):
            return "other", 0.0
        sims = self.examples @ qvec
        near = np.argsort(-sims)[:NEIGHBOURS]
        weight = np.zeros(len(KINDS))
        np.add.at(weight, self.kinds[near], np.maximum(sims[near], 0.0))
        best = int(np.argmax(weight))
        total = float(weight.sum())
        return KINDS[best], float(weight[best] / total) if total else 0.0

    def analyse(self, question: str, qvec: np.ndarray) -> Asks:
        kind, share = self.kind_of(qvec) if self.mode != "rules" else ("other", 0.0)
        confident = share >= MIN_SHARE
        by_example = {k: confident and kind == k for k in KINDS}
        number = by_example["number"] or by_example["date"]
        money, name = by_example["money"], by_example["name"]
        if self.mode == "rules":
            number, money, name = needs_number(question), asks_money(question), asks_name(question)
        elif self.mode == "both":
            number = number or needs_number(question)
            money = money or asks_money(question)
            name = name or asks_name(question)
        return Asks(kind, share, number, money, name)
