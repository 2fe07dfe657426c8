"""The one way SCMS writes a file (a leaf: it imports nothing from scms): whole or not at all.

The bytes go to a temp file in the target's folder, which is fsynced, renamed over the target, and the folder
fsynced so that the rename survives a crash; on any failure the temp file is removed and the old file is
left as it was. Pattern files, the memory model, the vector indexes and their watermark, and the lexical
snapshot are all written through `atomic_write`.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

Data = bytes | bytearray | memoryview | str


def atomic_write(path: Path, data: Data, encoding: str = "utf-8") -> None:
    """Replace `path` by `data` (text is encoded, its newlines kept as they are). The folder must exist."""
    path = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(3)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with open(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make renames and removals in this folder durable (POSIX; Windows cannot open a folder for it)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_orphans(path: Path) -> None:
    """Remove the temp files of `path` that a killed writer left (`.NAME.PID.TID.HEX.tmp` of a process that is
    gone): outside `.scms/` no .gitignore hides them from git."""
    path = Path(path)
    try:
        leftovers = list(path.parent.glob(f".{glob_escape(path.name)}.*.*.*.tmp"))
    except OSError:
        return
    for leftover in leftovers:
        pid = leftover.name[len(path.name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            leftover.unlink()
        except OSError:
            pass


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True
