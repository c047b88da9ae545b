"""Document -> Chunks with stable ids and exact character offsets; pure functions.

Sentences are found by a rule-based splitter tuned for policy text in German, English and Chinese
(reasonable for French, Spanish, Russian, Japanese, Korean, Greek, Arabic, Hindi, Urdu, Armenian, Amharic,
Khmer and Burmese: ।, ؟, ۔, ։, ።, ፧, ។, ៕ and ။ end a sentence, and a letter of a script without case may
start one): abbreviations, German ordinals ("14.") and quoted text never end a sentence; 。！？ do outside
quotes; paragraph breaks and list items always do.
"""

from __future__ import annotations

import bisect
import hashlib
import re

from cqbot.records import Chunk, Document, Span

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
# A line break that ends a sentence even without punctuation: before a list item or heading
# (Markdown, numbered, Chinese 一、 （一） 第一条 styles) and after a heading line.
_LINE_BREAK = re.compile(
    r"\n(?=[ \t]*(?:[#>|•·▪●◦■□➢✓-]|[*+]\s|\*\*|\d{1,3}[.)]\s|\d{1,3}[．、]|[a-zA-Z][.)]\s|\(\w{1,4}\)"
    r"|[一二三四五六七八九十]+、|（[一二三四五六七八九十\d]+）|第[一二三四五六七八九十百零〇\d]+[章节条款]))"
    r"|(?m:^[ \t]*#[^\n]*)\n"
)
_EUROPEAN_END = re.compile(r"[.!?…।؟۔։።፧។៕။]+[\"'”’“»«)\]*_]*(?=\s)")
_CJK_END = re.compile(r"[。！？]+[”’」』）》〉\"']*")
_NO_SPLIT_AFTER_CJK = "，、；：,;:。！？"
_OPENING = "\"'„“‚‘«»(\\[¿¡*_「『《"
_TOKEN_BEFORE = re.compile(r"[^\s(\[„“\"'«»‚‘]+\Z")
_WORD_BEFORE = re.compile(r"(\S+)\s+\S+\Z")
_DOTTED = re.compile(r"(?=.*[^\W\d])(?:\w{1,3}\.)+\w{1,3}")

# Quote pairs: opener -> closers. A closer is tried first, so "“" closes „ before it opens.
_QUOTES = {"„": "“”", "“": "”", "«": "»", "»": "«", "「": "」", "『": "』", "《": "》", "‚": "‘’", '"': '"'}
_QUOTE_CHARS = re.compile("[" + re.escape("".join(set("".join(_QUOTES) + "".join(_QUOTES.values())))) + "]")
_MAX_QUOTE = 400  # a longer "quote" is a quoted passage (or an unbalanced mark): split inside it


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


