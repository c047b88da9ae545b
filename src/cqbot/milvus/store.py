"""Milvus as the vector store: one index generation's chunk and sentence-unit vectors, two collections.

Where they live is recorded in the manifest (`milvus_uri`), so loading needs no settings:
- Milvus Lite, embedded (uri "": inside the index folder; or a file path): one database per generation,
  `milvus-<generation>.db` (`<stem>-<generation>.db` beside a given path). Milvus Lite locks its database
  to one process, so `cqbot serve` and `cqbot build` could not share one; with a database per generation
  the build writes the next one while the server reads the current one.
- A Milvus server or cluster (http(s):// or tcp://): collections named by the index folder and generation.

A build keeps the previous generation (a server may answer from it for a second after the manifest moves
on) and drops older ones. Vectors are normalised and searched by inner product (metric IP), the scores
of FAISS IndexFlatIP; FLAT (exact) up to the exact-search limit, IVF lists past it. pymilvus is imported
only here and only when a Milvus index is written or searched.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cqbot.errors import CqbotError, IndexCorruptError, IndexMissingError
from cqbot.milvus.client import (
    GENERATION,
    Location,
    acquire,
    close,
    close_lite_server,
    first_line,
    held_elsewhere,
    in_use,
    open_client,
    pymilvus,
    release,
)
from cqbot.records import Chunk

PK = "row"
VECTOR = "vector"
KINDS = ("chunks", "units")
BATCH = 2000  # rows per insert: 3 MB of 384-d vectors, far below Milvus's 64 MB message limit
NPROBE = 128  # the IVF lists searched, as for FAISS (index.IVF_NPROBE, measured in RESULTS.md)
_MISSING = np.finfo(np.float32).min  # FAISS's score where fewer than k vectors exist


@dataclass(frozen=True)
class MilvusPlan:
    """The Milvus index a build asks for: exact (FLAT) or IVF with `nlist` lists."""

    nlist: int = 0

    @property
    def kind(self) -> str:
        return f"milvus-ivf-{self.nlist}" if self.nlist else "milvus-flat"

    @classmethod
    def from_kind(cls, kind: str) -> MilvusPlan:
        return cls(int(kind.rsplit("-", 1)[1])) if kind.startswith("milvus-ivf-") else cls()


@dataclass(frozen=True)
class VectorTable:
    """One collection's rows: vectors and, per row, document id, character offsets and chunk row."""

    vectors: np.ndarray
    doc_ids: Sequence[str]
    starts: np.ndarray
    ends: np.ndarray
    chunk_rows: np.ndarray


def _tables(
    chunks: Sequence[Chunk], chunk_vectors: np.ndarray, spans: np.ndarray, unit_vectors: np.ndarray
) -> tuple[VectorTable, VectorTable]:
    """The chunk table and the sentence-unit table (spans: chunk row, start, end) of one generation."""
    doc_ids = [c.doc_id for c in chunks]
    rows = np.arange(len(chunks), dtype=np.int64)
    starts = np.array([c.start for c in chunks], dtype=np.int64)
    ends = np.array([c.end for c in chunks], dtype=np.int64)
    units = VectorTable(
        unit_vectors, [doc_ids[r] for r in spans[:, 0].tolist()], spans[:, 1], spans[:, 2], spans[:, 0]
    )
    return VectorTable(chunk_vectors, doc_ids, starts, ends, rows), units


class MilvusVectors:
    """One collection searched like a FAISS index: `search(queries, k) -> (scores, rows)`, rows -1 where
    fewer exist. A Lite database is opened at the first search, so loading an index (as a build does
    for its previous one) never takes the lock a running server holds."""

    def __init__(self, uri: str, collection: str, ntotal: int, plan: MilvusPlan, *, lazy: bool) -> None:
        self.uri = uri
        self.collection = collection
        self.ntotal = ntotal
        params: dict[str, Any] = {"nprobe": min(NPROBE, plan.nlist)} if plan.nlist else {}
        self._search_params = {"metric_type": "IP", "params": params}
        self._client: Any = None
        self._connecting = threading.Lock()
        if not lazy:
            self._connect()

    def _connect(self) -> Any:
        with self._connecting:
            if self._client is None:
                client = acquire(self.uri)
                weakref.finalize(self, release, self.uri)
                try:
                    if not client.has_collection(self.collection):
                        raise IndexCorruptError(
                            f"Milvus at {self.uri} has no collection {self.collection}; "
                            "run: cqbot build --full"
                        )
                    client.load_collection(self.collection)
                    got = _count(client, self.collection)
                except IndexCorruptError:
                    raise
                except Exception as exc:
                    raise IndexMissingError(
                        f"Milvus at {self.uri} failed ({first_line(exc)}); run: cqbot build --full"
                    ) from exc
                if got != self.ntotal:
                    raise IndexCorruptError(
                        f"Milvus collection {self.collection} has {got} vectors, the index "
                        f"{self.ntotal}; run: cqbot build --full"
                    )
                self._client = client
            return self._client

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        client = self._connect()
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, queries.shape[-1])
        scores = np.full((len(queries), k), _MISSING, dtype=np.float32)
        rows = np.full((len(queries), k), -1, dtype=np.int64)
        if self.ntotal == 0 or not len(queries):
            return scores, rows
        try:
            found = client.search(
                self.collection,
                data=list(queries),
                limit=k,
                anns_field=VECTOR,
                search_params=self._search_params,
                output_fields=[PK],  # without it every hit carries its whole vector back
            )
        except Exception as exc:
            raise IndexMissingError(
                f"Milvus search at {self.uri} failed ({first_line(exc)}); run: cqbot build --full"
            ) from exc
        for i, hits in enumerate(found):
            for j, hit in enumerate(list(hits)[:k]):
                rows[i, j] = int(hit[PK])
                scores[i, j] = float(hit["distance"])
        return scores, rows


