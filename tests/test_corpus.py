from __future__ import annotations

import hashlib
import io
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from cqbot.corpus import CorpusRead, Skipped, read_corpus, read_document
from cqbot.errors import CorpusError, DocumentError
from cqbot.records import Document

DE = (
    "Chongqing beherbergt aktuell 8.753 Unternehmen mit ausländischen Investitionen. 322 der 500 weltweit "
    "führenden Unternehmen sind in der Stadt präsent."
)
EN = "The city hosts many companies with foreign investment. They create jobs for many workers."


def make_pdf(pages: list[str], password: str | None = None, title: str | None = None) -> bytes:
    """A real PDF whose pages carry the given text (lines drawn in Helvetica, WinAnsi encoded)."""
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    for text in pages:
        page = writer.add_blank_page(612, 792)
        if not text:
            continue
        ops = []
        for n, line in enumerate(text.split("\n")):
            raw = line.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
            ops.append(b"BT /F1 11 Tf 50 %d Td (%s) Tj ET" % (740 - 14 * n, raw))
        stream = DecodedStreamObject()
        stream.set_data(b"\n".join(ops))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    if title:
        writer.add_metadata({"/Title": title})
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(title: str = "") -> bytes:
    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.add_heading("Förderrichtlinie", 1)
    document.add_paragraph(DE)
    document.add_paragraph("")
    table = document.add_table(rows=2, cols=2)
    for (r, c), value in {(0, 0): "Jahr", (0, 1): "Betrag", (1, 0): "2024", (1, 1): "5 Mio."}.items():
        table.cell(r, c).text = value
    document.add_paragraph("Nach der Tabelle folgt dieser Satz.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HTML = f"""<!DOCTYPE html>
<html lang="de-DE"><head><title>Förderung | Stadt Chongqing</title>
<link rel="canonical" href="https://example.org/foerderung"></head><body>
<nav><ul><li><a href="/">Startseite</a></li><li><a href="/news">Nachrichtenübersicht</a></li></ul></nav>
<header><div class="menu">Hauptmenü Suche Anmelden</div></header>
<main><article><h1>Förderprogramm für Investitionen</h1>
<p>{DE}</p>
<p>Während des 14. Fünfjahresplans beschleunigte Chongqing den Aufbau hochwertiger Cluster für ausländische
Investitionen, förderte den industriellen Wandel und trug so zur Verbesserung der Lebensbedingungen bei.</p>
</article></main>
<footer><p>Impressum Datenschutzerklärung Barrierefreiheit Alle Rechte vorbehalten.</p></footer>
</body></html>"""


def write(root: Path, rel: str, data: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def read(root: Path, rel: str, data: str | bytes) -> Document:
    return read_document(write(root, rel, data), root)


def reason(root: Path, rel: str, data: str | bytes) -> str:
    with pytest.raises(DocumentError) as info:
        read(root, rel, data)
    return str(info.value)


def test_markdown_front_matter_and_body_kept_exactly(tmp_path: Path) -> None:
    body = "# Überschrift\n\n  Ein *Absatz* mit  zwei Leerzeichen.\n\n- Punkt\n"
    front = (
        "---\nid: policy-1\ntitle: Richtlinie\nlang: de-DE\nsource: https://example.org/p1\n"
        "publisher: Stadt\ndate: 2024-05-01\nkind: translation\ntranslation_of: policy-1-zh\n"
        "sources:\n  - url: https://example.org/a\n    date: 2024-01-02\n---\n\n"
    )
    d = read(tmp_path, "sub/Policy One.md", front + body + "\n\n")
    assert d.text == body.rstrip()
    assert (d.id, d.title, d.lang, d.source, d.publisher) == (
        "policy-1",
        "Richtlinie",
        "de",
        "https://example.org/p1",
        "Stadt",
    )
    assert (d.date, d.kind, d.translation_of, d.path) == (
        "2024-05-01",
        "translation",
        "policy-1-zh",
        "sub/Policy One.md",
    )
    assert d.meta["sources"][0]["url"] == "https://example.org/a"
    assert d.pages == () and d.page_at(5) is None


def test_defaults_without_front_matter(tmp_path: Path) -> None:
    d = read(tmp_path, "Förder Plan (2024).md", f"Vorwort\n\n## Die Förderung im Überblick\n\n{DE}")
    assert d.id == "f-rder-plan--2024-"
    assert d.title == "Die Förderung im Überblick"
    assert d.lang == "de" and d.kind == "original" and d.source == "" and d.translation_of is None
    t = read(tmp_path, "notes.txt", "\n" + "x" * 200 + "\n\n" + EN)
    assert len(t.title) <= 120 and t.title.startswith("xxx")
    assert t.text.startswith("\n")  # text kept as in the file, only the end is stripped
    assert read(tmp_path, "en.txt", EN).lang == "en"
    assert read(tmp_path, "zh.txt", "重庆现有外资企业8753家。世界500强企业中有322家落户重庆。").lang == "zh"


def test_html_main_text_without_boilerplate(tmp_path: Path) -> None:
    d = read(tmp_path, "page.html", HTML)
    assert "8.753 Unternehmen" in d.text and "14. Fünfjahresplans" in d.text
    for boilerplate in (
        "Startseite",
        "Nachrichtenübersicht",
        "Hauptmenü",
        "Impressum",
        "Datenschutzerklärung",
    ):
        assert boilerplate not in d.text
    assert "\n\n" in d.text  # paragraphs stay apart for the chunker
    assert d.title in ("Förderprogramm für Investitionen", "Förderung | Stadt Chongqing", "Förderung")
    assert d.lang == "de" and d.source == "https://example.org/foerderung"
    assert read(tmp_path, "page.htm", HTML).id == "page"


def test_pdf_pages_and_offsets(tmp_path: Path) -> None:
    pages = ["Seite eins. Größe ändern.\nZweite Zeile.", "Page two text about investment.", "Dritte Seite."]
    d = read(tmp_path, "report.pdf", make_pdf(pages, title="Jahresbericht"))
    assert d.title == "Jahresbericht"
    assert len(d.pages) == 3 and d.pages[0] == 0
    for n, (start, page) in enumerate(zip(d.pages, pages, strict=True), start=1):
        assert d.text[start : start + len(page)] == page
        assert d.page_at(start) == n
    assert d.text == "\n\n".join(pages)
    untitled = read(tmp_path, "untitled.pdf", make_pdf(["", "Der Titel steht auf Seite zwei."]))
    assert untitled.title == "Der Titel steht auf Seite zwei."
    assert untitled.page_at(untitled.text.index("Titel")) == 2


def test_docx_paragraphs_tables_and_title(tmp_path: Path) -> None:
    d = read(tmp_path, "richtlinie.docx", make_docx())
    assert d.text.split("\n\n") == [
        "Förderrichtlinie",
        DE,
        "Jahr | Betrag\n2024 | 5 Mio.",
        "Nach der Tabelle folgt dieser Satz.",
    ]
    assert d.title == "Förderrichtlinie" and d.lang == "de"
    assert read(tmp_path, "titled.docx", make_docx("Offizieller Titel")).title == "Offizieller Titel"


@pytest.mark.parametrize(
    ("rel", "data", "expected"),
    [
        (
            "latin1.txt",
            "Größe: ä".encode("latin-1"),
            "not valid UTF-8 (byte 0xf6 at offset 2); save the file as UTF-8",
        ),
        ("empty.md", "", "empty file"),
        ("blank.txt", " \n\t\n ", "empty file"),
        ("only-front.md", "---\ntitle: x\n---\n\n", "empty file"),
        ("data.xyz", "hello", "unsupported file type .xyz (supported: .md .txt .html .htm .pdf .docx)"),
        ("broken.pdf", b"%PDF-1.4\nthis is not a pdf", "unreadable PDF"),
        ("broken.docx", b"PK not a zip", "unreadable DOCX"),
        ("bad-yaml.md", "---\ntitle: [unclosed\n---\nText.", "invalid YAML front matter"),
        ("list-yaml.md", "---\n- a\n- b\n---\nText.", "front matter must be 'key: value' lines"),
        ("open-yaml.md", "---\ntitle: x\nText.", "no closing '---'"),
        ("bad-kind.md", "---\nkind: draft\n---\nText.", "kind must be one of original, summary, translation"),
        (
            "script.html",
            "<html><head><title>x</title></head><body><script>f();</script></body></html>",
            "no main text",
        ),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, rel: str, data: str | bytes, expected: str) -> None:
    assert expected in reason(tmp_path, rel, data)


def test_latin1_byte_offset_is_exact(tmp_path: Path) -> None:
    data = "Hallo Welt: ä".encode("latin-1")
    assert reason(tmp_path, "x.txt", data).startswith("not valid UTF-8 (byte 0xe4 at offset 12)")


def test_encrypted_and_image_only_pdfs(tmp_path: Path) -> None:
    assert reason(tmp_path, "secret.pdf", make_pdf(["Geheimer Text."], password="geheim")) == "encrypted PDF"
    assert reason(tmp_path, "scan.pdf", make_pdf(["", ""])) == "no text layer (image-only PDF?)"


def test_read_corpus_walks_sorted_skips_and_hashes(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    write(root, "b.md", f"# B\n\n{DE}")
    write(root, "a/z.txt", EN)
    write(root, "a/report.pdf", make_pdf([DE]))
    write(root, "c.docx", make_docx())
    write(root, "d.html", HTML)
    write(root, "README.md", "About this corpus.")
    write(root, "a/readme.txt", "About this folder.")
    write(root, ".hidden.md", "Hidden.")
    write(root, ".git/x.md", "Hidden too.")
    write(root, "latin1.txt", "Größe".encode("latin-1"))
    write(root, "empty.md", "")
    write(root, "notes.xyz", "?")
    write(root, "broken.pdf", b"%PDF-1.4 broken")
    write(root, "secret.pdf", make_pdf(["Geheim."], password="pw"))
    write(root, "scan.pdf", make_pdf([""]))
    write(root, "dup/b.md", "Same id as b.md.")

    result = read_corpus(root)
    assert isinstance(result, CorpusRead)
    assert [d.path for d in result.documents] == ["a/report.pdf", "a/z.txt", "b.md", "c.docx", "d.html"]
    skipped = {s.path: s.reason for s in result.skipped}
    assert sorted(skipped) == [
        "broken.pdf",
        "dup/b.md",
        "empty.md",
        "latin1.txt",
        "notes.xyz",
        "scan.pdf",
        "secret.pdf",
    ]
    assert skipped["dup/b.md"] == "duplicate document id 'b' (already used by b.md)"
    assert skipped["latin1.txt"].startswith("not valid UTF-8")
    assert skipped["secret.pdf"] == "encrypted PDF"
    assert all(isinstance(s, Skipped) for s in result.skipped)
    assert set(result.hashes) == {d.path for d in result.documents}
    assert result.hashes["b.md"] == hashlib.sha256((root / "b.md").read_bytes()).hexdigest()


def test_read_corpus_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"does not exist.*--corpus.*CQBOT_CORPUS_DIR"):
        read_corpus(tmp_path / "missing")
    root = tmp_path / "corpus"
    write(root, "empty.md", "")
    write(root, "x.xyz", "?")
    write(root, "README.md", "Only a readme.")
    with pytest.raises(CorpusError, match=r"no usable document in .*corpus/: 2 files skipped"):
        read_corpus(root)
    with pytest.raises(CorpusError, match="0 files skipped"):
        read_corpus(write(tmp_path, "nothing/.keep", "").parent)


def test_many_small_files(tmp_path: Path) -> None:
    for i in range(1000):
        front = f"---\nlang: de\ntitle: Dokument {i}\n---\n\n" if i % 2 else ""
        write(tmp_path, f"d{i:04d}.md", front + DE)
    read = read_corpus(tmp_path)
    assert len(read.documents) == 1000 and len(read.hashes) == 1000
    assert read.documents[1].title == "Dokument 1" and read.documents[1].lang == "de"