_ABBREVIATIONS = _words(
    # German
    "ca bzw usw vgl ggf evtl inkl zzgl bzgl gem lt sog Nr nr Dr Prof Hr Fr Str St Abs Art Kap Bd Jh Mio Mrd "
    "Tsd Tel Abb Anm Aufl Hrsg ff Ziff Buchst Verf Gde Reg Kfm Dipl Ing jun sen geb gest Jan Feb Mär Apr "
    "Jun Jul Aug Sep Sept Okt Nov Dez Mo Di Mi Do Sa So bspw insb ebd allg einschl "
    # English
    "Mr Mrs Ms Jr Sr vs etc approx cf Fig fig Vol vol No no pp Inc Ltd Co Corp Dept Gov Mt Ave Rd "
    "Jan Feb Mar Oct Dec est min max "
    # French, Spanish
    "Mme Mlle Sra Srta Ud Uds Dña pág núm av art etc "
    # Russian
    "гг др им ул стр тыс млн млрд руб см рис табл"
)
# Abbreviations that often end a sentence: these split before a capitalised word.
_MAY_END = frozenset({"usw", "etc", "Inc", "Ltd", "Co", "Corp"})
# Words before a number that make "14." a German ordinal, not a sentence end.
_ORDINAL_CUES = _words(
    "der die das des dem den am im vom zum zur beim seit bis ab vor nach um an in zu von mit für ein eine "
    "einem einer eines jeder jedes jedem dieser dieses diesem ihr ihre ihrem ihres sein seine seinem seines "
    "unser unsere unserem"
)
_MONTHS = _words("Januar Februar März April Mai Juni Juli August September Oktober November Dezember Jänner")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Absolute (start, end) spans of the sentences in text[start:end], whitespace trimmed off each."""
    end = len(text) if end is None else end
    blocks: list[Span] = []
    pos = start
    for match in _breaks(text, start, end):
        blocks.append((pos, match))
        pos = match
    blocks.append((pos, end))
    spans: list[Span] = []
    for b_start, b_end in blocks:
        cuts = _sentence_ends(text, b_start, b_end)
        s = b_start
        for cut in [*cuts, b_end]:
            span = _trim(text, s, cut)
            if span:
                spans.append(span)
            s = cut
    return spans


def _breaks(text: str, start: int, end: int) -> list[int]:
    cuts = {m.end() for m in _PARAGRAPH_BREAK.finditer(text, start, end)}
    cuts.update(m.end() for m in _LINE_BREAK.finditer(text, start, end))
    return sorted(c for c in cuts if start < c < end)


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _quoted(text: str, start: int, end: int) -> list[Span]:
    """Merged (open, close) spans of balanced quotes in one block."""
    stack: list[tuple[str, int]] = []
    found: list[Span] = []
    for m in _QUOTE_CHARS.finditer(text, start, end):
        ch, at = m.group(), m.start()
        for depth in range(len(stack) - 1, -1, -1):
            if ch in _QUOTES[stack[depth][0]]:
                if at - stack[depth][1] <= _MAX_QUOTE:
                    found.append((stack[depth][1], at))
                del stack[depth:]
                break
        else:
            if ch in _QUOTES:
                stack.append((ch, at))
    found.sort()
    merged: list[Span] = []
    for o, c in found:
        if merged and o <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], c))
        else:
            merged.append((o, c))
    return merged


def _sentence_ends(text: str, start: int, end: int) -> list[int]:
    quotes = _quoted(text, start, end)
    opens = [o for o, _ in quotes]

    def inside_quote(cut: int) -> bool:
        i = bisect.bisect_left(opens, cut) - 1
        return i >= 0 and cut <= quotes[i][1]

    cuts: list[int] = []
    for m in _CJK_END.finditer(text, start, end):
        cut = m.end()
        if (cut < end and text[cut] in _NO_SPLIT_AFTER_CJK) or inside_quote(cut):
            continue
        # “…。”他说 / 「…。」と言った go on after the quote; split there only before a space or new quote.
        if text[cut - 1] not in "。！？" and cut < end and not (text[cut].isspace() or text[cut] in _OPENING):
            continue
        cuts.append(cut)
    for m in _EUROPEAN_END.finditer(text, start, end):
        cut = m.end()
        if cut >= end or inside_quote(cut) or not _starts_sentence(text, cut, end):
            continue
        if m.group().startswith(".") and m.group().count(".") == 1 and _is_abbreviation(text, start, m, end):
            continue
        cuts.append(cut)
    return sorted(set(cuts))


def _starts_sentence(text: str, cut: int, end: int) -> bool:
    i = cut
    while i < end and text[i].isspace():
        i += 1
    while i < end and text[i] in _OPENING:
        i += 1
    if i >= end:
        return False
    ch = text[i]
    # a capital, a digit, or a letter of a script without case (CJK, Hangul, Arabic, Hebrew, Devanagari)
    return ch.isupper() or ch.isdigit() or (ch.isalpha() and not ch.islower())


def _is_abbreviation(text: str, block_start: int, m: re.Match[str], end: int) -> bool:
    dot = m.start()
    token_match = _TOKEN_BEFORE.search(text, max(block_start, dot - 40), dot)
    if token_match is None:
        return False
    token = token_match.group()
    if token in _ABBREVIATIONS:
        return token not in _MAY_END
    if (len(token) == 1 and token.isalpha()) or _DOTTED.fullmatch(token):  # z. B., u. a., U.S., e.g.
        return True
    if token.isdigit() and len(token) <= 3:  # German ordinal: "des 14. Fünfjahresplans", "am 3. Oktober"
        before = _WORD_BEFORE.search(text, max(block_start, dot - 60), dot)
        if before is None:  # number opens the block, as in a list item "1. Ziele"
            return True
        after = text[m.end() : min(end, m.end() + 30)].split(maxsplit=1)
        return before.group(1).lower() in _ORDINAL_CUES or bool(after and after[0] in _MONTHS)
    return False


def chunk_document(doc: Document, size: int = 900, overlap: int = 1) -> list[Chunk]:
    """Split a document into paragraph-aware chunks of at most `size` characters (longer sentences excepted).

    Short paragraphs merge with their neighbours; long ones become windows of whole sentences that
    share `overlap` sentences with the window before.
    """
    if size < 20:
        raise ValueError(f"chunk size must be at least 20 characters, got {size}")
    if overlap < 0:
        raise ValueError(f"chunk overlap must be 0 or more sentences, got {overlap}")
    text = doc.text
    blocks = [s for s in (split_sentences(text, a, b) for a, b in paragraphs(text)) if s]
    short = size // 3  # headings, one-liners and short notes join a neighbouring paragraph
    groups: list[list[Span]] = []
    for sents in blocks:
        if groups:
            prev = groups[-1]
            p_len, n_len = prev[-1][1] - prev[0][0], sents[-1][1] - sents[0][0]
            fits = sents[-1][1] - prev[0][0] <= size
            if fits and (p_len < short or n_len < short) and _same_page(doc, prev[0][0], sents[0][0]):
                prev.extend(sents)
                continue
        groups.append(list(sents))
    spans: list[tuple[Span, ...]] = []
    for sents in groups:
        spans.extend(_windows(text, sents, size, overlap))
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for sentences in spans:
        start, stop = sentences[0][0], sentences[-1][1]
        piece = text[start:stop]
        n = seen.get(piece, 0)
        seen[piece] = n + 1
        key = f"{doc.id}\x00{piece}" + (f"\x00{n}" if n else "")
        chunk_id = hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
        chunks.append(Chunk(chunk_id, doc.id, piece, start, stop, sentences, doc.page_at(start)))
    return chunks


def paragraphs(text: str) -> list[Span]:
    """(start, end) of each paragraph: text between blank lines."""
    spans, pos = [], 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    return spans


def _same_page(doc: Document, a: int, b: int) -> bool:
    if not doc.pages:
        return True
    return bisect.bisect_right(doc.pages, a) == bisect.bisect_right(doc.pages, b)


def _windows(text: str, sents: list[Span], size: int, overlap: int) -> list[tuple[Span, ...]]:
    """Windows of whole sentences of at most `size` characters; each holds at least one new sentence."""
    out: list[tuple[Span, ...]] = []
    i, n = 0, len(sents)
    while i < n:
        if sents[i][1] - sents[i][0] > size:
            out.extend((piece,) for piece in _split_long(text, sents[i], size))
            i += 1
            continue
        j = i + 1
        while j < n and sents[j][1] - sents[i][0] <= size:
            j += 1
        out.append(tuple(sents[i:j]))
        if j >= n:
            break
        # Step back `overlap` sentences, but only as far as still leaves room for the next new one.
        k = max(j - overlap, i + 1)
        while k < j and sents[j][1] - sents[k][0] > size:
            k += 1
        i = k
    return out


def _split_long(text: str, span: Span, size: int) -> list[Span]:
    """A sentence over `size`: kept whole up to 2*size, else cut at whitespace into pieces <= size."""
    start, end = span
    if end - start <= 2 * size:
        return [span]
    pieces: list[Span] = []
    while end - start > size:
        cut = max(text.rfind(" ", start + 1, start + size + 1), text.rfind("\n", start + 1, start + size + 1))
        cut = cut if cut > start else start + size
        piece = _trim(text, start, cut)
        if piece:
            pieces.append(piece)
        start = cut
    last = _trim(text, start, end)
    if last:
        pieces.append(last)
    return pieces


_CLAUSE_END = re.compile(r"[;:；：]\s*")
LONG_SENTENCE = 250


def clause_spans(text: str, start: int, end: int, min_length: int = LONG_SENTENCE) -> list[Span]:
    """Clauses (split at ; and :) of a sentence longer than `min_length`, so one clause can be cited."""
    if end - start <= min_length:
        return []
    spans: list[Span] = []
    pos = start
    for m in _CLAUSE_END.finditer(text, start, end):
        spans.append((pos, m.start() + 1))
        pos = m.end()
    spans.append((pos, end))
    spans = [(a, b) for a, b in spans if text[a:b].strip()]
    return spans if len(spans) > 1 else []
