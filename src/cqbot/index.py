"""FAISS index + chunk table + manifest: save atomically, load with checks, search by vector.

Files of one build share a generation tag; the manifest, written last with an atomic rename,
names the generation in force. An interrupted build therefore leaves the previous one loadable.
With index_backend "milvus" the vectors are searched in Milvus instead of FAISS (milvus/);
the manifest records where, so loading needs no settings.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cqbot.errors import CqbotError, IndexCorruptError, IndexMismatchError, IndexMissingError, first_line
from cqbot.faiss_store import IVF_NPROBE, build_faiss, faiss_module, ivf_lists, read_faiss
from cqbot.files import write_atomic, write_dir_atomic, write_npy_atomic
from cqbot.milvus import store as milvus_store
from cqbot.milvus.client import Location, held_elsewhere, is_server
from cqbot.model.arrays import RowFile
from cqbot.records import (
    Chunk,
    Document,
    chunk_from_json,
    chunk_to_json,
    document_from_json,
    document_to_json,
)

FORMAT_VERSION = 3
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    """What an index was built from; compared on load and by `cqbot build --check`."""

    model: str
    weights: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    files: dict[str, str]
    documents: int
    chunks: int
    sentences: int
    index_type: str
    cqbot_version: str
    built_at: str
    generation: str
    format_version: int = FORMAT_VERSION
    skipped: dict[str, str] = field(default_factory=dict)
    # where the vectors are searched (defaults: folders built before Milvus load as they were)
    backend: str = "faiss"  # "faiss" (files here) or "milvus"
    milvus_uri: str = ""  # "": Milvus Lite databases in this folder; a Lite path; or a server URI
    milvus_prefix: str = ""  # the generation's collections: <prefix>_chunks, <prefix>_units


@dataclass
class Index:
    """Everything retrieval needs: tables in memory, vectors read from disk by row, FAISS indexes."""

    manifest: Manifest
    documents: dict[str, Document]
    chunks: list[Chunk]
    chunk_vectors: RowFile
    sentence_spans: np.ndarray  # (n, 3) int64: chunk row, start, end
    sentence_align: np.ndarray  # (n,) int64: row of the aligned original sentence, -1 if none
    sentence_vectors: RowFile
    faiss_index: Any  # a FAISS index, or milvus_store.MilvusVectors: the same search(queries, k)
    unit_index: Any
    directory: Path

    def lexical_dir(self) -> Path | None:
        """The stored lexical index of this generation, if the build wrote one."""
        path = self.directory / f"lexical-{self.manifest.generation}.bm25"
        return path if path.is_dir() else None

    def search_units(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, unit rows) of the k sentence units nearest to one query vector."""
        k = max(1, min(k, len(self.sentence_spans)))
        scores, rows = self.unit_index.search(np.ascontiguousarray(query[None, :], dtype=np.float32), k)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the k nearest chunks for each query vector; rows -1 where fewer exist."""
        k = max(1, min(k, len(self.chunks)))
        scores, rows = self.faiss_index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, rows


def make_faiss(
    vectors: np.ndarray, exact_limit: int, backend: str = "faiss", milvus_uri: str = ""
) -> tuple[Any, str]:
    """The search structure for these vectors and its kind: FAISS (faiss_store.build_faiss), or with
    backend "milvus" the plan of the Milvus index, which save_index writes. Milvus Lite gets FLAT at any
    size: its search loops over every row in Python whatever the index (milvus-lite 3.2), and it loses
    the nlist that pymilvus 3 sends."""
    if backend == "milvus":
        exact = len(vectors) <= exact_limit or not is_server(milvus_uri)
        plan = milvus_store.MilvusPlan(0 if exact else ivf_lists(len(vectors)))
        return plan, plan.kind
    return build_faiss(vectors, exact_limit)


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    write_atomic(path, write, sync=True)  # on disk before the manifest names it


def save_index(
    directory: Path,
    manifest: Manifest,
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    chunk_vectors: np.ndarray,
    sentence_spans: np.ndarray,
    sentence_align: np.ndarray,
    sentence_vectors: np.ndarray,
    faiss_index: Any,
    unit_index: Any,
    lexical: Callable[[Path], object] | None = None,
    *,
    backend: str = "faiss",
    milvus_uri: str = "",
) -> None:
    """Write all files of one generation, then the manifest that makes them current.

    `lexical` writes the lexical index into the folder it is given (it is kept beside the rest).
    With backend "milvus", faiss_index and unit_index are make_faiss's Milvus plans; the vectors go to
    Milvus at `milvus_uri` and the previous generation's stay there until the next build."""
    directory.mkdir(parents=True, exist_ok=True)
    gen = manifest.generation
    try:
        previous: Manifest | None = read_manifest(directory)
    except CqbotError:
        previous = None
    _write_atomic(
        directory / f"documents-{gen}.json",
        lambda p: p.write_text(
            json.dumps([document_to_json(d) for d in documents], ensure_ascii=False, default=str)
        ),
    )
    _write_atomic(
        directory / f"chunks-{gen}.jsonl",
        lambda p: p.write_text(
            "".join(json.dumps(chunk_to_json(c), ensure_ascii=False) + "\n" for c in chunks)
        ),
    )
    write_npy_atomic(directory / f"chunkvecs-{gen}.npy", chunk_vectors, sync=True)
    write_npy_atomic(directory / f"sentspans-{gen}.npy", sentence_spans, sync=True)
    write_npy_atomic(directory / f"sentalign-{gen}.npy", sentence_align, sync=True)
    write_npy_atomic(directory / f"sentvecs-{gen}.npy", sentence_vectors, sync=True)
    location = Location.of(milvus_uri, directory) if backend == "milvus" else None
    if location is not None:
        prefix = milvus_store.write_generation(
            location, gen, chunks, chunk_vectors, sentence_spans, sentence_vectors, (faiss_index, unit_index)
        )
        manifest = replace(manifest, backend="milvus", milvus_uri=location.uri, milvus_prefix=prefix)
    else:
        faiss = faiss_module()
        _write_atomic(directory / f"vectors-{gen}.faiss", lambda p: faiss.write_index(faiss_index, str(p)))
        _write_atomic(directory / f"units-{gen}.faiss", lambda p: faiss.write_index(unit_index, str(p)))
    if lexical is not None:
        write_dir_atomic(directory / f"lexical-{gen}.bm25", lexical)
    _write_atomic(
        directory / MANIFEST,
        lambda p: p.write_text(json.dumps(asdict(manifest), indent=1, ensure_ascii=False)),
    )
    for old in directory.iterdir():
        if (
            "-" in old.name
            and old.name != MANIFEST
            and f"-{gen}." not in old.name
            and old.name != "README.md"
            and not (location is not None and location.is_lite_file(old))  # milvus_store drops those
            and not (old.is_dir() and held_elsewhere(old))  # a Lite database a running server reads
        ):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    if location is not None:  # the previous generation stays: a server may be answering from it still
        keep = {gen}
        if previous is not None and (previous.backend, previous.milvus_uri) == ("milvus", location.uri):
            keep.add(previous.generation)
        milvus_store.drop_generations(location, keep)


