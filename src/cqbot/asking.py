"""What a question asks for (a number, a date, an amount of money, a name, a place, or something else),
in any language the embedding model reads.

A small softmax classifier over question vectors, fitted on labelled example questions
(data/question_kinds.jsonl: each kind asked about the same spread of topics in 24 languages, so that
what separates the kinds is the kind of answer, not the topic). Nearest-example voting was tried first
and read topic more than kind (kind accuracy 0.47 on the tuning questions vs 0.53; RESULTS.md). The
pattern lists of constraints.py (seven languages) are kept beside it where they measured better.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cqbot.constraints import asks_money, asks_name, asks_quantity, asks_time, needs_number
from cqbot.files import write_atomic, write_npy_atomic
from cqbot.model.embedding import Embedder

Kind = Literal["number", "date", "money", "name", "place", "other"]
KINDS: tuple[Kind, ...] = ("number", "date", "money", "name", "place", "other")
# a requirement holds when the classifier gives its kind(s) at least this probability (tuning part of
# eval/bank, RESULTS.md); L2 and steps of the fit
# (name: 1.1 = never from the classifier: "how many companies" read as "which company" 10 times in 120)
MIN_PROBABILITY = {"number": 0.5, "money": 0.7, "name": 1.1}
L2 = 0.001
STEPS = 500
SCALE = 10.0  # centred e5 vectors are small: scaled so that plain gradient steps converge


@dataclass(frozen=True)
class Asks:
    """What the answer must state: `kind` from the examples, the requirements from kind and rules."""

    kind: str
    share: float  # the classifier's probability of that kind
    number: bool  # the cited sentence must state a number (how many, how much, when)
    money: bool  # ... an amount of money (price, rent, salary, fee, investment sum)
    name: bool  # ... a name (which company, what is it called, who)
    # ... a count or amount, not only a date (how many, how much; never a when-question)
    count: bool = False

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
    with contextlib.suppress(OSError):  # a read-only cache only costs the embedding time
        write_npy_atomic(path, vectors)
    return np.asarray(vectors, dtype=np.float32)


def _save_npz(path: Path, model: KindModel) -> None:
    with open(path, "wb") as fh:
        np.savez(fh, centre=model.centre, weights=model.weights, bias=model.bias)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class KindModel:
    """Softmax regression over centred question vectors."""

    centre: np.ndarray  # (dim,)
    weights: np.ndarray  # (dim, kinds)
    bias: np.ndarray  # (kinds,)

    def probabilities(self, qvec: np.ndarray) -> np.ndarray:
        return _softmax(((qvec - self.centre) * SCALE) @ self.weights + self.bias)

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: np.ndarray) -> KindModel:
        """Gradient descent from zero for a fixed number of steps (deterministic)."""
        centre = vectors.mean(axis=0)
        x = (vectors - centre) * SCALE
        onehot = np.eye(len(KINDS))[labels]
        weights = np.zeros((x.shape[1], len(KINDS)))
        bias = np.zeros(len(KINDS))
        for _ in range(STEPS):
            grad = _softmax(x @ weights + bias) - onehot
            weights -= 0.5 * (x.T @ grad / len(x) + L2 * weights)
            bias -= 0.5 * grad.mean(axis=0)
        return cls(centre.astype(np.float32), weights.astype(np.float32), bias.astype(np.float32))


class QuestionAnalyser:
    """Reads what a question asks for from its vector (the kind model) and its words (rules)."""

    def __init__(self, model: KindModel | None, mode: str) -> None:
        self.model = model
        self.mode = mode

    @classmethod
    def load(cls, cache_dir: Path, embedder: Embedder, mode: str = "both") -> QuestionAnalyser:
        if mode == "rules":
            return cls(None, mode)
        pairs = load_examples()
        settings = f"{STEPS}:{L2}:{SCALE}"
        key = hashlib.sha256(
            "\n".join([embedder.name, embedder.weights, settings, *map(str, pairs)]).encode()
        )
        path = cache_dir / "vectors" / f"kinds-{key.hexdigest()[:16]}.npz"
        try:
            with np.load(path) as stored:
                return cls(KindModel(stored["centre"], stored["weights"], stored["bias"]), mode)
        except (OSError, ValueError, KeyError):
            pass
        vectors = cached_vectors(cache_dir, embedder, [q for _, q in pairs], queries=True)
        labels = np.array([KINDS.index(k) for k, _ in pairs], dtype=np.int64)
        model = KindModel.fit(vectors, labels)
        with contextlib.suppress(OSError):  # a read-only cache only costs the fit (~0.3 s)
            write_atomic(path, lambda tmp: _save_npz(tmp, model))
        return cls(model, mode)

    def analyse(self, question: str, qvec: np.ndarray) -> Asks:
        number = money = name = count = False
        kind, share = "other", 0.0
        if self.model is not None and self.mode != "rules":
            p = self.model.probabilities(qvec)
            best = int(np.argmax(p))
            kind, share = KINDS[best], float(p[best])
            at = {k: float(p[i]) for i, k in enumerate(KINDS)}
            number = at["number"] + at["date"] >= MIN_PROBABILITY["number"]
            money, name = at["money"] >= MIN_PROBABILITY["money"], at["name"] >= MIN_PROBABILITY["name"]
            count = at["number"] >= MIN_PROBABILITY["number"] and not asks_time(question)
        if self.mode in ("rules", "both"):
            number = number or needs_number(question)
            money = money or asks_money(question)
            name = name or asks_name(question)
            count = count or asks_quantity(question)
        return Asks(kind, share, number, money, name, count)
