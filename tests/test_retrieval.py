"""Sentence-level term overlap: question terms found in a sentence or its translations, weighted by rarity."""

from __future__ import annotations

import pytest

from cqbot.lexical import term_overlap, tokenize

A = ("doc", 0, 10)
B = ("doc", 11, 20)


def test_rare_terms_decide_between_sentences_of_one_topic() -> None:
    versions = {
        A: ["Chongqing beherbergt 8.753 Unternehmen.", "重慶には現在、外資系企業8753社が立地している。"],
        B: ["322 der 500 Unternehmen sind präsent.", "世界の有力企業500社のうち322社が進出している。"],
    }
    terms = {key: frozenset(t for text in texts for t in tokenize(text)) for key, texts in versions.items()}
    scores = term_overlap("重慶には外資系企業が何社ありますか？", terms)
    assert scores[A] > scores[B] > 0  # 外資系 only in A; 企業 / 社 in both weigh less
    assert 0 < scores[A] <= 1


def test_no_shared_terms_give_zero() -> None:
    assert term_overlap("weather", {A: frozenset({"unternehmen"}), B: frozenset()}) == {A: 0.0, B: 0.0}
    assert term_overlap("anything", {}) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8.753 Firmen", ["8753", "firmen"]), ("外资", ["外", "资", "外资"])],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_candidates_know_which_documents_are_about_the_subject(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cqbot import builder
    from cqbot.config import load_settings
    from cqbot.index import load_index
    from cqbot.retrieval import Retriever
    from fakes import HashingEmbedder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = "Foreign firms contribute about half of the trade volume of the city."
    (corpus / "a.md").write_text(f"---\nid: a\ntitle: Chongqing trade\nlang: en\n---\n{body}\n")
    (corpus / "b.md").write_text(f"---\nid: b\ntitle: Dalian trade\nlang: en\n---\n{body}\n")
    zh = "重庆的外资企业贡献了约一半的进出口额。Foreign firms contribute about half of the trade volume."
    (corpus / "c.md").write_text(f"---\nid: c\ntitle: 外资\nlang: zh\n---\n{zh}\n")  # another spelling
    settings = load_settings(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    embedder = HashingEmbedder()
    builder.build(settings, embedder)
    retriever = Retriever(load_index(settings.index_dir), settings)
    question = "What share of trade do foreign firms contribute?"
    hits = retriever.candidates(question, embedder.embed_queries([question])[0])
    about = {retriever.index.chunks[h.chunk_row].doc_id: h.subject for h in hits}
    assert about == {"a": True, "b": False, "c": True}