def recorded_backend(backend: str, milvus_uri: str, directory: Path) -> tuple[str, str]:
    """(backend, milvus_uri) as a build with these settings records them in the manifest: unequal to
    (manifest.backend, manifest.milvus_uri), the index must be written again to follow the settings."""
    if backend != "milvus":
        return "faiss", ""
    return "milvus", Location.of(milvus_uri, directory).uri


def new_generation() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    if not path.exists():
        raise IndexMissingError(f"no index in {directory}/; run: cqbot build")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index in {directory}/ has format {data.get('format_version')}, this cqbot reads "
                f"{FORMAT_VERSION}; run: cqbot build --full"
            )
        return Manifest(**data)
    except (ValueError, TypeError) as exc:
        raise IndexCorruptError(f"{path} is unreadable ({exc}); run: cqbot build --full") from exc


def load_index(directory: Path, *, model: str | None = None, dim: int | None = None) -> Index:
    """Load the current generation; check it was built with `model` / `dim` when given."""
    manifest = read_manifest(directory)
    if model is not None and manifest.model != model:
        raise IndexMismatchError(
            f"index in {directory}/ was built with model {manifest.model!r}, not {model!r}; "
            "run: cqbot build --full"
        )
    if dim is not None and manifest.dim != dim:
        raise IndexMismatchError(
            f"index in {directory}/ has dimension {manifest.dim}, the model gives {dim}; "
            "run: cqbot build --full"
        )
    gen = manifest.generation
    findex: Any
    uindex: Any
    try:
        docs = [
            document_from_json(d)
            for d in json.loads((directory / f"documents-{gen}.json").read_text("utf-8"))
        ]
        with open(directory / f"chunks-{gen}.jsonl", encoding="utf-8") as fh:
            chunks = [chunk_from_json(json.loads(line)) for line in fh if line.strip()]
        chunk_vectors = RowFile(directory / f"chunkvecs-{gen}.npy")
        spans = np.load(directory / f"sentspans-{gen}.npy")
        aligned = np.load(directory / f"sentalign-{gen}.npy")
        sent_vectors = RowFile(directory / f"sentvecs-{gen}.npy")
        if manifest.backend == "milvus":
            findex, uindex = milvus_store.open_generation(
                Location(manifest.milvus_uri, directory),
                gen,
                manifest.milvus_prefix,
                (manifest.chunks, manifest.sentences),
                (manifest.index_type.split("+")[0], manifest.index_type.split("+")[-1]),
            )
        else:
            findex = read_faiss(directory / f"vectors-{gen}.faiss")
            uindex = read_faiss(directory / f"units-{gen}.faiss")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(
            f"index in {directory}/ is damaged ({first_line(exc)}); run: cqbot build --full"
        ) from exc
    for fi in (findex, uindex):
        if hasattr(fi, "nprobe"):
            fi.nprobe = min(fi.nlist, IVF_NPROBE)
    n = len(chunks)
    if (
        findex.ntotal != n
        or chunk_vectors.shape[0] != n
        or len(spans) != len(sent_vectors)
        or len(spans) != len(aligned)
        or uindex.ntotal != len(spans)
        or (n and chunk_vectors.shape[1] != manifest.dim)
    ):
        raise IndexCorruptError(
            f"index in {directory}/ is inconsistent (counts differ); run: cqbot build --full"
        )
    return Index(
        manifest,
        {d.id: d for d in docs},
        chunks,
        chunk_vectors,
        spans,
        aligned,
        sent_vectors,
        findex,
        uindex,
        directory,
    )
