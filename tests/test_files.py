"""files.py: a write either replaces the target whole or leaves it as it was, with the usual permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cqbot.files import write_dir_atomic, write_text_atomic


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_written_files_and_folders_get_the_modes_of_the_umask(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "sub" / "a.txt", "eins")
    write_dir_atomic(tmp_path / "folder", lambda d: (d / "b.txt").write_text("zwei"))
    assert (tmp_path / "sub" / "a.txt").read_text() == "eins"
    assert (tmp_path / "folder" / "b.txt").read_text() == "zwei"
    # not mkstemp's 0600: an index built by one user can be served by another
    assert (tmp_path / "sub" / "a.txt").stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o777 & ~_umask()


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    write_text_atomic(target, "old")

    def dying(path: Path) -> None:
        path.write_text("half")
        raise OSError("disk full")

    from cqbot.files import write_atomic

    with pytest.raises(OSError):
        write_atomic(target, dying)
    with pytest.raises(OSError):
        write_dir_atomic(tmp_path / "folder", dying)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
