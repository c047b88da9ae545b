from __future__ import annotations

import itertools

import pytest

from cqbot.chunking import chunk_document, split_sentences
from cqbot.records import Chunk, Document

# The German seed text (shared/seeds/000_86ac3ffc093e95b0.txt), copied so the tests stand alone.
SEED_DE = """\
Chongqing beherbergt aktuell 8.753 Unternehmen mit ausländischen Investitionen. 322 der 500 weltweit \
führenden Unternehmen sind in der Stadt präsent. Diese ausländischen Unternehmen schaffen direkt und \
indirekt Arbeitsplätze für ein Fünfzehntel der städtischen Erwerbsbevölkerung. Sie steuern etwa 50 % des \
Import- und Exportvolumens sowie ein Zehntel der Steuereinnahmen bei und sind damit eine wichtige \
Triebkraft für das lokale Wirtschaftswachstum.

Auslandsinvestitionen unterstützen die Entwicklung neuer Produktivkräfte und die Modernisierung \
maßgeblich. Während des 14. Fünfjahresplans beschleunigte Chongqing den Aufbau hochwertiger Cluster für \
ausländische Investitionen, förderte den industriellen Wandel und trug so zur Verbesserung der \
Lebensbedingungen sowie zur Unternehmensentwicklung bei.

Führende Unternehmen haben wesentlich zum „33618“-System moderner Fertigungscluster beigetragen. \
Chongqing hat eine Reihe von Projekten mit großer Strahlkraft und Entwicklungspotenzial angelockt – etwa \
aus den Bereichen Halbleiter, Glastechnologie und Industrieproduktion. Diese fördern den Bau \
umweltfreundlicher Fabriken, erweitern die Kooperation zwischen Industrie und Forschung und bringen \
fortschrittliche Technologien, Managementerfahrung sowie internationales Fachwissen in die Stadt. So wird \
die gesamte Lieferkette vorangetrieben und die Fertigung wird hochwertiger, intelligenter und nachhaltiger.

Ausländische Unternehmen bereichern auch das Alltagsleben der Bürger: Internationale Großhandelsclubs und \
Sportfachgeschäfte erweitern das Einkaufserlebnis; ausländische medizinische Einrichtungen verbessern die \
Versorgung mit Spitzenmedizin; internationale Banken erleichtern grenzüberschreitende Transaktionen; an \
internationalen Schulen wird globales Lernen ermöglicht; in zahlreichen Restaurants kann man Küchen aus \
aller Welt genießen. Diese Unternehmen erweitern das Angebot und decken vielfältige Bedürfnisse der \
Bevölkerung ab.

In den letzten Jahren hat Chongqing kontinuierlich ein umfassendes Service-System für ausländische \
Investitionen aufgebaut, darunter eine intelligente Cloud-Plattform für ausländische Unternehmen und \
spezielle Serviceteams. Maßnahmen wie der „Drei-Jahres-Plan für hochwertige Auslandsinvestitions-Cluster“ \
und „20 Maßnahmen zur Stabilisierung ausländischer Investitionen“ sollen Unternehmen beim Wachstum \
unterstützen. Gleichzeitig profitieren die Bürger von mehr hochwertigen Produkten und Dienstleistungen.

Zukünftig will Chongqing die Marke „Invest in Chongqing“ weiter stärken, internationale \
Fachveranstaltungen ausrichten und globale Kooperationsplattformen für die Industrie schaffen. Der Schutz \
der Rechte ausländischer Investoren bleibt zentral, um weitere hochwertige Investitionen für den Aufbau \
des modernen Chongqing zu gewinnen – für erstklassige Wirtschaftsentwicklung, Lebensqualität und \
innovative Verwaltung.
"""

# Counted by hand: 4 + 2 + 4 + 2 + 3 + 2 sentences in the six paragraphs.
SEED_STARTS = [
    "Chongqing beherbergt",
    "322 der 500",
    "Diese ausländischen",
    "Sie steuern",
    "Auslandsinvestitionen unterstützen",
    "Während des 14.",
    "Führende Unternehmen",
    "Chongqing hat eine Reihe",
    "Diese fördern",
    "So wird",
    "Ausländische Unternehmen bereichern",
    "Diese Unternehmen erweitern",
    "In den letzten Jahren",
    "Maßnahmen wie der",
    "Gleichzeitig profitieren",
    "Zukünftig will",
    "Der Schutz",
]
PROTECTED = [
    "14. Fünfjahresplans",
    "8.753",
    "„33618“-System",
    "„Drei-Jahres-Plan für hochwertige Auslandsinvestitions-Cluster“",
]


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def doc(text: str, doc_id: str = "d1", pages: tuple[int, ...] = ()) -> Document:
    return Document(id=doc_id, title="T", lang="de", text=text, path=f"{doc_id}.md", pages=pages)


