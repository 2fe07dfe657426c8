"""The files discovery mines in a workspace, and one pass over them.

In a git work tree the list is `git ls-files --cached --others --exclude-standard`: what git tracks plus what it
would track, so `.gitignore` (every level), `.git/info/exclude` and the global excludes file mean exactly what
they mean to git (a tracked file stays listed even if a pattern matches it, as in git). Elsewhere, or when git
is missing or slow, a walk honours every `.gitignore` it meets, with git's rules (the `pathspec` package).
Then the exclude globs of the settings (gitignore syntax, `**/node_modules/**`…), the languages tree-sitter
parses here, generated names, and at most `max_files` files (in path order). Each file is read once, within
the size limit; huge, binary, non-UTF-8, generated and minified files are skipped, and say why.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from scms.discover.generated import generated_name, generated_reason
from scms.discover.shapes import Unit, supported, units
from scms.errors import ScmsError
from scms.recall.syntax import MAX_PARSE_BYTES, Syntax
from scms.store.source import language_of, read_text

DEFAULT_EXCLUDE = ("**/node_modules/**", "**/.venv/**", "**/venv/**", "**/dist/**", "**/build/**",
                   "**/.scms/**", "**/.git/**", "**/.tox/**", "**/__pycache__/**")
MAX_FILES = 5_000
GIT_TIMEOUT = 20.0  # seconds for `git ls-files` before the walk is used instead


@dataclass(frozen=True)
class Listing:
    files: list[str]  # workspace-relative, forward slashes, sorted
    via: str  # "git" or "walk"
    left_out: int = 0  # minable files past max_files
    skipped: Counter = field(default_factory=Counter)  # reason -> count, for files not listed


@dataclass(frozen=True)
class Mined:
    """One file's result: its units, or why it was skipped."""

    file: str
    language: str | None
    units: list[Unit]
    skipped: str | None = None
    ticket: int = 0


