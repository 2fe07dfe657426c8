"""`scms mcp`: the workspace's pattern memory as MCP tools, resources and a prompt for AI agents, over stdio.

A front end like `cli.py`: every tool is one call of the facade (`scms.memory`), run in a worker thread so that
the connection keeps answering. Agents search, read and record uses; they can only *propose* candidates, which
a person validates in the editor. The language server and this server share the store (SQLite in WAL mode).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, ToolAnnotations
from mcp.types import Resource as ResourceInfo
from pydantic import Field, ValidationError

from scms import __version__
from scms.config import Settings, settings_from_json
from scms.errors import InvalidInput, NotFound, ScmsError
from scms.mcp_stdio import screened_stdio
from scms.memory import CodeRange, Memory, find_root, language_of
from scms.model import Kind, Pattern, Tier

log = logging.getLogger("scms")
_T = TypeVar("_T")
PATTERN_URI = "scms://patterns/{pattern_id}"
RULES_URI = "scms://rules/WORKSPACE_RULES.md"
MAX_TEXT = 20_000  # a title, note or query longer than this is not a pattern: refused by the schema
MAX_CODE = 100_000
SEARCH_FLOOR = 0.05  # relevance a search result needs: asked for, it may show weaker matches than a hover (0.3),
# with their scores; measured: a query in words scores ~0.06 with its pattern and ~0.005 with unrelated ones
SNIPPET_SHOWN = 4_000  # search results show this much of each snippet; get_pattern shows all of it
FIELDS = {"patternId": "pattern_id", "uri": "file", "range": "start_line"}  # the facade's names for the arguments
AGENT = "an AI agent"  # the proposer when the client does not say its name
SETTINGS_ENV = "SCMS_SETTINGS"  # the editor's settings (JSON, as the language server gets them), set by the extension

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
ADDS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)

INSTRUCTIONS = """SCMS is this workspace's memory of the team's patterns: conventions, fixes and lessons from
failures, validated by the developers. Before writing or changing code, call search_patterns with the code or
a description of what you are about to do, and follow the validated patterns it returns. After applying a
pattern, call record_use with outcome "worked" (or "failed" if it did not fit). When you notice a pattern the
team keeps using that SCMS does not know, propose it with add_candidate: it stays a candidate until a developer
promotes it."""

File = Annotated[str | None, Field(None, description="A file of the workspace: relative to its root, or absolute "
                                                   "(inside it)", max_length=4096)]
Line = Annotated[int | None, Field(None, ge=1, description="1-based line (inclusive) of `file`")]


def serve(root: Path, embeddings: bool = True) -> int:
    """Run the server on stdin/stdout until the client goes away."""
    handler = logging.StreamHandler(sys.stderr)  # stdout is the protocol's
    handler.setFormatter(logging.Formatter("scms mcp: %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    settings, problems = settings_from_json(os.environ.get(SETTINGS_ENV), SETTINGS_ENV)
    for problem in problems:
        log.warning("%s", problem)
    build(root, embeddings=embeddings, settings=settings).run("stdio")
    return 0


def build(root: Path, embeddings: bool = True, settings: Settings | None = None) -> MCPServer:
    """The MCP server for the workspace at `root` (opened when a client connects, closed when it leaves), with
    these settings; without `embeddings`, recall is lexical (no model in memory) whatever they say."""
    holder: dict[str, Any] = {}  # "memory" once open, else "problem"
    settings = settings or Settings()
    if not embeddings:
        settings = settings.model_copy(update={"recall": settings.recall.model_copy(update={"embeddings": False})})

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[None]:
        try:
            memory = await anyio.to_thread.run_sync(Memory.open, root, settings)
        except ScmsError as err:  # served all the same: every call says why there is no memory
            log.error("the SCMS memory is unavailable: %s", err)
            holder["problem"] = f"the SCMS memory of {root} is unavailable: {err}"
            yield
            return
        holder["memory"] = memory
        threading.Thread(target=_start_model, args=(memory,), name="scms-model", daemon=True).start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(memory.close)

    server = PatternServer(holder, name="scms", title="SCMS pattern memory", version=__version__,
                           instructions=INSTRUCTIONS, lifespan=lifespan, log_level="WARNING")
    _tools(server, holder)
    _resources_and_prompt(server, holder)
    return server


def refused(error: ValidationError) -> str:
    """`string should have at most 200 characters (argument: title)` for each argument the schema refused, the
    value it refused left out."""
    said = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "arguments"
        message = "a value is required" if problem["type"] == "missing" else problem["msg"]
        said.append(f"{message[0].lower()}{message[1:]} (argument: {field})")
    return "; ".join(dict.fromkeys(said))


def _start_model(memory: Memory) -> None:
    try:
        memory.start_model(lambda message, percent: log.info("%s (%d%%)", message, percent))
    except Exception:  # recall stays lexical; the tools keep working
        log.exception("the embedding model did not start")


async def _call(holder: dict[str, Any], what: str, work: Callable[[Memory], _T]) -> _T:
    """Run one facade call in a worker thread; the memory's own errors become tool errors naming the field."""
    if "memory" not in holder:
        raise ToolError(holder.get("problem", "the SCMS memory is still opening; try again"))

    def run() -> _T:
        memory = holder["memory"]
        memory.follow_changes()  # what the editor (or another agent) did meanwhile
        return work(memory)

    try:
        return await anyio.to_thread.run_sync(run)
    except ScmsError as err:
        field = FIELDS.get(err.field or "", err.field)
        raise ToolError(f"{err} (argument: {field})" if field else str(err)) from err
    except Exception as err:
        log.exception("%s failed", what)
        first = str(err).splitlines()[0] if str(err) else ""
        raise ToolError(f"{what} failed: {type(err).__name__}: {first} (the traceback is in the server's log)") from err


