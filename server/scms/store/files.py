"""The validated tier on disk: one markdown file per pattern (YAML front matter, body, fenced snippet)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from scms.atomic import atomic_write, fsync_folder
from scms.model import Evidence, Kind, Pattern
from scms.secrets import check_text
from scms.text import fence_for

_FENCE = re.compile(r"^(`{3,})([\w+#.-]*)\s*$")
_SLUG = re.compile(r"[^a-z0-9]+")
_STAMP = TypeAdapter(datetime)
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class MalformedPatternFile(ValueError):
    """A pattern file that cannot be read as one; the message says why."""


@dataclass(frozen=True)
class PatternFile:
    path: Path
    fields: dict[str, Any]  # JSON-ready: id, title, body, snippet, kind, languages, tags, evidence, …


def file_name(pattern: Pattern) -> str:
    slug = _SLUG.sub("-", pattern.title.lower()).strip("-")[:48].rstrip("-") or "pattern"
    return f"{slug}-{pattern.id}.md"


def render(pattern: Pattern) -> str:
    front = {
        "id": pattern.id,
        "title": pattern.title,
        "kind": pattern.kind.value,
        "languages": list(pattern.languages),
        "tags": list(pattern.tags),
        "evidence": [e.model_dump(mode="json", exclude_none=True) for e in pattern.evidence],
        "created": pattern.created.isoformat(),
        "promoted": pattern.promoted.isoformat() if pattern.promoted else None,
        "accepted_uses": pattern.accepted_uses,
    }
    fence = fence_for(pattern.snippet)
    language = pattern.languages[0] if pattern.languages else ""
    parts = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip("\n"), "---", ""]
    if pattern.body.strip():
        parts += [pattern.body.strip("\n"), ""]
    parts += [f"{fence}{language}", pattern.snippet.rstrip("\n"), fence, ""]
    return "\n".join(parts)


def check_secrets(pattern: Pattern) -> None:
    """Refuse a pattern whose file would hold a secret: InvalidInput naming `.scms/patterns/<file>`, the line
    of that file (as `render` would write it) and the kind of secret. Nothing is written either way."""
    check_text(render(pattern), f".scms/patterns/{file_name(pattern)}", field="patternId")


def parse(text: str, path: Path) -> PatternFile:
    """Read one pattern file; a missing id is derived from the file name so hand-written files work.

    Whatever goes wrong while reading it is a MalformedPatternFile naming the file and the problem."""
    try:
        return _parse(text, path)
    except MalformedPatternFile:
        raise
    except Exception as err:
        raise MalformedPatternFile(f"{path.name}: {_first_line(err)}") from None


def _parse(text: str, path: Path) -> PatternFile:
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        raise MalformedPatternFile(f"{path.name}: no YAML front matter (the file must start with '---')")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise MalformedPatternFile(f"{path.name}: the front matter is not closed by '---'") from None
    try:
        front = yaml.safe_load("\n".join(lines[1:end])) or {}
    except (yaml.YAMLError, ValueError, OverflowError) as err:
        raise MalformedPatternFile(f"{path.name}: invalid YAML front matter ({_first_line(err)})") from None
    if not isinstance(front, dict):
        raise MalformedPatternFile(f"{path.name}: the front matter must be a mapping of fields")
    body, snippet = _split_snippet(lines[end + 1:])
    fields: dict[str, Any] = {
        "id": str(front.get("id") or "f" + hashlib.sha256(path.stem.encode()).hexdigest()[:11]),
        "title": str(front.get("title") or _heading(body) or path.stem),
        "body": body,
        "snippet": snippet,
        "kind": front.get("kind", Kind.PATTERN.value),
        "languages": _string_list(front.get("languages", []), "languages", path),
        "tags": _string_list(front.get("tags", []), "tags", path),
        "evidence": front.get("evidence") or [],
        "accepted_uses": front.get("accepted_uses", 0),
    }
    if not _ID.fullmatch(fields["id"]):
        raise ValueError(f"id {fields['id']!r} may hold only letters, digits, '-' and '_' (at most 64)")
    Kind(fields["kind"])
    if not isinstance(fields["evidence"], list):
        raise ValueError("'evidence' must be a list of places (file, start_line, end_line, content_hash)")
    fields["evidence"] = [Evidence.model_validate(e).model_dump(mode="json") for e in fields["evidence"]]
    uses = fields["accepted_uses"]
    if isinstance(uses, bool) or not isinstance(uses, int):
        raise ValueError(f"accepted_uses must be a whole number, got {uses!r}")
    if uses < 0:
        raise ValueError("accepted_uses must not be negative")
    for stamp in ("created", "promoted"):
        if front.get(stamp):
            fields[stamp] = _stamp(front[stamp]).isoformat()
    return PatternFile(path=path, fields=fields)


def scan(directory: Path) -> tuple[dict[str, PatternFile], list[str]]:
    """Every readable pattern file by id, and one warning per file that was skipped."""
    found: dict[str, PatternFile] = {}
    parsed, warnings = _read_all(directory)
    for pattern_file in parsed:
        pattern_id = pattern_file.fields["id"]
        if pattern_id in found:
            warnings.append(f"{pattern_file.path.name}: id {pattern_id} already used by "
                            f"{found[pattern_id].path.name}; skipped")
            continue
        found[pattern_id] = pattern_file
    return found, warnings


_CONFLICT = re.compile(r"^<{7}(?: |$)", re.M)  # with a closing `>>>>>>>` line after it: a merge git left
_CONFLICT_END = re.compile(r"^>{7}(?: |$)", re.M)
_FRONT_ID = re.compile(r"^id:\s*['\"]?([A-Za-z0-9_-]{1,64})['\"]?\s*$", re.M)
_NAME_ID = re.compile(r"-([A-Za-z0-9_]{1,64})\.md$")


@dataclass(frozen=True)
class Conflict:
    """A pattern file that git left with conflict markers: its pattern keeps its last state until it is resolved."""

    path: Path
    line: int  # 1-based, of the first marker
    pattern_id: str | None


def conflicts(directory: Path) -> list[Conflict]:
    """Every pattern file holding git conflict markers (a `<<<<<<<` line, later a `>>>>>>>` line)."""
    found = []
    for path in sorted(directory.glob("*.md")) if directory.is_dir() else []:
        try:
            text, problem = plain_text(path)
        except (OSError, UnicodeDecodeError):
            continue
        if problem:
            continue
        marker = _conflict(text)
        if marker:
            named = _FRONT_ID.search(text) or _NAME_ID.search(path.name)
            found.append(Conflict(path, text.count("\n", 0, marker.start()) + 1, named.group(1) if named else None))
    return found


def _conflict(text: str) -> re.Match | None:
    start = _CONFLICT.search(text)
    return start if start and _CONFLICT_END.search(text, start.end()) else None


MAX_PATTERN_BYTES = 1_000_000  # a pattern file is a page of markdown; more is not one


def plain_text(path: Path, limit: int = MAX_PATTERN_BYTES) -> tuple[str, str]:
    """A file SCMS keeps in `.scms/`: its text and '', or '' and why it is not read: a link (it could point
    outside the workspace, or at a device that never ends), not a plain file, or larger than `limit`."""
    if path.is_symlink() or not path.is_file():
        return "", ("is a link or not a plain file; SCMS reads only plain files in .scms/ (a link could point "
                    "outside the workspace)")
    if path.stat().st_size > limit:
        return "", f"is larger than {limit:,} bytes, too large for a pattern"
    with open(path, "rb") as handle:
        return handle.read(limit + 1).decode("utf-8"), ""


def _read_all(directory: Path) -> tuple[list[PatternFile], list[str]]:
    parsed: list[PatternFile] = []
    warnings: list[str] = []
    if not directory.is_dir():
        return parsed, warnings
    for path in sorted(directory.glob("*.md")):
        if path.name.startswith("."):
            continue
        try:
            text, problem = plain_text(path)
            if problem:
                warnings.append(f"{path.name}: {problem}; skipped")
                continue
            if (marker := _conflict(text)) is not None:
                line = text.count("\n", 0, marker.start()) + 1
                warnings.append(f"{path.name}: has git conflict markers (line {line}); resolve the conflict and "
                                "commit — its pattern keeps its last state until then")
                continue
            parsed.append(parse(text, path))
        except (OSError, UnicodeDecodeError) as err:
            warnings.append(f"{path.name}: cannot be read ({err}); skipped")
        except MalformedPatternFile as err:
            warnings.append(f"{err}; skipped")
    return parsed, warnings


def write(directory: Path, pattern: Pattern) -> Path:
    """Write the pattern's file atomically (`scms.atomic`) and drop older files of the same id."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / file_name(pattern)
    atomic_write(target, render(pattern))
    stale = [path for path in files_of(directory, pattern.id) if path != target]
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        fsync_folder(directory)
    return target