class Rules:
    """What may be mined in one workspace: the exclude globs, `.gitignore` (through git when it is a git work
    tree, else by reading the files), the languages, generated names."""

    def __init__(self, root: Path, exclude: Iterable[str] = DEFAULT_EXCLUDE) -> None:
        self.root = Path(root)
        self.exclude = pathspec.GitIgnoreSpec.from_lines(list(exclude))
        self._ignores: dict[str, pathspec.GitIgnoreSpec | None] = {}  # folder -> its .gitignore, when walking

    def reason(self, file: str) -> str | None:
        """Why a workspace-relative file is not mined by name alone (None: it may be)."""
        if not supported(language_of(file)):
            return "language"
        if self.exclude.match_file(file):
            return "excluded by settings"
        if generated_name(file):
            return "generated"
        return None

    def listing(self, max_files: int = MAX_FILES) -> Listing:
        found = self._git_files()
        via = "git"
        if found is None:
            found, via = self._walk(), "walk"
        files: list[str] = []
        skipped: Counter = Counter()
        for file in sorted(set(found)):
            why = self.reason(file)
            path = self.root / file
            if why is None and (path.is_symlink() or not path.is_file()):
                why = "not a file"  # a symlink (it may lead out of the workspace), a submodule, a deleted file
            if why is None:
                files.append(file)
            else:
                skipped[why] += 1
        left_out = max(0, len(files) - max_files)
        return Listing(files[:max_files], via, left_out, skipped)

    def ignored(self, file: str) -> bool:
        """Whether `.gitignore` keeps this workspace-relative file out (asked for one file, such as a document
        being edited that no listing had)."""
        answer = self._git(["check-ignore", "-q", "--", file])
        if answer is not None:
            return answer[0] == 0
        parts = file.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if self._walk_ignored(folder, True):
                return True
        return self._walk_ignored(file, False)

    def _git(self, arguments: list[str]) -> tuple[int, bytes] | None:
        """Git's exit code and output, or None when git is missing, too slow, or this is no work tree."""
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
        try:
            done = subprocess.run(["git", "-C", str(self.root), *arguments], capture_output=True, env=env,
                                  timeout=GIT_TIMEOUT, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            return None  # no git, or too slow
        if done.returncode not in (0, 1):
            return None  # 128: not a work tree
        return done.returncode, done.stdout

    def _git_files(self) -> list[str] | None:
        answer = self._git(["ls-files", "--cached", "--others", "--exclude-standard", "-z"])
        if answer is None or answer[0] != 0:
            return None
        return [name.decode("utf-8", "surrogateescape") for name in answer[1].split(b"\0") if name]

    def _walk(self) -> list[str]:
        found: list[str] = []
        for folder, dirs, names in os.walk(self.root):
            base = Path(folder).relative_to(self.root).as_posix()
            base = "" if base == "." else base
            dirs[:] = sorted(d for d in dirs if d != ".git" and not self._walk_ignored(_join(base, d), True)
                             and not self.exclude.match_file(_join(base, d) + "/"))
            found.extend(rel for name in names if not self._walk_ignored(rel := _join(base, name), False))
        return found

    def _walk_ignored(self, rel: str, folder: bool) -> bool:
        """Git's answer for a path whose parent folders are not ignored: the deepest .gitignore that has an
        opinion decides, and within a file the last matching line."""
        parts = rel.split("/")
        decided = False
        for depth in range(len(parts)):
            spec = self._spec("/".join(parts[:depth]))
            if spec is None:
                continue
            result = spec.check_file("/".join(parts[depth:]) + ("/" if folder else ""))
            if result.include is not None:
                decided = result.include
        return decided

    def _spec(self, folder: str) -> pathspec.GitIgnoreSpec | None:
        if folder not in self._ignores:
            try:
                lines = (self.root / folder / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
                self._ignores[folder] = pathspec.GitIgnoreSpec.from_lines(lines)
            except (OSError, ValueError):
                self._ignores[folder] = None
        return self._ignores[folder]


def _join(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def mine(root: Path, file: str, syntax: Syntax, max_bytes: int, text: str | None = None, ticket: int = 0,
         **shape_options: int | bool) -> Mined:
    """One workspace-relative file's units: read here (once) unless its text is given."""
    language = language_of(file)
    try:
        if text is None:
            text = read_text(Path(root) / file, min(max_bytes, MAX_PARSE_BYTES), shown=file, field=None)
        elif len(text.encode("utf-8")) > min(max_bytes, MAX_PARSE_BYTES):
            return Mined(file, language, [], "too large", ticket)
    except ScmsError as err:
        reason = "too large" if "too large" in str(err) else "not readable text"
        return Mined(file, language, [], reason, ticket)
    why = generated_reason(file, text)
    if why is not None:
        return Mined(file, language, [], "generated" if why != "minified" else "minified", ticket)
    return Mined(file, language, units(text, language, syntax, **shape_options), None, ticket)  # type: ignore[arg-type]


def scan(root: Path, syntax: Syntax | None = None, *, exclude: Iterable[str] = DEFAULT_EXCLUDE,
         max_files: int = MAX_FILES, max_bytes: int = MAX_PARSE_BYTES,
         report: Callable[[int, int], None] | None = None, cancel: Callable[[], bool] | None = None,
         skip: Callable[[str], bool] | None = None, ticket: Callable[[], int] | None = None,
         listing: Listing | None = None, **shape_options: int | bool) -> Iterator[Mined]:
    """Mine the workspace's files one by one, each read once. `report(done, total)` is called at the start,
    at each whole percent and at the end; `cancel()` true stops the scan before the next file; `skip(file)`
    true leaves a file unread (a document the editor owns); `ticket()` numbers each read for latest-wins."""
    syntax = syntax or Syntax()
    listing = listing or Rules(root, exclude).listing(max_files)
    total = len(listing.files)
    shown = -1
    last = time.monotonic()
    for done, file in enumerate(listing.files):
        if cancel is not None and cancel():
            return
        if report is not None and (done * 100 // max(total, 1) != shown or time.monotonic() - last > 1.0):
            shown, last = done * 100 // max(total, 1), time.monotonic()
            report(done, total)
        if skip is not None and skip(file):
            continue
        yield mine(root, file, syntax, max_bytes, ticket=ticket() if ticket else 0, **shape_options)
    if report is not None:
        report(total, total)