def _range(memory: Memory, file: str | None, start: int | None, end: int | None) -> CodeRange | None:
    """The code of `file` lines start..end; None when no file is given."""
    if file is None:
        if start is not None or end is not None:
            raise InvalidInput("start_line and end_line need a file", field="file")
        return None
    if start is None:
        raise InvalidInput("give start_line (and end_line) with the file", field="start_line")
    return memory.code_from_file(memory.workspace_file(file), start, end if end is not None else start)


def _summary(memory: Memory, pattern: Pattern, score: float | None = None,
             reasons: list[str] | None = None) -> dict[str, Any]:
    snippet = pattern.snippet
    if len(snippet) > SNIPPET_SHOWN:
        snippet = snippet[:SNIPPET_SHOWN] + "\n… (cut here; get_pattern returns all of it)"
    found: dict[str, Any] = {"id": pattern.id, "title": pattern.title, "tier": pattern.tier.value,
                             "kind": pattern.kind.value, "note": pattern.body, "snippet": snippet,
                             "languages": pattern.languages, "tags": pattern.tags,
                             "acceptedUses": pattern.accepted_uses, "rejectedUses": pattern.rejected_uses,
                             "proposedBy": pattern.proposed_by, "file": memory.pattern_file(pattern)}
    if score is not None:
        found["score"] = round(score, 4)
        found["reasons"] = reasons or []
    return found


def _search(memory: Memory, query: str, file: str | None, language: str | None, k: int,
            tier: str | None) -> dict[str, Any]:
    if language is None and file is not None:
        language = language_of(file)
    pool = memory.recall(query, limit=max(50, 5 * k), wait=True, threshold=SEARCH_FLOOR)
    chosen = [r for r in pool if (tier is None or r.pattern.tier.value == tier)
              and (language is None or not r.pattern.languages or language in r.pattern.languages)]
    chosen.sort(key=lambda r: (-round(r.score, 4), r.pattern.tier is not Tier.VALIDATED))  # validated first on ties
    return {"recall": memory.recall_state, "patterns": [_summary(memory, r.pattern, r.score, r.reasons)
                                                        for r in chosen[:k]]}