def remove(directory: Path, pattern_id: str) -> list[Path]:
    removed = files_of(directory, pattern_id)
    for path in removed:
        path.unlink(missing_ok=True)
    if removed:
        fsync_folder(directory)
    return removed


def files_of(directory: Path, pattern_id: str) -> list[Path]:
    parsed, _ = _read_all(directory)
    return [p.path for p in parsed if p.fields["id"] == pattern_id]


def _split_snippet(lines: list[str]) -> tuple[str, str]:
    """The last fenced block is the snippet; everything before it is the body."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if lines:
        closing = _FENCE.match(lines[-1])
        if closing and not closing.group(2):
            fence = closing.group(1)
            for i in range(len(lines) - 2, -1, -1):
                opener = _FENCE.match(lines[i])
                if opener and opener.group(1) == fence:
                    return "\n".join(lines[:i]).strip("\n"), "\n".join(lines[i + 1:-1])
    return "\n".join(lines).strip("\n"), ""


def _stamp(value: Any) -> datetime:
    stamp = _STAMP.validate_python(value)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _heading(body: str) -> str:
    for line in body.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def _string_list(value: Any, name: str, path: Path) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise MalformedPatternFile(f"{path.name}: '{name}' must be a list of strings")
    return [str(v) for v in value]


def _first_line(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{err.title.lower()} {where}: {first['msg']}" if where else f"{err.title.lower()}: {first['msg']}"
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
