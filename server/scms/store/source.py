"""Reading code ranges as evidence: text checks (binary, UTF-8, size), language, content hash, git commit."""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path, PurePath

from scms.errors import InvalidInput, NotFound
from scms.model import Evidence
from scms.text import content_hash, lines_of

LANGUAGES = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescriptreact", ".go": "go", ".rs": "rust",
    ".java": "java", ".kt": "kotlin", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp",
    ".cs": "csharp", ".rb": "ruby", ".php": "php", ".swift": "swift", ".scala": "scala", ".sh": "shellscript",
    ".sql": "sql", ".md": "markdown", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json",
}


@dataclass(frozen=True)
class CodeRange:
    text: str
    evidence: Evidence
    language: str | None


def language_of(path: str) -> str | None:
    return LANGUAGES.get(Path(path).suffix.lower())


def check_text(data: bytes, name: str, max_bytes: int) -> str:
    """Decoded text, or InvalidInput saying why these bytes are not usable source code."""
    if len(data) > max_bytes:
        raise InvalidInput(f"{name} is too large ({len(data):,} bytes; the limit is {max_bytes:,})", field="uri")
    if b"\x00" in data[:8192]:
        raise InvalidInput(f"{name} looks binary (it contains NUL bytes)", field="uri")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"{name} is not UTF-8 text (bad byte at offset {err.start})", field="uri") from None


def read_text(path: Path, max_bytes: int, *, shown: str | Path | None = None, field: str | None = "uri") -> str:
    """A file's text, checked: a folder, a missing, unreadable, huge, binary or non-UTF-8 file is refused by
    name, and no more than the limit is ever read."""
    label = str(shown) if shown is not None else path.name  # what a complaint about the content names
    shown = shown or path
    if path.is_dir():
        raise InvalidInput(f"{shown} is a folder, not a file", field=field)
    if not path.is_file():
        raise NotFound(f"{shown}: no such file", field=field)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InvalidInput(f"{label} is too large ({size:,} bytes; the limit is {max_bytes:,})", field=field)
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as err:
        raise InvalidInput(f"{shown}: cannot be read ({err.strerror or err})", field=field) from None
    return check_text(data, label, max_bytes)


def read_range(workspace: Path, file: str | Path, start_line: int, end_line: int, max_bytes: int) -> CodeRange:
    """Lines start_line..end_line (1-based, inclusive) of a file, as evidence for the workspace."""
    path = Path(os.path.abspath(file))
    if PurePath(_relative(workspace, path)).is_absolute():
        raise outside_workspace(workspace, path)
    text = read_text(path, max_bytes, shown=file, field=None)
    return code_range(workspace, path, text, start_line, end_line)


def code_range(workspace: Path, path: Path, text: str, start_line: int, end_line: int, *,
               commit: bool = True) -> CodeRange:
    """Lines start_line..end_line (1-based, inclusive) of a file's text, with their evidence."""
    lines = lines_of(text)
    if start_line < 1 or end_line < start_line:
        raise InvalidInput(f"range {start_line}-{end_line} is not a valid range (lines count from 1, start <= end)",
                           field="range")
    if end_line > len(lines):
        raise InvalidInput(f"range {start_line}-{end_line} is outside {path.name}, which has {len(lines)} lines",
                           field="range")
    return code_of_lines(workspace, path, lines[start_line - 1:end_line], start_line, commit=commit)


def code_of_lines(workspace: Path, path: Path, lines: list[str], start_line: int, *, commit: bool = True) -> CodeRange:
    """Lines already cut out of a file (the first is start_line), as a snippet with its evidence."""
    end_line = start_line + len(lines) - 1
    snippet = textwrap.dedent("\n".join(line.rstrip() for line in lines)).strip("\n")
    if not snippet.strip():
        raise InvalidInput(f"lines {start_line}-{end_line} of {path.name} are blank", field="range")
    evidence = Evidence(file=_relative(workspace, path), start_line=start_line, end_line=end_line,
                        content_hash=content_hash(snippet), commit=git_head(workspace) if commit else None)
    return CodeRange(text=snippet, evidence=evidence, language=language_of(path.name))


def inside(workspace: Path, file: str | Path, field: str = "uri") -> Path:
    """The absolute path of `file` (relative ones from the workspace root), refused when it leaves the workspace."""
    path = Path(os.path.abspath(workspace / file))
    if PurePath(_relative(workspace, path)).is_absolute():
        raise outside_workspace(workspace, path, field)
    return path


def outside_workspace(workspace: Path, file: str | Path, field: str = "uri") -> InvalidInput:
    return InvalidInput(f"{file} is outside the workspace ({workspace}); only code inside it can be remembered "
                        "or used as a context", field=field)


def _relative(workspace: Path, path: Path) -> str:
    """The path relative to the workspace, or absolute when it leaves it: by its name (`..` resolved) or
    through a link (its real path outside the workspace's real path)."""
    lexical = Path(os.path.normpath(path))
    try:
        relative = lexical.relative_to(workspace)
    except ValueError:
        try:
            relative = lexical.relative_to(workspace.resolve())
        except ValueError:
            return lexical.as_posix()
    try:
        path.resolve().relative_to(workspace.resolve())
    except (ValueError, OSError, RuntimeError):  # a link out of the workspace, or a loop of links
        return lexical.as_posix()
    return relative.as_posix()


def git_head(workspace: Path) -> str | None:
    """The commit checked out in the workspace's git repository, read from .git without running git."""
    for root in (workspace, *workspace.parents):
        git = root / ".git"
        if git.is_file():  # a worktree or submodule: "gitdir: <path>"
            target = git.read_text(encoding="utf-8", errors="replace").partition("gitdir:")[2].strip()
            git = (root / target).resolve()
        if git.is_dir():
            return _resolve_head(git)
    return None


def _resolve_head(git: Path) -> str | None:
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head or None
    ref = head[4:].strip()
    common = git
    commondir = git / "commondir"
    if commondir.is_file():
        common = (git / commondir.read_text(encoding="utf-8").strip()).resolve()
    for base in (git, common):
        ref_file = base / ref
        if ref_file.is_file():
            return ref_file.read_text(encoding="utf-8").strip() or None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha
    return None  # a branch with no commits yet