def _tools(server: MCPServer, holder: dict[str, Any]) -> None:
    @server.tool(annotations=READ_ONLY)
    async def search_patterns(
        query: Annotated[str, Field(min_length=1, max_length=MAX_CODE,
                                    description="The code you are writing or changing, or what you are about to do "
                                                "in words")],
        file: File = None,
        language: Annotated[str | None, Field(None, max_length=40, description="Only patterns for this language "
                                              "(python, typescript, …); default: the file's")] = None,
        k: Annotated[int, Field(5, ge=1, le=50, description="How many patterns")] = 5,
        tier: Annotated[Literal["session", "validated"] | None,
                        Field(None, description="Only this tier (validated: what the team approved)")] = None,
    ) -> dict[str, Any]:
        """Find the team's patterns that apply to some code or task, best first, each with the reasons it
        matched (validated patterns first on ties). `recall` says how: "embeddings" (meaning and words) or
        "lexical" (words only, while the embedding model loads)."""
        return await _call(holder, "search_patterns", lambda m: _search(m, query, file, language, k, tier))

    @server.tool(annotations=READ_ONLY)
    async def get_pattern(
        pattern_id: Annotated[str, Field(min_length=1, max_length=64, description="The pattern's id")],
    ) -> dict[str, Any]:
        """One pattern in full: its note, snippet, evidence (where it was seen), accepted and rejected uses,
        retention score and file."""
        return await _call(holder, "get_pattern", lambda m: m.describe(m.get(pattern_id)))

    @server.tool(annotations=ADDS)
    async def add_candidate(
        ctx: Context,
        title: Annotated[str, Field(min_length=1, max_length=200, description="What the pattern does, in a few "
                                                                               "words")],
        note: Annotated[str, Field("", max_length=MAX_TEXT, description="Why it matters and when to use it; for a "
                                   "failure: symptom, root cause and fix")] = "",
        code: Annotated[str, Field("", max_length=MAX_CODE, description="The pattern's code (or give file and "
                                   "lines instead)")] = "",
        file: File = None,
        start_line: Line = None,
        end_line: Line = None,
        kind: Annotated[Kind, Field(Kind.PATTERN, description="pattern, convention, anti_pattern or failure")]
        = Kind.PATTERN,
        tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=50)]] | None,
                        Field(None, max_length=20, description="A few tags")] = None,
        language: Annotated[str | None, Field(None, max_length=40, description="The code's language, when no "
                                              "file says it")] = None,
    ) -> dict[str, Any]:
        """Propose a pattern you noticed as a new candidate in the session tier, marked as proposed by you.
        A developer validates it in the editor; you cannot promote it. Give the code, or a file range of the
        workspace where it is. Anything that looks like a secret is refused."""
        agent = _agent_name(ctx)

        def propose(memory: Memory) -> dict[str, Any]:
            where = _range(memory, file, start_line, end_line)
            if where is not None and code:
                raise InvalidInput("give the code or a file range, not both", field="code")
            pattern = memory.propose(agent, title=title, note=note, code=where or code, kind=kind, tags=tags,
                                     languages=[language] if language else None)
            return {"pattern": _summary(memory, pattern),
                    "message": "Saved as a candidate; a developer validates it in the editor."}

        return await _call(holder, "add_candidate", propose)

    @server.tool(annotations=ADDS)
    async def record_use(
        pattern_id: Annotated[str, Field(min_length=1, max_length=64, description="The pattern's id")],
        outcome: Annotated[Literal["worked", "failed"], Field(description="worked: you applied it and it fit "
                                                              "(an accepted use); failed: it did not fit here")],
        file: File = None,
        start_line: Line = None,
        end_line: Line = None,
        reason: Annotated[str, Field("", max_length=MAX_TEXT, description="Why it failed (optional)")] = "",
    ) -> dict[str, Any]:
        """Record that you applied a pattern (worked) or that it did not fit (failed), optionally at the code
        where: counted like a developer's accept or reject in the editor (a use at code that is already the
        pattern's evidence is not counted again)."""
        def use(memory: Memory) -> dict[str, Any]:
            where = _range(memory, file, start_line, end_line)
            counted = outcome == "failed" or memory.counts_as_use(pattern_id, where)
            pattern = (memory.accept(pattern_id, where) if outcome == "worked"
                       else memory.reject(pattern_id, where, reason))
            answer = {"pattern": _summary(memory, pattern), "eligible": memory.eligible(pattern), "counted": counted}
            if not counted:
                answer["message"] = "This code is already evidence of the pattern: not counted as a new use."
            return answer

        return await _call(holder, "record_use", use)

    @server.tool(annotations=READ_ONLY)
    async def list_patterns(
        tier: Annotated[Literal["session", "validated", "archive"] | None, Field(None)] = None,
        kind: Annotated[Kind | None, Field(None)] = None,
    ) -> dict[str, Any]:
        """Every pattern, optionally of one tier and kind, with its counts."""
        def listing(memory: Memory) -> dict[str, Any]:
            patterns = memory.list(Tier(tier) if tier else None)
            return {"patterns": [_summary(memory, p) for p in patterns if kind is None or p.kind is kind]}

        return await _call(holder, "list_patterns", listing)

    @server.tool(annotations=READ_ONLY)
    async def session_report() -> str:
        """The session report (markdown): the memory's counts, what closing the session now would promote and
        archive, and the candidates close to promotion."""
        return await _call(holder, "session_report", lambda m: m.session_report())


