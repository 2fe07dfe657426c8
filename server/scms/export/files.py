"""Careful file operations for the exporter: only files SCMS owns, never through a link or out of the workspace."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scms.atomic import atomic_write, remove_orphans, fsync_folder
from scms.errors import InvalidInput
from scms.export.formats import MARKER_PREFIX
from scms.export.report import ExportReport

PERSON = "written by a person (no SCMS marker); left as it is"


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _why(err: OSError) -> str:
    return err.strerror or type(err).__name__


def folder_problem(root: Path, folder: Path) -> str | None:
    """Why SCMS may not write into `folder` (under `root`): a part of it is a file, or a link that leads outside
    the workspace. None when it may (the folder need not exist yet)."""
    real_root = root.resolve()
    current = root
    for part in folder.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            target = current.resolve()
            if not target.is_relative_to(real_root):
                return f"{rel(root, current)} is a link to {target}, outside the workspace; nothing written there"
        if current.exists() and not current.is_dir():
            return f"{rel(root, current)} is a file, not a folder; nothing written there"
        if not current.exists() and current.is_symlink():
            return f"{rel(root, current)} is a broken link; nothing written there"
    return None


def owned(data: bytes) -> bool:
    """The marker is SCMS's first line, or its first line after the front matter."""
    lines = data.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    index = 0
    if lines and lines[0].strip() == "---":
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if closing is None:
            return False
        index = closing + 1
    return index < len(lines) and lines[index].startswith(MARKER_PREFIX)


def read_problem(root: Path, path: Path) -> str | None:
    """Why the file at `path` may not be replaced at all: a link, a folder, read-only."""
    if path.is_symlink():
        return "is a symbolic link; SCMS does not write through links; left as it is"
    if path.exists() and not path.is_file():
        return "is a folder or special file, not a file; left as it is"
    if path.exists() and not (path.stat().st_mode & stat.S_IWUSR):
        return "is read-only; left as it is"
    return None


def put(root: Path, path: Path, data: bytes, report: ExportReport, *, owner_check: bool = True) -> None:
    """Write `data` at `path` unless the bytes are already there, or the file is not SCMS's to write."""
    name = rel(root, path)
    problem = read_problem(root, path)
    if problem:
        report.skip(name, problem)
        return
    remove_orphans(path)  # a killed export's half-written temp file, which git would otherwise see
    try:
        existing = path.read_bytes() if path.exists() else None
    except OSError as err:
        report.skip(name, f"cannot be read ({_why(err)}); left as it is")
        return
    if existing is not None and owner_check and not owned(existing):
        report.skip(name, PERSON)
        return
    if existing == data:
        report.unchanged.append(name)
        return
    try:  # the rule files are committed: a secret must not reach them (a pulled pattern file is not scanned)
        from scms.secrets import check_text

        check_text(data.decode("utf-8", errors="replace"), name)
    except InvalidInput as err:
        report.skip(name, f"{err}; the file is left as it was")
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
    except OSError as err:
        report.skip(name, f"cannot be written ({_why(err)}); left as it was")
        return
    (report.written if existing is None else report.changed).append(name)


def remove(root: Path, path: Path, report: ExportReport) -> None:
    """Remove a file of SCMS's that no pattern stands behind any more (a person's file of the same name stays)."""
    name = rel(root, path)
    if path.is_symlink() or not path.is_file():
        return
    try:
        if not (path.stat().st_mode & stat.S_IWUSR) and owned(path.read_bytes()):
            report.skip(name, "is read-only; its pattern left the validated tier but the file was left as it is")
            return
        if not owned(path.read_bytes()):
            return
        path.unlink()
        fsync_folder(path.parent)
    except OSError as err:
        report.skip(name, f"cannot be removed ({_why(err)}); left as it is")
        return
    report.removed.append(name)


def listing(folder: Path, prefix: str, suffix: str) -> list[Path]:
    """The folder's files named `<prefix>…<suffix>` (none when the folder is missing or cannot be listed)."""
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return []
    return [folder / e for e in entries if e.startswith(prefix) and e.endswith(suffix)]
