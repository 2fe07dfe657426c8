"""The one atomic write (`scms.atomic`): the file is whole or untouched, its folder is fsynced, no temp file
is left behind, and every place SCMS writes a file goes through it."""

from __future__ import annotations

import os
import re
import stat
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from scms import atomic
from scms.atomic import atomic_write
from scms.model import Pattern

TEMP = re.compile(r"^\.(?P<name>.+)\.\d+\.\d+\.[0-9a-f]{6}\.tmp$")


def _pattern() -> Pattern:
    stamp = datetime(2026, 11, 1, tzinfo=timezone.utc)
    return Pattern(id="abc123", title="Copy in chunks", snippet="x = 1", created=stamp, updated=stamp,
                   decay_anchor=stamp)


def test_text_and_bytes_are_written_whole_and_replace_the_old_file(tmp_path: Path):
    target = tmp_path / "f.txt"
    atomic_write(target, "first\r\nline\n")
    assert target.read_bytes() == b"first\r\nline\n"  # newlines as given, not translated
    atomic_write(target, memoryview(b"\x00\x01" * 100_000))
    assert target.read_bytes() == b"\x00\x01" * 100_000
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch, failing: str):
    target = tmp_path / "f.txt"
    atomic_write(target, "old\n")

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if failing == "write":
        monkeypatch.setattr(atomic, "open", lambda fd, mode: _FailingHandle(fd), raising=False)
    else:
        monkeypatch.setattr(os, failing, no_space)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, "new\n")
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


class _FailingHandle:
    """A file whose write fails, as on a full disk."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)
        return False

    def write(self, data):
        raise OSError(28, "No space left on device")


def test_the_file_and_then_its_folder_are_fsynced(tmp_path: Path, monkeypatch):
    synced: list[tuple[bool, int]] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        info = os.fstat(fd)
        synced.append((stat.S_ISDIR(info.st_mode), info.st_ino))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    atomic_write(tmp_path / "f.txt", "x")
    assert synced[0][0] is False  # the temp file, before the rename
    assert synced[-1] == (True, tmp_path.stat().st_ino)  # the folder, after it


def test_every_writer_goes_through_the_one_helper(tmp_path: Path, monkeypatch):
    """Pattern files, the memory model, the vector indexes and their watermark, the lexical snapshot and
    the .gitignore: each is written to a temp file in its own folder, renamed, and the folder fsynced."""
    import torch

    from scms.learn import persist
    from scms.recall import lexical_snapshot
    from scms.recall.lexical import LexicalIndex
    from scms.recall.vectors import VectorIndex
    from scms.store import files
    from scms.store.workspace import Workspace

    renamed: list[tuple[Path, Path]] = []
    folders: list[Path] = []
    real_replace, real_fsync_folder = os.replace, atomic.fsync_folder

    def recording_replace(src, dst):
        renamed.append((Path(src), Path(dst)))
        real_replace(src, dst)

    def recording_fsync_folder(folder):
        folders.append(Path(folder))
        real_fsync_folder(folder)

    monkeypatch.setattr(os, "replace", recording_replace)
    monkeypatch.setattr(atomic, "fsync_folder", recording_fsync_folder)

    workspace = Workspace.open(tmp_path)
    try:
        pattern_file = files.write(workspace.patterns_dir, _pattern())
        persist.write(tmp_path / ".scms" / "model" / persist.FILE, {"format": 1, "weights": torch.zeros(3)})
        index = VectorIndex(4)
        index.add("p1", "session", np.array([1, 0, 0, 0], dtype=np.float32))
        index.save(tmp_path / ".scms" / "index" / "m", 1, "stamp")
        lexical = LexicalIndex()
        lexical.upsert("p1", "copy file chunk")
        lexical_snapshot.save(lexical.live_rows(), tmp_path / ".scms" / "index", 1, "stamp")
    finally:
        workspace.close()
    written = {dst for _, dst in renamed}
    expected = {tmp_path / ".scms" / ".gitignore", pattern_file, tmp_path / ".scms" / "model" / persist.FILE,
                tmp_path / ".scms" / "index" / "m" / "session.faiss",
                tmp_path / ".scms" / "index" / "m" / "validated.faiss",
                tmp_path / ".scms" / "index" / "m" / "watermark.json",
                tmp_path / ".scms" / "index" / lexical_snapshot.FILE}
    assert expected <= written
    for src, dst in renamed:
        if dst in expected:
            match = TEMP.match(src.name)
            assert src.parent == dst.parent and match and match["name"] == dst.name, (src, dst)
            assert dst.parent in folders
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers
    loaded = VectorIndex.load(tmp_path / ".scms" / "index" / "m", 4)
    assert loaded is not None and loaded[0].search(np.array([1, 0, 0, 0], dtype=np.float32), 1)[0][0] == "p1"