def crosses(spans: list[tuple[int, int]], text: str, phrase: str) -> bool:
    at = text.index(phrase)
    inside = range(at + 1, at + len(phrase))
    return any(a in inside or b in inside for a, b in spans)


def test_seed_splits_into_hand_counted_sentences() -> None:
    found = sentences(SEED_DE)
    assert len(found) == 17
    assert [s[: len(start)] for s, start in zip(found, SEED_STARTS, strict=True)] == SEED_STARTS
    assert all(s.endswith(".") for s in found)


@pytest.mark.parametrize("phrase", PROTECTED)
def test_no_sentence_or_chunk_boundary_inside_protected_phrases(phrase: str) -> None:
    assert not crosses(split_sentences(SEED_DE), SEED_DE, phrase)
    for size in (100, 200, 400, 900):
        chunks = chunk_document(doc(SEED_DE), size=size)
        assert not crosses([(c.start, c.end) for c in chunks], SEED_DE, phrase)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Das kostet ca. 5 Euro. Z. B. hier. Er wohnt in Nr. 16 bei Dr. Müller. Äpfel usw. sind Obst.",
            [
                "Das kostet ca. 5 Euro.",
                "Z. B. hier.",
                "Er wohnt in Nr. 16 bei Dr. Müller.",
                "Äpfel usw. sind Obst.",
            ],
        ),
        (
            "Es gibt u. a. Birnen, z. B. aus Baden. Am 3. Oktober 2024 war es so. "
            "Die Zahl stieg auf 1990. Gut.",
            [
                "Es gibt u. a. Birnen, z. B. aus Baden.",
                "Am 3. Oktober 2024 war es so.",
                "Die Zahl stieg auf 1990.",
                "Gut.",
            ],
        ),
        (
            "Er sagte „Das ist gut. Wirklich.“ und ging. Sie rief: „Halt! Warte.“ Dann war Ruhe.",
            ["Er sagte „Das ist gut. Wirklich.“ und ging.", "Sie rief: „Halt! Warte.“", "Dann war Ruhe."],
        ),
        (
            "Er las »Teil 1. Anfang« und «Partie 2. Fin» am Abend. Danach schlief er.",
            ["Er las »Teil 1. Anfang« und «Partie 2. Fin» am Abend.", "Danach schlief er."],
        ),
        (
            'He lives in the U.S. and likes e.g. apples, i.e. fruit. Mr. Smith said "Stop. Now." and left. '
            "Did he? Yes! “Go. Now,” she said.",
            [
                "He lives in the U.S. and likes e.g. apples, i.e. fruit.",
                'Mr. Smith said "Stop. Now." and left.',
                "Did he?",
                "Yes!",
                "“Go. Now,” she said.",
            ],
        ),
        (
            "他说：“今天很好。明天也好！你呢？”然后走了。你好吗？我很好！《关于稳外资的若干措施》已印发。",
            [
                "他说：“今天很好。明天也好！你呢？”然后走了。",
                "你好吗？",
                "我很好！",
                "《关于稳外资的若干措施》已印发。",
            ],
        ),
        ("「東京へ行く。」と言った。次は大阪です。", ["「東京へ行く。」と言った。", "次は大阪です。"]),
        (
            "Il habite à Paris. M. Dupont est là. ¿Qué pasa? Nada.",
            ["Il habite à Paris.", "M. Dupont est là.", "¿Qué pasa?", "Nada."],
        ),
        ("Он живёт в Москве. Это т. е. хорошо. Всё.", ["Он живёт в Москве.", "Это т. е. хорошо.", "Всё."]),
    ],
)
def test_split_sentences_cases(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_paragraphs_lists_and_headings_end_sentences() -> None:
    text = "# Titel\nText hier. Mehr\n- Punkt eins\n* Punkt zwei\n1. Erstens\n\nAbsatz ohne Punkt\nZeile zwei"
    assert sentences(text) == [
        "# Titel",
        "Text hier.",
        "Mehr",
        "- Punkt eins",
        "* Punkt zwei",
        "1. Erstens",
        "Absatz ohne Punkt\nZeile zwei",
    ]
    assert sentences("一、总体要求\n（一）指导思想。坚持以人为本。\n第一条 为了规范。") == [
        "一、总体要求",
        "（一）指导思想。",
        "坚持以人为本。",
        "第一条 为了规范。",
    ]


def test_split_sentences_range_and_whitespace() -> None:
    text = "  Erster Satz.  Zweiter Satz.   Dritter Satz.  "
    start = text.index("Zweiter")
    spans = split_sentences(text, start, len(text))
    assert [text[a:b] for a, b in spans] == ["Zweiter Satz.", "Dritter Satz."]
    assert spans[0][0] == start
    assert split_sentences("") == [] and split_sentences(" \n\n \t") == []


def test_split_sentences_handles_a_large_text() -> None:
    # speed is measured in benchmarks/, not asserted here; this checks a big input splits consistently
    paragraphs = [SEED_DE[i : i + 900] for i in range(0, len(SEED_DE) - 900, 90)]
    text = "\n\n".join(paragraphs * (10_000 // len(paragraphs) + 1))
    spans = split_sentences(text)
    assert spans == sorted(spans) and all(text[a:b].strip() == text[a:b] for a, b in spans)


def check_invariants(d: Document, chunks: list[Chunk], size: int) -> None:
    assert chunks, "a non-empty document gives chunks"
    for c in chunks:
        assert c.doc_id == d.id
        assert c.text == d.text[c.start : c.end]
        assert c.text == c.text.strip()
        assert c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end
        assert all(c.start <= a < b <= c.end for a, b in c.sentences)
        assert list(c.sentences) == sorted(c.sentences)
        assert len(c.text) <= size or len(c.sentences) == 1
        assert c.page == d.page_at(c.start)
    assert len({c.id for c in chunks}) == len(chunks)
    covered = [False] * len(d.text)
    for c in chunks:
        covered[c.start : c.end] = [True] * (c.end - c.start)
    assert all(done or ch.isspace() for done, ch in zip(covered, d.text, strict=True))


@pytest.mark.parametrize("size", [100, 200, 350, 900, 5000])
@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_chunk_invariants_on_seed(size: int, overlap: int) -> None:
    d = doc(SEED_DE)
    check_invariants(d, chunk_document(d, size=size, overlap=overlap), size)


def test_paragraphs_become_chunks_and_short_ones_merge() -> None:
    text = "# Förderung\n\n" + SEED_DE + "\nKontakt: Amt für Wirtschaft."
    chunks = chunk_document(doc(text), size=900)
    assert chunks[0].text.startswith("# Förderung\n\nChongqing beherbergt")
    # Paragraphs of 400+ characters are not merged with each other.
    assert not any("\n\n" in c.text for c in chunks[1:-1])
    assert chunks[-1].text.endswith("Verwaltung.\n\nKontakt: Amt für Wirtschaft.")
    paragraphs = [p for p in SEED_DE.split("\n\n") if p.strip()]
    assert [c.text for c in chunks[1:-1]] == [p.strip() for p in paragraphs[1:-1]]


def test_long_paragraph_windows_overlap_by_sentences() -> None:
    text = " ".join(f"Satz Nummer {i} hat ein paar Wörter mehr." for i in range(40))
    for overlap in (0, 1, 2):
        chunks = chunk_document(doc(text), size=200, overlap=overlap)
        check_invariants(doc(text), chunks, 200)
        for a, b in itertools.pairwise(chunks):
            shared = set(a.sentences) & set(b.sentences)
            assert len(shared) == overlap
            assert b.start > a.start


def test_long_sentences_become_their_own_chunks() -> None:
    long_one = "Ein langer Satz " + "mit sehr vielen Wörtern " * 12 + "am Ende."  # ~300 characters
    monster = "Ein Monstersatz " + "ohne jedes Ende " * 60 + "schließlich."  # ~980 characters
    text = f"Kurz davor. {long_one} Kurz danach. {monster} Ganz am Schluss."
    d = doc(text)
    chunks = chunk_document(d, size=200, overlap=1)
    check_invariants(d, chunks, 200)
    assert long_one in [c.text for c in chunks]
    pieces = [
        c for c in chunks if c.start >= text.index(monster) and c.end <= text.index(monster) + len(monster)
    ]
    assert len(pieces) >= 5 and all(len(c.text) <= 200 for c in pieces)
    assert all(text[c.end] == " " for c in pieces[:-1])  # cut at whitespace, not inside a word
    assert "".join(c.text for c in pieces).replace(" ", "") == monster.replace(" ", "")


def test_chunk_ids_are_stable_and_depend_on_text() -> None:
    first = chunk_document(doc(SEED_DE), size=300)
    assert [c.id for c in first] == [c.id for c in chunk_document(doc(SEED_DE), size=300)]
    changed = chunk_document(doc(SEED_DE.replace("8.753", "8.754")), size=300)
    assert first[0].id != changed[0].id and first[-1].id == changed[-1].id
    assert first[0].id != chunk_document(doc(SEED_DE, doc_id="d2"), size=300)[0].id
    repeated = "Dieser Absatz kommt zweimal vor.\n\n" + "x" * 400 + "\n\nDieser Absatz kommt zweimal vor."
    chunks = chunk_document(doc(repeated), size=200)
    assert chunks[0].text == chunks[-1].text and chunks[0].id != chunks[-1].id
    assert [c.id for c in chunks] == [c.id for c in chunk_document(doc(repeated), size=200)]


def test_pages_follow_chunk_start_and_stop_merging() -> None:
    pages = ["Seite eins. Kurzer Text.", "Seite zwei. Auch kurz.", "Seite drei hat " + "mehr Text. " * 30]
    text = "\n\n".join(pages)
    starts = (0, len(pages[0]) + 2, len(pages[0]) + len(pages[1]) + 4)
    d = doc(text, pages=starts)
    chunks = chunk_document(d, size=200)
    check_invariants(d, chunks, 200)
    assert [c.text for c in chunks[:2]] == pages[:2]  # short, but on different pages: not merged
    assert [c.page for c in chunks[:3]] == [1, 2, 3]
    assert all(c.page == 3 for c in chunks[2:])
    assert all(c.page is None for c in chunk_document(doc(text), size=200))


def test_bad_arguments_and_empty_documents() -> None:
    with pytest.raises(ValueError, match="chunk size"):
        chunk_document(doc(SEED_DE), size=5)
    with pytest.raises(ValueError, match="overlap"):
        chunk_document(doc(SEED_DE), overlap=-1)
    assert chunk_document(doc("  \n\n  ")) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("चोंगछिंग में 8,753 कंपनियाँ हैं। 322 कंपनियाँ मौजूद हैं।", ["चोंगछिंग में 8,753 कंपनियाँ हैं।", "322 कंपनियाँ मौजूद हैं।"]),
        ("يوجد 8,753 شركة. هل هذا صحيح؟ نعم.", ["يوجد 8,753 شركة.", "هل هذا صحيح؟", "نعم."]),
        (
            "چونگ چنگ میں 8,753 کمپنیاں ہیں۔ 322 موجود ہیں۔",
            ["چونگ چنگ میں 8,753 کمپنیاں ہیں۔", "322 موجود ہیں۔"],
        ),
        (
            "현재 8,753개의 기업이 있다. 322개가 진출해 있다.",
            ["현재 8,753개의 기업이 있다.", "322개가 진출해 있다."],
        ),
        ("Υπάρχουν 8.753 επιχειρήσεις. Υπάρχουν 322.", ["Υπάρχουν 8.753 επιχειρήσεις.", "Υπάρχουν 322."]),
        (
            "Չունցինում կա 8753 ընկերություն։ Ներկա են 322-ը։",
            ["Չունցինում կա 8753 ընկերություն։", "Ներկա են 322-ը։"],
        ),
        ("በቾንግቺንግ 8,753 ኩባንያዎች አሉ። 322 ይገኛሉ።", ["በቾንግቺንግ 8,753 ኩባንያዎች አሉ።", "322 ይገኛሉ።"]),
        ("ឆុងឈីងមានក្រុមហ៊ុន 8,753 ។ មាន 322 ។", ["ឆុងឈីងមានក្រុមហ៊ុន 8,753 ។", "មាន 322 ។"]),
        ("ချုံချင်းတွင် ကုမ္ပဏီ 8,753 ရှိသည်။ 322 ရှိသည်။", ["ချုံချင်းတွင် ကုမ္ပဏီ 8,753 ရှိသည်။", "322 ရှိသည်။"]),
    ],
)
def test_sentences_of_scripts_without_case(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in split_sentences(text)] == expected
