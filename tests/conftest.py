"""Shared fixtures: a workspace holding real code nobody here wrote (stdlib sources), and a steerable clock."""

from __future__ import annotations

import os
import shutil
import sysconfig
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from scms.memory import Memory

# the memory model's per-machine cache (scms.learn.ordinary_code) in a folder of this run's own: the tests and the
# servers they spawn share it, and the user's ~/.cache is left alone
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="scms-tests-cache-")
STDLIB = Path(sysconfig.get_paths()["stdlib"])
SOURCES = ["shutil.py", "textwrap.py", "json/decoder.py", "http/cookiejar.py", "functools.py", "tarfile.py"]


def line_of(path: Path, needle: str) -> int:
    """The 0-based line where `needle` first starts a line (after indentation) in a file."""
    for number, line in enumerate(path.read_text().splitlines()):
        if line.lstrip().startswith(needle):
            return number
    raise LookupError(f"{needle!r} not in {path}")


def stdlib_lines(file: str, needle: str, count: int) -> tuple[int, int]:
    """The 1-based first and last of `count` lines of a standard-library source, from the line `needle` starts:
    a range as `remember_lines` and the CLI take it, looked up (line numbers differ between Python versions)."""
    first = line_of(STDLIB / file, needle) + 1
    return first, first + count - 1


COPYFILEOBJ_LINES = stdlib_lines("shutil.py", "def copyfileobj(", 11)  # the def down to its loop's `break`
COPY_LINES = stdlib_lines("shutil.py", "def copy(", 17)  # the whole of shutil.copy
WRAP_LINES = stdlib_lines("textwrap.py", "def wrap(text,", 4)  # textwrap.wrap: its def and docstring start


class Clock:
    """A clock the test moves forward by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def stdlib_project(root: Path) -> Path:
    """A project at `root` whose src/ holds copies of some standard-library modules."""
    for name in SOURCES:
        target = root / "src" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(STDLIB / name, target)
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return stdlib_project(tmp_path / "project")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory(workspace: Path, clock: Clock):
    mem = Memory.open(workspace, clock=clock)
    yield mem
    mem.close()


def remember_lines(memory: Memory, file: str, start: int, end: int, **kwargs):
    return memory.remember(memory.code_from_file(memory.root / "src" / file, start, end), **kwargs)


def store_snapshot(root: Path) -> tuple[list, list, list[str]]:
    """Every event, every projection row and every pattern file: equal snapshots mean nothing changed."""
    import sqlite3

    conn = sqlite3.connect(root / ".scms" / "scms.db")
    try:
        events = conn.execute("SELECT * FROM events ORDER BY id").fetchall()
        rows = conn.execute("SELECT * FROM patterns ORDER BY id").fetchall()
    finally:
        conn.close()
    files = sorted(p.name + ":" + p.read_text() for p in (root / ".scms" / "patterns").glob("*"))
    return events, rows, files


def damage_table(db: Path, table: str = "pending_files") -> None:
    """Overwrite the first page of one table of a SQLite file: a damaged store, found on the first read of it."""
    import sqlite3

    conn = sqlite3.connect(db)
    [(page,)] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchall()
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    data[(page - 1) * size:page * size] = b"\xff" * size
    db.write_bytes(bytes(data))
