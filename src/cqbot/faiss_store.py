"""FAISS, the default vector search: exact inner product for small corpora, IVF past a limit."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from cqbot.errors import IndexCorruptError

# Past the exact-search limit: IVF with 8-bit scalar-quantised lists. Measured (benchmarks/RESULTS.md,
# scale section): at 1M vectors HNSW (M=32) took 15 min to build and reached recall@10 0.87 at
# efSearch 512; IVF with 2048 lists (the power of two at or below 4 sqrt n) and nprobe 128 reached 0.966
# with float32 lists (9 ms a query, 1.5 GB) and 0.981 with SQ8 lists (5.8 ms, 0.4 GB, 32 s build).
IVF_NPROBE = 128
IVF_TRAIN_PER_LIST = 64


def faiss_module() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise IndexCorruptError("faiss is not installed; run: pip install faiss-cpu") from exc
    return faiss


def ivf_lists(n: int) -> int:
    """Number of IVF lists for n vectors: a power of two near 4 sqrt(n), with >= 39 vectors per list."""
    target = max(1, min(4 * math.sqrt(n), n / 39))
    return 2 ** max(0, int(math.log2(target)))


def build_faiss(vectors: np.ndarray, exact_limit: int) -> tuple[Any, str]:
    """Exact inner-product search up to `exact_limit` vectors, IVF (SQ8 lists) past it; and its kind."""
    n, dim = vectors.shape
    faiss = faiss_module()
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    if n <= exact_limit:
        index = faiss.IndexFlatIP(dim)
        kind = "flat-ip"
    else:
        nlist = ivf_lists(n)
        # 8-bit scalar quantisation: a quarter of the memory of float32 vectors in the lists
        index = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        sample = min(n, IVF_TRAIN_PER_LIST * nlist)
        rows = np.random.default_rng(0).choice(n, size=sample, replace=False) if sample < n else slice(None)
        index.train(data[rows])
        index.nprobe = min(nlist, IVF_NPROBE)
        kind = f"ivf-sq8-{nlist}"
    if n:
        index.add(data)
    return index, kind


def read_faiss(path: Path) -> Any:
    # Not memory-mapped: at 100k chunks a mapped IVF index made asking 50 % slower and saved ~5 % RSS.
    return faiss_module().read_index(str(path))


def single_threaded_search() -> None:
    """One FAISS thread for single-query search: measured faster than two (exact 100k: 14 -> 10 ms)."""
    faiss_module().omp_set_num_threads(1)