def _count(client: Any, collection: str) -> int:
    got = client.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(got[0]["count(*)"])


def open_generation(
    location: Location, generation: str, prefix: str, counts: tuple[int, int], kinds: tuple[str, str]
) -> tuple[MilvusVectors, MilvusVectors]:
    """The chunk and unit collections of one generation (a server is reached now, Lite at first search)."""
    if location.server:
        uri = location.uri
    else:
        path = location.lite_path(generation)
        if not path.exists():
            raise IndexCorruptError(
                f"index in {location.directory}/ keeps its vectors in {path}, which is missing; "
                "run: cqbot build --full"
            )
        uri = str(path)
    chunks, units = (
        MilvusVectors(uri, f"{prefix}_{name}", n, MilvusPlan.from_kind(kind), lazy=not location.server)
        for name, n, kind in zip(KINDS, counts, kinds, strict=True)
    )
    return chunks, units


def write_generation(
    location: Location,
    generation: str,
    chunks: Sequence[Chunk],
    chunk_vectors: np.ndarray,
    spans: np.ndarray,
    unit_vectors: np.ndarray,
    plans: Sequence[MilvusPlan],
) -> str:
    """Write the chunk and unit collections of one generation and return their prefix; a Lite
    database appears whole (written aside, then renamed)."""
    prefix = location.prefix(generation)
    tables = _tables(chunks, chunk_vectors, spans, unit_vectors)
    if location.server:
        client = acquire(location.uri)
        try:
            _write(client, location.uri, prefix, tables, plans)
        finally:
            release(location.uri)
        return prefix
    final = location.lite_path(generation)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}.db")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        client = open_client(str(tmp))
        try:
            _write(client, str(final), prefix, tables, plans)
        finally:
            close(client, str(tmp))
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return prefix


def _write(
    client: Any, uri: str, prefix: str, tables: Sequence[VectorTable], plans: Sequence[MilvusPlan]
) -> None:
    try:
        _write_tables(client, prefix, tables, plans)
    except CqbotError:
        raise
    except Exception as exc:  # pymilvus and Milvus Lite raise their own kinds
        raise IndexMissingError(
            f"writing vectors to Milvus at {uri} failed ({first_line(exc)}); the index in use is "
            "unchanged: fix that and run cqbot build again"
        ) from exc


def _write_tables(
    client: Any, prefix: str, tables: Sequence[VectorTable], plans: Sequence[MilvusPlan]
) -> None:
    types = pymilvus().DataType
    for name, table, plan in zip(KINDS, tables, plans, strict=True):
        collection = f"{prefix}_{name}"
        longest = max((len(d.encode("utf-8")) for d in table.doc_ids), default=1)
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(PK, types.INT64, is_primary=True)
        schema.add_field(VECTOR, types.FLOAT_VECTOR, dim=int(table.vectors.shape[1]))
        schema.add_field("doc_id", types.VARCHAR, max_length=min(65_535, max(256, longest)))
        for field in ("start", "end", "chunk_row"):
            schema.add_field(field, types.INT64)
        if client.has_collection(collection):
            client.drop_collection(collection)
        client.create_collection(collection, schema=schema)
        vectors = np.ascontiguousarray(table.vectors, dtype=np.float32)
        for first in range(0, len(vectors), BATCH):
            client.insert(
                collection,
                [
                    {
                        PK: row,
                        VECTOR: vectors[row],
                        "doc_id": table.doc_ids[row],
                        "start": int(table.starts[row]),
                        "end": int(table.ends[row]),
                        "chunk_row": int(table.chunk_rows[row]),
                    }
                    for row in range(first, min(first + BATCH, len(vectors)))
                ],
            )
        client.flush(collection)
        params = client.prepare_index_params()
        if plan.nlist:  # a server past the exact-search limit: SQ8 lists, as FAISS there
            params.add_index(VECTOR, index_type="IVF_SQ8", metric_type="IP", params={"nlist": plan.nlist})
        else:
            params.add_index(VECTOR, index_type="FLAT", metric_type="IP")
        client.create_index(collection, params)
        client.load_collection(collection)
        if _count(client, collection) != len(vectors):
            raise IndexCorruptError(f"Milvus kept fewer vectors than written in {collection}; build again")


def drop_generations(location: Location, keep: Collection[str]) -> None:
    """Drop the vectors of every generation of this index folder except those in `keep`."""
    if location.server:
        pattern = re.compile(rf"({re.escape(location.prefix(''))}{GENERATION})_(?:{'|'.join(KINDS)})")
        kept = {location.prefix(g) for g in keep}
        client = acquire(location.uri)
        try:
            for name in client.list_collections():
                match = pattern.fullmatch(name)
                if match and match.group(1) not in kept:
                    client.drop_collection(name)
        finally:
            release(location.uri)
        return
    base = location.lite_path("x").parent
    kept_paths = {location.lite_path(g) for g in keep}
    for path in base.iterdir() if base.is_dir() else ():
        if path in kept_paths or not location.is_lite_file(path):
            continue
        if in_use(str(path)) or held_elsewhere(path):  # still searched here or by a server: a later build
            continue
        close_lite_server(str(path))
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:  # a Milvus Lite 2.x database is one file
            path.unlink(missing_ok=True)
