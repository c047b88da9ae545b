"""Atomic writes: a file or folder is written beside its final path under a temporary name, then
renamed over it, so a reader sees the old one or the new one, never half of either."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _temporary(path: Path) -> Path:
    """A fresh name beside `path`. Not mkstemp: its 0600 mode would survive the rename, and an index
    built by one user could not be served by another."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def write_atomic(path: Path, write: Callable[[Path], object], *, sync: bool = False) -> None:
    """Call write(temporary path) and rename the result to `path`; `sync`: flush it to disk first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    try:
        write(tmp)
        if sync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, lambda tmp: tmp.write_bytes(data))


def write_npy_atomic(path: Path, array: np.ndarray, *, sync: bool = False) -> None:
    def save(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.save would add ".npy" to the temporary name
            np.save(fh, array)

    write_atomic(path, save, sync=sync)


def write_dir_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call write(temporary folder) and put the folder in place of `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    try:
        tmp.mkdir()
        write(tmp)
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
