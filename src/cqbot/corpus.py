"""Files in corpus/ -> Documents: one reader per format, metadata from front matter or the format itself."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from cqbot.errors import CorpusError, DocumentError, first_line
from cqbot.records import Document

SUPPORTED = (".md", ".txt", ".html", ".htm", ".pdf", ".docx")
KINDS = ("original", "summary", "translation")
_IGNORED_NAMES = {"readme.md", "readme.txt"}
_FIELDS = ("id", "title", "lang", "source", "publisher", "date", "kind", "translation_of")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_HTML_LANG = re.compile(rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
# py3langid names some written Chinese by regional language; the corpus treats it all as zh.
_LANG_ALIASES = {"wuu": "zh", "yue": "zh"}
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Skipped:
    """A file that was left out of the corpus, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class CorpusRead:
    """What `read_corpus` found: documents, skipped files, and sha256 hashes of the files used."""

    documents: tuple[Document, ...]
    skipped: tuple[Skipped, ...]
    hashes: dict[str, str] = field(default_factory=dict)


@dataclass
class _Parsed:
    text: str
    fields: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    pages: tuple[int, ...] = ()


def read_document(path: Path, root: Path) -> Document:
    """Read one corpus file; raises DocumentError with a short reason if it cannot be used."""
    _check_extension(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from exc
    return _document(path.relative_to(root).as_posix(), data)


def read_corpus(corpus_dir: Path) -> CorpusRead:
    """Read every usable file under `corpus_dir` (recursively, sorted); skip the rest with a reason."""
    if not corpus_dir.is_dir():
        what = "is not a folder" if corpus_dir.exists() else "does not exist"
        raise CorpusError(f"corpus folder {corpus_dir} {what}; set it with --corpus or CQBOT_CORPUS_DIR")
    documents: list[Document] = []
    skipped: list[Skipped] = []
    hashes: dict[str, str] = {}
    first_path: dict[str, str] = {}
    for rel in _walk(corpus_dir):
        try:
            _check_extension(Path(rel))
            data = (corpus_dir / rel).read_bytes()
            doc = _document(rel, data)
        except DocumentError as exc:
            skipped.append(Skipped(rel, str(exc)))
            continue
        except OSError as exc:
            skipped.append(Skipped(rel, f"cannot read file: {exc.strerror or exc}"))
            continue
        if doc.id in first_path:
            skipped.append(
                Skipped(rel, f"duplicate document id {doc.id!r} (already used by {first_path[doc.id]})")
            )
            continue
        first_path[doc.id] = rel
        documents.append(doc)
        hashes[rel] = hashlib.sha256(data).hexdigest()
    if not documents:
        hint = (
            f" (first: {skipped[0].path}: {skipped[0].reason})"
            if skipped
            else f"; add {' '.join(SUPPORTED)} files"
        )
        raise CorpusError(f"no usable document in {corpus_dir}/: {len(skipped)} files skipped{hint}")
    return CorpusRead(tuple(documents), tuple(skipped), hashes)


def _walk(root: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        base = Path(dirpath).relative_to(root)
        for name in filenames:
            if not name.startswith(".") and name.lower() not in _IGNORED_NAMES:
                found.append((base / name).as_posix())
    return sorted(found)


def _check_extension(path: Path) -> None:
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        shown = ext or "(no extension)"
        raise DocumentError(f"unsupported file type {shown} (supported: {' '.join(SUPPORTED)})")


def _document(rel: str, data: bytes) -> Document:
    if not data.strip():
        raise DocumentError("empty file")
    path = Path(rel)
    parsed = _READERS[path.suffix.lower()](data)
    text = parsed.text.rstrip()
    if not text.strip():
        raise DocumentError("empty file")
    f = parsed.fields
    kind = str(f.get("kind") or "original").strip().lower()
    if kind not in KINDS:
        raise DocumentError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    lang = str(f.get("lang") or "").strip().lower().replace("_", "-").split("-")[0]
    return Document(
        id=str(f.get("id") or "").strip() or _slug(path.stem),
        title=str(f.get("title") or "").strip() or _guess_title(text) or path.stem,
        lang=lang or _detect_language(text),
        text=text,
        path=rel,
        source=str(f.get("source") or "").strip(),
        publisher=str(f.get("publisher") or "").strip(),
        date=_date_str(f.get("date")),
        kind=kind,
        translation_of=str(f["translation_of"]).strip() if f.get("translation_of") else None,
        pages=parsed.pages,
        meta=parsed.meta,
    )


def _slug(stem: str) -> str:
    return re.sub(r"[^a-z0-9._-]", "-", stem.lower())


def _guess_title(text: str) -> str:
    heading = _HEADING.search(text[:5000])
    if heading:
        return heading.group(1).strip()[:120]
    for line in text[:5000].splitlines():
        line = line.strip().strip("#*_>").strip()
        if line:
            return line if len(line) <= 120 else line[:119].rstrip() + "…"
    return ""


def _date_str(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else str(value).strip()


def _detect_language(text: str) -> str:
    import py3langid  # lazy: loading the model costs ~0.2 s

    lang = str(py3langid.classify(text[:1000])[0])
    return _LANG_ALIASES.get(lang, lang)


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise DocumentError(
            f"not valid UTF-8 (byte 0x{bad:02x} at offset {exc.start}); save the file as UTF-8"
        ) from exc
    # Offsets point into Document.text, so normalising line ends here is safe.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_text(data: bytes) -> _Parsed:
    text = _decode(data)
    lines = text.split("\n", 1)
    if lines[0].rstrip() != "---":
        return _Parsed(text)
    rest = lines[1] if len(lines) > 1 else ""
    close = re.search(r"^(?:---|\.\.\.)[ \t]*$", rest, re.MULTILINE)
    if close is None:
        raise DocumentError("front matter starts with '---' but has no closing '---' line")
    try:
        raw = yaml.load(rest[: close.start()], Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or first_line(exc)
        raise DocumentError(f"invalid YAML front matter{where}: {problem}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise DocumentError("front matter must be 'key: value' lines, got a YAML " + type(raw).__name__)
    body = rest[close.end() :].lstrip("\n")
    fields = {k: v for k, v in raw.items() if k in _FIELDS}
    meta = {str(k): v for k, v in raw.items() if k not in _FIELDS}
    return _Parsed(body, fields, meta)


def _read_html(data: bytes) -> _Parsed:
    import trafilatura  # lazy: heavy import

    try:
        text = trafilatura.extract(data, favor_precision=True, include_tables=True, output_format="markdown")
        if not text:  # precision mode drops short pages entirely
            text = trafilatura.extract(data, include_tables=True, output_format="markdown")
        meta = trafilatura.extract_metadata(data)
    except Exception as exc:  # trafilatura and lxml raise many types on bad markup
        raise DocumentError(f"unreadable HTML: {exc}") from exc
    if not text or not text.strip():
        raise DocumentError("no main text found in HTML")
    fields: dict[str, Any] = {}
    if meta is not None:
        fields = {"title": meta.title, "source": meta.url, "publisher": meta.sitename, "date": meta.date}
    lang = _HTML_LANG.search(data[:5000])
    if lang:
        fields["lang"] = lang.group(1).decode("ascii")
    return _Parsed(text, fields)


def _read_pdf(data: bytes) -> _Parsed:
    import pypdf  # lazy: heavy import

    # pypdf logs its repairs of damaged files; the build reports a skipped file in one line of its own
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
            raise DocumentError("encrypted PDF")
        texts = [(page.extract_text() or "").strip() for page in reader.pages]
        fields: dict[str, Any] = {}
        info = reader.metadata
        if info is not None:
            fields = {"title": info.title, "publisher": info.get("/Publisher")}
            created = info.creation_date
            fields["date"] = created.date() if created is not None else None
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        if isinstance(exc, pypdf.errors.FileNotDecryptedError | pypdf.errors.DependencyError):
            raise DocumentError("encrypted PDF") from exc
        raise DocumentError(f"unreadable PDF: {first_line(exc)}") from exc
    if not any(texts):
        raise DocumentError("no text layer (image-only PDF?)")
    pages, pos = [], 0
    for text in texts:
        pages.append(pos)
        pos += len(text) + 2
    return _Parsed("\n\n".join(texts), fields, pages=tuple(pages))


def _read_docx(data: bytes) -> _Parsed:
    import docx  # lazy: heavy import
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = [" | ".join(_unique_cells(row.cells)) for row in item.rows]
                blocks.append("\n".join(r for r in rows if r.strip()))
            else:
                blocks.append(item.text.strip())
        props = document.core_properties
    except Exception as exc:  # python-docx raises zip, XML and key errors on damaged files
        raise DocumentError(f"unreadable DOCX: {exc}") from exc
    blocks = [b for b in blocks if b]
    fields: dict[str, Any] = {
        "title": props.title or (blocks[0][:120] if blocks else ""),
        "lang": props.language,
    }
    meta = {"author": props.author} if props.author and props.author != "python-docx" else {}
    return _Parsed("\n\n".join(blocks), fields, meta)


def _unique_cells(cells: list[Any]) -> list[str]:
    # Merged cells repeat in python-docx's row.cells; keep each once.
    seen: set[int] = set()
    out = []
    for cell in cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            out.append(cell.text.strip())
    return out


_READERS: dict[str, Callable[[bytes], _Parsed]] = {
    ".md": _read_text,
    ".txt": _read_text,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
