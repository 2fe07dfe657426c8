"""Shapes the user dismissed, never suggested again: `.scms/discovery/dismissed.txt` (local state, git-ignored).

One shape hash per line, optionally followed by `# title`; blank lines and `#` comment lines are free text.
The file is written atomically and re-read whenever it changes on disk, so a hand edit (deleting a line to
see a shape again, adding a note) takes effect at once. Reading is tolerant: a line that is not a shape
hash is skipped with a warning naming the line, and kept as it is when the file is next written. Writing
normalises only line endings, trailing spaces and upper-case hashes; bytes that are not UTF-8 are kept too.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

from scms.atomic import atomic_write

log = logging.getLogger("scms")

HEADER = ("# Shapes SCMS discovery will not suggest again: one shape hash per line, then an optional # title.\n"
          "# Delete a line to have that shape suggested again.\n")
_LINE = re.compile(r"^([0-9a-fA-F]{12})(?:\s+#\s?(.*)|\s*)$")


MAX_BYTES = 1_000_000  # a list of hashes with titles; more is not one


class Dismissed:
    """The dismissed shapes of one workspace, backed by a text file that people may edit."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None  # (mtime_ns, size) of what was read
        self._shapes: dict[str, str] = {}  # hash -> title
        self._lines: list[str] = []  # the file as read, for rewriting without losing anything
        self._readable = True
        self.warnings: list[str] = []  # about the file as last read

    def __contains__(self, shape: object) -> bool:
        return isinstance(shape, str) and shape.lower() in self.shapes()

    def shapes(self) -> dict[str, str]:
        """Dismissed shape hashes and their titles, re-read if the file changed since."""
        with self._lock:
            self._refresh()
            return dict(self._shapes)

    def add(self, shape: str, title: str = "") -> bool:
        """Dismiss a shape (False when it already was). The file is rewritten whole, atomically, keeping
        every line it had; when it cannot be read it is left alone and the dismissal lasts for this session."""
        shape = shape.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{12}", shape):
            raise ValueError(f"{shape!r} is not a shape hash (12 hexadecimal digits)")
        title = " ".join(title.split())
        with self._lock:
            self._refresh()
            if shape in self._shapes:
                return False
            self._shapes[shape] = title
            if not self._readable:
                log.warning("%s could not be read; the dismissal of %s is kept for this session only", self.path,
                            shape)
                return True
            lines = self._lines or HEADER.splitlines()
            lines = [*lines, f"{shape}  # {title}" if title else shape]
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(self.path, "".join(f"{line}\n" for line in lines).encode("utf-8", "surrogateescape"))
            except OSError as err:
                log.warning("cannot write %s (%s); the dismissal of %s is kept for this session only", self.path,
                            err.strerror or err, shape)
                return True
            self._lines = lines
            self._stamp = self._stat()
            return True

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _refresh(self) -> None:
        stamp = self._stat()
        if stamp == self._stamp and stamp is not None:
            return
        if stamp is None:  # no file (yet, or deleted by hand): nothing dismissed but this session's additions
            if self._stamp is not None:
                self._shapes, self._lines = {}, []
            self._stamp, self._readable, self.warnings = None, True, []
            return
        if self.path.is_symlink():  # not followed; the next dismissal replaces the link with SCMS's own file
            self._shapes, self._lines, self._stamp, self._readable = {}, [], stamp, True
            self.warnings = [f"{self.path}: is a link, not followed (it could point outside the workspace); a "
                             "dismissal replaces it with a plain file"]
            log.warning("%s", self.warnings[0])
            return
        try:
            if not self.path.is_file() or self.path.stat().st_size > MAX_BYTES:
                raise OSError(f"not a plain file, or over {MAX_BYTES:,} bytes")
            raw = self.path.read_bytes()
        except OSError as err:
            self._readable = False
            self.warnings = [f"{self.path}: cannot be read ({err.strerror or err}); dismissed shapes kept in memory"]
            log.warning("%s", self.warnings[0])
            return
        self._readable = True
        self._stamp = stamp
        self._lines, self._shapes, self.warnings = _parse(self.path, raw.decode("utf-8", "surrogateescape"))
        for warning in self.warnings:
            log.warning("%s", warning)


def _parse(path: Path, text: str) -> tuple[list[str], dict[str, str], list[str]]:
    """The file's normalised lines, the shapes they dismiss, and a warning per line that is not one."""
    lines: list[str] = []
    shapes: dict[str, str] = {}
    warnings: list[str] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        match = _LINE.match(stripped)
        if match:
            shape = match.group(1).lower()
            shapes.setdefault(shape, (match.group(2) or "").strip())
            line = line.replace(match.group(1), shape, 1)
        elif stripped and not stripped.startswith("#"):
            shown = stripped if len(stripped) <= 60 else stripped[:57] + "..."
            warnings.append(f"{os.fspath(path)}:{number}: not a shape hash, skipped: {shown!r}")
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()  # the final newline is written back; trailing blank lines are not kept
    return lines, shapes, warnings
