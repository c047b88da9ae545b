"""Rows of a 2-D .npy file read on demand (vectors, the word-embedding table), not held in memory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


class RowFile:
    """A read-only 2-D array on disk; indexing reads just the rows asked for.

    Rows are read with pread, not through a memory map: a mapped file read at random rows ends up
    resident almost whole (the kernel maps 64 KB around every fault, MADV_RANDOM or not; measured 97 of
    100 MB after 1,000 random rows), so a warm bot would hold every vector file it has. Reads are
    thread-safe; the open file keeps its rows readable even after a rebuild replaces it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            fmt = np.lib.format
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, dtype = read_header(fh)
            self._offset = fh.tell()
        if len(shape) != 2 or fortran or dtype.hasobject:
            raise ValueError(f"{path.name} is not a plain 2-D array")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = dtype
        self._row_bytes = self.shape[1] * dtype.itemsize
        if path.stat().st_size < self._offset + self.shape[0] * self._row_bytes:
            raise ValueError(f"{path.name} is truncated")
        self._fd = os.open(path, os.O_RDONLY)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, start: int, count: int) -> np.ndarray:
        buf = os.pread(self._fd, count * self._row_bytes, self._offset + start * self._row_bytes)
        if len(buf) != count * self._row_bytes:
            raise ValueError(f"{self.path.name} is truncated")
        return np.frombuffer(buf, dtype=self.dtype).reshape(count, self.shape[1])

    def rows(self, index: Any) -> np.ndarray:
        """The rows at these positions (an int or an int array of any shape), shape index.shape + (dim,)."""
        wanted = np.asarray(index, dtype=np.int64)
        if wanted.size and (wanted.min() < -len(self) or wanted.max() >= len(self)):
            raise IndexError(f"row out of range for {self.path.name} ({len(self)} rows)")
        wanted = np.where(wanted < 0, wanted + len(self), wanted)
        unique, inverse = np.unique(wanted, return_inverse=True)
        got = np.empty((len(unique), self.shape[1]), dtype=self.dtype)
        for i, row in enumerate(unique.tolist()):
            got[i] = self._read(row, 1)[0]
        return got[inverse.reshape(wanted.shape)]

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            return self.rows(np.arange(*key.indices(len(self))))
        return self.rows(key)

    def read_all(self) -> np.ndarray:
        """Every row, in memory (a rebuild's vector cache)."""
        return self._read(0, len(self)).copy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self.read_all()
        return whole if dtype is None else whole.astype(dtype)
