"""A workspace's `.scms/` folder: where it is, its database, its patterns folder and its .gitignore."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from scms.atomic import atomic_write
from scms.config import Settings
from scms.errors import NotFound, StoreError
from scms.store.db import Database
from scms.store.recovery import open_store
from scms.store.projection import now_utc

GITIGNORE = """\
# SCMS keeps its local state out of git; patterns/ (the validated tier) is shared through git.
scms.db
scms.db-*
model/
index/
sessions/
discovery/
*.tmp
"""


def find_root(start: Path) -> Path:
    """The nearest folder holding `.scms/` or `.git`, going up from start; start itself if none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".scms").is_dir() or (folder / ".git").exists():
            return folder
    return start


@dataclass
class Workspace:
    root: Path
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = field(default=now_utc)
    notices: list[str] = field(default_factory=list)  # what opening it found (a damaged store moved aside)

    @property
    def scms_dir(self) -> Path:
        return self.root / ".scms"

    @property
    def patterns_dir(self) -> Path:
        return self.scms_dir / "patterns"

    @classmethod
    def open(cls, root: Path, settings: Settings | None = None,
             clock: Callable[[], datetime] = now_utc) -> "Workspace":
        root = Path(root)
        if not root.is_dir():
            raise NotFound(f"workspace {root} does not exist or is not a folder")
        scms_dir = root / ".scms"
        _refuse_links(scms_dir)
        try:
            scms_dir.mkdir(exist_ok=True)
            if os.access(scms_dir, os.W_OK):  # else a read-only store, read as it is (see Database)
                (scms_dir / "patterns").mkdir(exist_ok=True)
                _keep_ignored(scms_dir / ".gitignore")
        except OSError as err:
            raise StoreError(f"cannot create {scms_dir}: {err.strerror or err}") from None
        database, notices = open_store(scms_dir / "scms.db")
        return cls(root=root.resolve(), settings=settings or Settings(), db=database, clock=clock, notices=notices)

    def close(self) -> None:
        self.db.close()


FOLDERS = ("patterns", "index", "model", "sessions", "discovery")
FILES = ("scms.db", "scms.db-wal", "scms.db-shm", "scms.db-journal", ".gitignore")


def _refuse_links(scms_dir: Path) -> None:
    """`.scms/` and what SCMS writes in it must be plain folders and files: a link a cloned repository commits
    there (to another database, to a folder elsewhere) would make SCMS read and write outside the workspace."""
    checks = [(scms_dir, "folder")] + [(scms_dir / name, "folder") for name in FOLDERS] \
        + [(scms_dir / name, "file") for name in FILES]
    for path, kind in checks:
        if path.is_symlink():
            raise StoreError(f"{path} is a link; SCMS keeps its state only in plain files and folders inside the "
                             f"workspace. Remove the link (a cloned repository may have committed it) and reopen")
        if path.exists() and (path.is_dir() if kind == "file" else not path.is_dir()):
            raise StoreError(f"{path} should be a {kind}; move it away and reopen")
        if kind == "folder" and path == scms_dir and not path.exists():
            return


def _keep_ignored(ignore: Path) -> None:
    """`.scms/.gitignore`: written when missing; SCMS's own (its first line) gains the entries a newer version
    keeps local; one a person wrote is left alone."""
    if not ignore.exists():
        atomic_write(ignore, GITIGNORE)
        return
    text = ignore.read_text(encoding="utf-8", errors="replace")
    if not text.startswith(GITIGNORE.splitlines()[0]):
        return
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in GITIGNORE.splitlines() if line and line not in present]
    if missing:
        atomic_write(ignore, text.rstrip("\n") + "\n" + "\n".join(missing) + "\n")