def _agent_name(ctx: Context) -> str:
    """The client's own name (`initialize`'s clientInfo), which the editor shows with the candidate."""
    try:
        params = ctx.session.client_params
        info = params.client_info if params is not None else None
        name = " ".join(str(getattr(info, "title", None) or getattr(info, "name", None) or "").split())
    except Exception:  # a transport without a session: the name is a courtesy
        name = ""
    return name[:80] or AGENT


class PatternServer(MCPServer):
    """MCPServer whose resource list holds each validated pattern (they come and go as the team promotes)."""

    def __init__(self, holder: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._holder = holder

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        """The SDK's, with arguments its schema refuses named in a sentence (not pydantic's report, which links
        to its docs and quotes the caller's values)."""
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as err:
            if isinstance(err, UnexpectedToolError) or not isinstance(err.__cause__, ValidationError):
                raise
            raise ToolError(refused(err.__cause__)) from err.__cause__

    async def run_stdio_async(self) -> None:
        """The SDK's stdio loop, with the requests it would leave unanswered answered (scms.mcp_stdio)."""
        lowlevel = getattr(self, "_lowlevel_server", None)
        if lowlevel is None:  # an SDK laid out otherwise: its own loop, unscreened
            await super().run_stdio_async()
            return
        async with screened_stdio() as (read_stream, write_stream):
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())

    async def list_resources(self) -> list[ResourceInfo]:
        fixed = await super().list_resources()
        memory = self._holder.get("memory")
        if memory is None:
            return fixed
        patterns = await anyio.to_thread.run_sync(lambda: memory.list(Tier.VALIDATED))
        return fixed + [ResourceInfo(uri=PATTERN_URI.format(pattern_id=p.id), name=p.title, mime_type="text/markdown",
                                     description=f"Validated {p.kind.value.replace('_', ' ')}: {p.title}")
                        for p in patterns]


def _resources_and_prompt(server: MCPServer, holder: dict[str, Any]) -> None:
    async def read(work: Callable[[Memory], str]) -> str:
        if "memory" not in holder:
            raise ResourceError(holder.get("problem", "the SCMS memory is still opening; try again"))
        try:
            return await anyio.to_thread.run_sync(lambda: work(holder["memory"]))
        except NotFound as err:
            raise ResourceNotFoundError(str(err)) from err
        except ScmsError as err:
            raise ResourceError(str(err)) from err

    @server.resource(RULES_URI, name="WORKSPACE_RULES.md", mime_type="text/markdown",
                     description="Every validated pattern, as the rule file `scms export` writes")
    async def rules() -> str:
        return await read(lambda m: m.rules_text())

    @server.resource(PATTERN_URI, name="validated pattern", mime_type="text/markdown",
                     description="A validated pattern's file (.scms/patterns/…md)")
    async def pattern(pattern_id: str) -> str:
        return await read(lambda m: m.pattern_markdown(pattern_id))

    @server.prompt(title="Apply the team's patterns")
    async def apply_patterns(file: Annotated[str, Field(description="The file to review (relative to the "
                                                                     "workspace root)")]) -> str:
        """Ask the agent to apply the team's validated patterns to a file."""
        def compose(memory: Memory) -> str:
            text = memory.document_text(memory.workspace_file(file))
            found = _search(memory, text, file, None, 8, None)["patterns"]
            lines = [f"Review `{file}` against the patterns this team validated with SCMS, and apply them.", "",
                     "For each place the file departs from a pattern below, propose the change and say which "
                     "pattern it follows. After applying one, call the `record_use` tool with outcome "
                     "\"worked\" (\"failed\" when it does not fit there). If you notice a convention the file "
                     "keeps that is not listed, propose it with `add_candidate`.", ""]
            if not found:
                lines.append("SCMS recalls no pattern for this file yet: review it for conventions worth proposing.")
            for item in found:
                lines += [f"## {item['title']} ({item['tier']}, id `{item['id']}`)", "", item["note"] or "",
                          "", "```", item["snippet"], "```", ""]
            return "\n".join(lines)

        try:
            return await _call(holder, "apply_patterns", compose)
        except ToolError as err:  # a prompt's errors are the protocol's
            raise MCPError(INVALID_PARAMS, str(err)) from err


def main_root(workspace: str | None) -> Path:
    """The workspace `scms mcp` serves: --workspace, else the nearest folder up with .scms/ or .git."""
    return Path(workspace).resolve() if workspace else find_root(Path.cwd())
