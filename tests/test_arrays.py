"""RowFile: rows of a .npy file read on demand, equal to what numpy reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cqbot.model.arrays import RowFile


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = np.random.default_rng(3).standard_normal((50, 7)).astype(np.float32)
    path = tmp_path / "v.npy"
    np.save(path, data)
    return path, data


def test_rows_equal_numpy(saved: tuple[Path, np.ndarray]) -> None:
    path, data = saved
    rows = RowFile(path)
    assert rows.shape == (50, 7) and len(rows) == 50 and rows.dtype == np.float32
    assert np.array_equal(rows.rows(4), data[4]) and np.array_equal(rows[-1], data[-1])
    picks = np.array([[3, 3, 49], [0, 10, 3]])
    assert np.array_equal(rows.rows(picks), data[picks])
    assert np.array_equal(rows[[5, 1]], data[[5, 1]]) and np.array_equal(rows[2:9:3], data[2:9:3])
    assert np.array_equal(np.asarray(rows), data) and np.array_equal(rows.read_all(), data)
    assert rows.rows([]).shape == (0, 7)


def test_bad_rows_and_files_are_errors(saved: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _data = saved
    with pytest.raises(IndexError):
        RowFile(path).rows([0, 50])
    cut = tmp_path / "cut.npy"
    cut.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        RowFile(cut)
    flat = tmp_path / "flat.npy"
    np.save(flat, np.arange(5))
    with pytest.raises(ValueError, match="2-D"):
        RowFile(flat)


def test_rows_stay_readable_after_the_file_is_replaced(saved: tuple[Path, np.ndarray]) -> None:
    path, data = saved
    rows = RowFile(path)
    np.save(path.with_name("new.npy"), data * 0)
    path.with_name("new.npy").replace(path)  # what a rebuild does to the file a running bot reads
    assert np.array_equal(rows.rows(7), data[7])
