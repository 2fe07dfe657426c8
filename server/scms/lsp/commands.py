"""The `scms.*` commands: one JSON object argument each, validated, then one call to the memory facade."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from scms import __version__
from scms.errors import InvalidInput
from scms.lsp import documents
from scms.memory import CodeRange, Memory, lines_of, without_lone_surrogates
from scms.model import Kind, Tier


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False)


class Position(Args):
    line: int = Field(ge=0)
    character: int = Field(ge=0)


class Range(Args):
    start: Position
    end: Position

    def lines(self) -> tuple[int, int]:
        """1-based inclusive lines; a selection ending at column 0 does not include that last line."""
        last = self.end.line - 1 if self.end.character == 0 and self.end.line > self.start.line else self.end.line
        if last < self.start.line:
            raise InvalidInput("range: end comes before start", field="range")
        return self.start.line + 1, last + 1


class NoArgs(Args):
    pass


class RememberArgs(Args):
    uri: str
    range: Range
    title: str | None = Field(None, max_length=200)
    note: str = Field("", max_length=20_000)
    kind: Kind = Kind.PATTERN
    tags: list[str] = Field(default_factory=list, max_length=20)


class PatternArgs(Args):
    pattern_id: str = Field(min_length=1, max_length=64)


class UpdateArgs(PatternArgs):
    title: str | None = Field(None, max_length=200)
    note: str | None = Field(None, max_length=20_000)
    kind: Kind | None = None
    tags: list[str] | None = Field(None, max_length=20)


class ShapeArgs(Args):
    shape: str = Field(min_length=1, max_length=64)
    title: str | None = Field(None, max_length=200)
    note: str = Field("", max_length=20_000)


class UseArgs(PatternArgs):
    uri: str | None = None
    range: Range | None = None
    position: Position | None = None

    @model_validator(mode="after")
    def _context(self) -> "UseArgs":
        if self.range is not None and self.position is not None:
            raise ValueError("give the context as range or as position, not both")
        if (self.uri is None) != (self.range is None and self.position is None):
            raise ValueError("give uri with range or position (the context of the use), or none of them")
        return self


class RejectArgs(UseArgs):
    reason: str = Field("", max_length=2_000)


class ListArgs(Args):
    tier: Tier | None = None


class RecallArgs(Args):
    uri: str | None = None
    position: Position | None = None
    text: str | None = Field(None, max_length=1_000_000)
    limit: int | None = Field(None, ge=1, le=100)

    @model_validator(mode="after")
    def _one_source(self) -> "RecallArgs":
        if self.text is None and (self.uri is None or self.position is None):
            raise ValueError("give {uri, position} or {text}")
        if self.text is not None and self.uri is not None:
            raise ValueError("give {uri, position} or {text}, not both")
        return self


class ImportArgs(Args):
    paths: list[str] = Field(min_length=1, max_length=1000)


class ExportArgs(Args):
    targets: list[str] | None = Field(None, max_length=10)


def _code(server: Any, memory: Memory, uri: str, rng: Range) -> CodeRange:
    path, text = documents.text_of(server, memory, uri)
    start, end = rng.lines()
    return memory.code_from_text(path, text, start, end)


def remember(server: Any, memory: Memory, a: RememberArgs) -> Any:
    pattern = memory.remember(_code(server, memory, a.uri, a.range), title=a.title, note=a.note, kind=a.kind,
                              tags=a.tags)
    return memory.describe(pattern)


def _use_context(server: Any, memory: Memory, a: UseArgs) -> CodeRange | None:
    """The context of a use: the given range, or the code unit around the given position."""
    if a.uri is None:
        return None
    if a.range is not None:
        return _code(server, memory, a.uri, a.range)
    assert a.position is not None
    return _context_at(server, memory, a.uri, a.position)


def _context_at(server: Any, memory: Memory, uri: str, position: Position) -> CodeRange | None:
    """The code unit around a position of a document (None on a blank stretch); the line must exist."""
    path, text = documents.text_of(server, memory, uri)
    count = len(lines_of(text))
    if position.line >= max(1, count):
        raise InvalidInput(f"position.line {position.line} is outside the document ({count} lines)",
                           field="position")
    return memory.context_at(path, text, position.line)


def accept(server: Any, memory: Memory, a: UseArgs) -> Any:
    """The pattern after the accept, with `counted`: false when this code is already its evidence (no new use)."""
    context = _use_context(server, memory, a)
    counted = memory.counts_as_use(a.pattern_id, context)
    return {**memory.describe(memory.accept(a.pattern_id, context)), "counted": counted}


def reject(server: Any, memory: Memory, a: RejectArgs) -> Any:
    return memory.describe(memory.reject(a.pattern_id, _use_context(server, memory, a), a.reason))


def recall(server: Any, memory: Memory, a: RecallArgs) -> Any:
    context_hash = None
    text = a.text
    if text is None:
        assert a.uri is not None and a.position is not None
        context = _context_at(server, memory, a.uri, a.position)
        if context is None:
            return []
        text, context_hash = context.text, context.evidence.content_hash
    return [
        {"pattern": memory.describe(r.pattern), "score": r.score, "similarity": r.similarity,
         "embedding": r.embedding, "lexical": r.lexical, "learned": r.learned, "shared": r.shared,
         "reasons": r.reasons}
        for r in memory.recall(text, context_hash=context_hash, limit=a.limit, wait=True)
    ]


def _purged(memory: Memory, result: dict[str, Any]) -> Any:
    return {**result, "pattern": memory.describe(result["pattern"])}


def import_paths(server: Any, memory: Memory, a: ImportArgs) -> Any:
    result = memory.import_paths([documents.path_of(p) if p.startswith("file:") else p for p in a.paths])
    return {"imported": [memory.describe(p) for p in result["imported"]], "skipped": result["skipped"]}


def export(server: Any, memory: Memory, a: ExportArgs) -> Any:
    return memory.export(a.targets)


def close_session(server: Any, memory: Memory, a: NoArgs) -> Any:
    closed = memory.close_session()
    return {"promoted": [memory.describe(p) for p in closed["promoted"]],
            "archived": [memory.describe(p) for p in closed["archived"]], "report": closed["report"],
            "path": closed["path"]}


def status(server: Any, memory: Memory, a: NoArgs) -> Any:
    return {**memory.status(), "server": __version__}


# name -> (argument model, implementation, whether it changes the memory)
COMMANDS: dict[str, tuple[type[Args], Callable[[Any, Memory, Any], Any], bool]] = {
    "scms.remember": (RememberArgs, remember, True),
    "scms.accept": (UseArgs, accept, True),
    "scms.reject": (RejectArgs, reject, True),
    "scms.promote": (PatternArgs, lambda s, m, a: m.describe(m.promote(a.pattern_id)), True),
    "scms.promoteEligible": (NoArgs, lambda s, m, a: [m.describe(p) for p in m.promote_eligible()], True),
    "scms.demote": (PatternArgs, lambda s, m, a: m.describe(m.demote(a.pattern_id)), True),
    "scms.forget": (PatternArgs, lambda s, m, a: m.describe(m.forget(a.pattern_id)), True),
    "scms.saveShape": (ShapeArgs, lambda s, m, a: m.describe(m.save_shape(a.shape, a.title, a.note)), True),
    "scms.dismissShape": (ShapeArgs, lambda s, m, a: {"dismissed": m.dismiss_shape(a.shape)}, True),
    "scms.reanchor": (PatternArgs, lambda s, m, a: m.describe(m.reanchor(a.pattern_id)), True),
    "scms.purge": (PatternArgs, lambda s, m, a: _purged(m, m.purge(a.pattern_id)), True),
    "scms.restore": (PatternArgs, lambda s, m, a: m.describe(m.restore(a.pattern_id)), True),
    "scms.update": (UpdateArgs, lambda s, m, a: m.describe(m.update(a.pattern_id, title=a.title, note=a.note,
                                                                    kind=a.kind, tags=a.tags)), True),
    "scms.list": (ListArgs, lambda s, m, a: [m.describe(p) for p in m.list(a.tier)], False),
    "scms.recall": (RecallArgs, recall, False),
    "scms.export": (ExportArgs, export, False),
    "scms.import": (ImportArgs, import_paths, True),
    "scms.closeSession": (NoArgs, close_session, True),
    "scms.status": (NoArgs, status, False),
}


def parse_args(name: str, raw: tuple[Any, ...]) -> Args:
    """The command's one JSON object argument, validated; a message naming the field otherwise."""
    model = COMMANDS[name][0]
    if len(raw) == 0 and not any(f.is_required() for f in model.model_fields.values()):
        raw = ({},)
    if len(raw) != 1 or not isinstance(raw[0], dict):
        raise InvalidInput(f"{name} takes one JSON object argument, got {_shape(raw)}")
    try:
        return model.model_validate(_clean(raw[0]))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        field = str(first["loc"][0]) if first["loc"] else None
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"{name}: {where + ': ' if where else ''}{message}", field=field) from None


def _clean(value: Any) -> Any:
    """The argument with lone surrogates (JSON can carry them, UTF-8 cannot) replaced by U+FFFD."""
    if isinstance(value, str):
        return without_lone_surrogates(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _shape(raw: tuple[Any, ...]) -> str:
    if not raw:
        return "no arguments"
    if len(raw) > 1:
        return f"{len(raw)} arguments"
    return f"a {type(raw[0]).__name__}"
