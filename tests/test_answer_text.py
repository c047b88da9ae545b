"""The answer text: quotes in the asker's language where an aligned translation exists, marked as such;
the citation keeps the original quote and its offsets."""

from __future__ import annotations

from cqbot.answer import compose
from cqbot.records import Citation


def cite(n: int, quote: str, translation: str | None = None) -> Citation:
    return Citation(
        n=n, doc_id="d", title="T", source="", chunk_id="d:0", start=0, end=len(quote), page=None,
        quote=quote, score=0.9, translation=translation,
    )  # fmt: skip


ORIGINAL = "Chongqing beherbergt aktuell 8.753 Unternehmen."


def test_a_translation_in_the_askers_language_is_quoted_and_marked() -> None:
    c = cite(1, ORIGINAL, "Chongqing is home to 8,753 enterprises.")
    text = compose("en", [c], True)
    assert text == "According to the documents: “Chongqing is home to 8,753 enterprises.” (translation) [1]"
    assert c.quote == ORIGINAL  # what the citation points at is unchanged


def test_without_a_translation_the_original_is_quoted() -> None:
    assert compose("de", [cite(1, ORIGINAL)], True) == f"Laut den Dokumenten: „{ORIGINAL}“ [1]"
    assert compose("it", [cite(1, ORIGINAL)], True) == f"Secondo i documenti: “{ORIGINAL}” [1]"


def test_chinese_and_japanese_are_written_without_spaces() -> None:
    zh = compose(
        "zh", [cite(1, ORIGINAL, "重庆目前共有外商投资企业8753家。"), cite(2, "Zweiter Satz.")], True
    )
    assert zh == "根据文档：“重庆目前共有外商投资企业8753家。”（译文）[1]“Zweiter Satz.”[2]"
    assert compose("ja", [cite(1, ORIGINAL, "外資系企業は8753社。")], True) == (
        "文書によると：「外資系企業は8753社。」（翻訳）[1]"
    )


def test_french_and_russian_quotation_marks() -> None:
    assert compose("fr", [cite(1, ORIGINAL, "8 753 entreprises.")], True).endswith(
        "« 8 753 entreprises. » (traduction) [1]"
    )
    assert compose("ru", [cite(1, ORIGINAL)], True).endswith(f"«{ORIGINAL}» [1]")
