"""Citation check of a generated answer: a marker [n] stays only where passage n supports its statement.

Supported means: each number the statement gives is in the passage (8.753 = 8,753 = 8753), and the
statement's embedding is close to a sentence of the passage or to that sentence's translation. Kept
markers are renumbered in order of appearance and each names the one sentence it rests on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from cqbot.model.embedding import Embedder
from cqbot.numbers import digit_values
from cqbot.records import Citation

# Cosine of e5 query("statement") with passage("sentence"). Aligned translations in the corpus score
# >= 0.815 against their original; hand-written answers to the dev questions 0.83-0.97 against their
# passage. e5 ranks any text about the subject high (0.83 for "The mayor of Chongqing likes football"),
# so this floor only rejects empty or unrelated statements; figures are what is checked exactly.
MIN_SUPPORT = 0.81


@dataclass(frozen=True)
class Source:
    """One numbered passage given to the endpoint: a retrieved sentence with its neighbours.

    Each sentence is a ready Citation (exact quote, offsets, aligned translation) so that the one a
    checked statement rests on can be cited as it is.
    """

    n: int
    title: str
    lang: str
    sentences: tuple[Citation, ...]

    def units(self) -> list[tuple[int, str]]:
        """(sentence index, text) for each original sentence and each translation of one."""
        out = [(i, c.quote) for i, c in enumerate(self.sentences)]
        return out + [(i, c.translation) for i, c in enumerate(self.sentences) if c.translation]

    def texts(self) -> list[str]:
        return [t for _, t in self.units()]


_MARKERS = re.compile(r"(?:[\[［【]\s*\d+(?:\s*(?:[,，;；、]|[-–])\s*\d+)*\s*[\]］】])+")
_ONE_MARKER = re.compile(r"[\[［【]([^\]］】]*)[\]］】]")
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’»)]*(?=\s|$|[\[［【])|[。！？]+[”’」』）)]*|\n")
_WORD = re.compile(r"\w")


def numbers(text: str) -> set[float]:
    """Numbers of a text as values (numbers.digit_values): 8.753 / 8,753 / 8 753 -> 8753; 3,50 -> 3.5;
    15.08.2014 -> 15, 8, 2014; a scale word multiplies (5.9亿 = 590 million)."""
    return digit_values(text)


def _numbers_of(texts: Sequence[str]) -> set[float]:
    return set().union(*(numbers(t) for t in texts))


def marker_numbers(marker: str) -> list[int]:
    """[1] -> [1]; [1, 3] -> [1, 3]; [2-4] -> [2, 3, 4]; [1][2] -> [1, 2]."""
    out: list[int] = []
    for inner in _ONE_MARKER.findall(unicodedata.normalize("NFKC", marker)):
        for part in re.split(r"[,;、]", inner):
            a, _, b = part.replace("–", "-").partition("-")
            if a.strip().isdigit() and b.strip().isdigit() and int(a) <= int(b) <= int(a) + 10:
                out.extend(range(int(a), int(b) + 1))
            elif a.strip().isdigit() and not b:
                out.append(int(a))
    return out


@dataclass
class Claim:
    """A statement of the generated answer and the marker groups that close it (text spans)."""

    start: int
    end: int
    markers: list[tuple[int, int]]


def claims(text: str) -> list[Claim]:
    """Statements of `text`: the text before each marker group back to the last sentence end or group.

    A group right after a sentence end ("... firms. [1]") closes that sentence.
    """
    events = sorted(
        [(m.end(), "end", m.end()) for m in _SENTENCE_END.finditer(text)]
        + [(m.start(), "marker", m.end()) for m in _MARKERS.finditer(text)]
    )
    out: list[Claim] = []
    start = 0
    for pos, kind, end in events:
        if pos < start:
            continue
        if kind == "marker":
            if _WORD.search(text[start:pos]) or not out:
                out.append(Claim(start, pos, [(pos, end)]))
            else:
                out[-1].markers.append((pos, end))
            start = end
        else:
            if _WORD.search(text[start:pos]):
                out.append(Claim(start, pos, []))
            start = pos
    if _WORD.search(text[start:]):
        out.append(Claim(start, len(text), []))
    return out


@dataclass(frozen=True)
class Checked:
    """A generated answer after the check: text with renumbered markers, the citations they name."""

    text: str
    citations: tuple[Citation, ...]
    removed: int  # markers dropped: no such passage, or the passage does not support the statement
    unsupported: int  # statements without a marker that state numbers no passage holds
    # statements taken out of the answer: every marker failed, or no marker and a number no passage holds
    dropped: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.removed or self.unsupported)


def check(
    text: str, sources: Sequence[Source], embedder: Embedder, min_support: float = MIN_SUPPORT
) -> Checked:
    """Keep each [n] whose statement passage n supports; renumber the kept ones in order of appearance."""
    found = claims(text)
    by_n = {s.n: s for s in sources}
    marked = [c for c in found if c.markers]
    named = {n for c in marked for a, b in c.markers for n in marker_numbers(text[a:b])}
    cited = [s for s in sources if s.n in named]  # only these need embedding
    owner = [(s.n, i) for s in cited for i, _ in s.units()]
    texts = [t for s in cited for _, t in s.units()]
    sims = np.zeros((len(marked), len(texts)), dtype=np.float32)
    if marked and texts:
        claim_vecs = embedder.embed_queries([_MARKERS.sub(" ", text[c.start : c.end]) for c in marked])
        sims = claim_vecs @ embedder.embed_passages(texts).T
    anywhere = _numbers_of([t for s in sources for t in s.texts()])
    kept: dict[tuple[int, int], list[int]] = {}
    chosen: dict[int, Citation] = {}
    drops: list[tuple[int, int]] = []
    removed = unsupported = 0
    row_of = {id(c): r for r, c in enumerate(marked)}
    for c in found:
        stated = numbers(_MARKERS.sub(" ", text[c.start : c.end]))
        if not c.markers:
            if stated - anywhere:
                unsupported += 1
                drops.append((c.start, c.end))
            continue
        row = sims[row_of[id(c)]]
        for group in c.markers:
            listed = list(dict.fromkeys(marker_numbers(text[group[0] : group[1]])))
            valid = [n for n in listed if n in by_n]
            # numbers may come from any passage of the group: "8,753 firms, 322 of them in the top 500 [1][2]"
            held = _numbers_of([t for n in valid for t in by_n[n].texts()])
            good = []
            for n in valid:
                cols = [j for j, (m, _) in enumerate(owner) if m == n]
                if stated <= held and float(row[cols].max()) >= min_support:
                    good.append(n)
                    if n not in chosen:
                        scores = [(owner[j][1], float(row[j])) for j in cols]
                        chosen[n] = _best_sentence(by_n[n], stated, scores)
            removed += len(listed) - len(good)
            kept[group] = good
        if not any(kept[group] for group in c.markers):  # nothing checked holds it: out of the answer
            end = c.markers[-1][1]
            while end < len(text) and text[end] in ".!?。！？":  # "… firms [7]." takes its full stop along
                end += 1
            drops.append((c.start, end))
            for group in c.markers:
                del kept[group]
    return _renumber(text, kept, chosen, removed, unsupported, drops)


def _best_sentence(source: Source, stated: set[float], scores: list[tuple[int, float]]) -> Citation:
    """The sentence of the passage holding most of the stated numbers, then the most similar one."""

    def key(i: int) -> tuple[int, float]:
        c = source.sentences[i]
        held = numbers(c.quote) | numbers(c.translation or "")
        return len(stated & held), max(s for j, s in scores if j == i)

    return source.sentences[max(range(len(source.sentences)), key=key)]


def _renumber(
    text: str,
    kept: dict[tuple[int, int], list[int]],
    chosen: dict[int, Citation],
    removed: int,
    unsupported: int,
    drops: Sequence[tuple[int, int]] = (),
) -> Checked:
    """The text with kept markers renumbered in order, failed ones removed, dropped statements cut out."""
    new: dict[int, int] = {}
    out: list[str] = []
    pos = 0
    events = sorted([(span, ns) for span, ns in kept.items()] + [(span, None) for span in drops])
    for (start, end), ns in events:
        head = text[pos:start]
        if ns is None:  # a dropped statement
            out.append(head)
        elif ns:
            out.append(head + "".join(f"[{new.setdefault(n, len(new) + 1)}]" for n in ns))
        else:
            out.append(head.rstrip(" \t") if end == len(text) or not text[end].isalnum() else head)
        pos = end
    out.append(text[pos:])
    citations = tuple(replace(chosen[old], n=n, verified=True) for old, n in new.items())
    dropped = tuple(
        re.sub(r"\s+([.!?。！？,;:])", r"\1", _MARKERS.sub("", text[a:b])).strip() for a, b in drops
    )
    cleaned = re.sub(r"[ \t]{2,}", " ", "".join(out)).strip()
    return Checked(cleaned, citations, removed, unsupported, dropped)
