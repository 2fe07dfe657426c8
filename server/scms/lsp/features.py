"""Every LSP feature of the server, registered on one ScmsServer; each handler isolates its own failures.

Module-level imports are pygls and lsprotocol only: the handlers import the memory when first called.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcServerError

from scms.lsp.server import ScmsServer

log = logging.getLogger("scms")

COMMAND_NAMES = ("scms.remember", "scms.accept", "scms.reject", "scms.promote", "scms.promoteEligible",
                 "scms.demote", "scms.forget", "scms.list", "scms.recall", "scms.export", "scms.closeSession",
                 "scms.status")
PATTERN_FILES = "**/.scms/patterns/*.md"
MODEL_DELAY_S = 1.5
LONG_COMMANDS = {"scms.closeSession": "SCMS: closing the session", "scms.promoteEligible": "SCMS: promoting"}


def register(server: ScmsServer) -> None:
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorExtract]),
    )(code_actions)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(types.SHUTDOWN)(shutdown)
    server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(did_change_watched_files)
    for name in COMMAND_NAMES:
        server.command(name)(_command_handler(name))


def initialize(ls: ScmsServer, params: types.InitializeParams) -> None:
    """Remember where and how to open the memory; nothing slow happens before the answer."""
    ls.loop = asyncio.get_running_loop()
    ls._loop_thread = threading.get_ident()
    ls.raw_settings = params.initialization_options
    if params.workspace_folders:
        ls.root = params.workspace_folders[0].uri
    else:
        ls.root = params.root_uri


async def initialized(ls: ScmsServer, params: types.InitializedParams) -> None:
    try:
        async with ls.progress("SCMS: opening the pattern memory") as report:
            await _open_memory(ls, report)
    finally:
        ls.ready.set()
    if ls.memory is not None:
        await _watch_pattern_files(ls)
        ls.model_task = asyncio.ensure_future(_load_model(ls))


async def _load_model(ls: ScmsServer) -> None:
    """Embedding recall comes up in the background; until then (or if it fails) recall is lexical."""
    memory = ls.memory
    if memory is None:
        return
    await asyncio.to_thread(memory.engine.warm_up)  # the lexical index first: hovers work at once
    if not memory.settings.recall.embeddings:
        return
    memory.engine.on_change = lambda reason: ls.changed(reason, [])
    await asyncio.sleep(MODEL_DELAY_S)  # importing torch holds the GIL for seconds: let first hovers through
    if ls.memory is None:
        return
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def load(report: Any) -> None:  # a daemon thread: exiting the server never waits for a model load
        from scms.recall.engine import background_priority

        background_priority()
        try:
            memory.start_model(lambda message, percent: ls.on_loop(lambda: report(message, percent)))
        finally:
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

    async with ls.progress("SCMS: loading the recall models") as report:
        threading.Thread(target=load, args=(report,), name="scms-model", daemon=True).start()
        await done
    for notice in memory.notices:
        ls.log(types.MessageType.Info, f"SCMS: {notice}")
    if memory.engine.state == "failed":
        ls.tell(types.MessageType.Warning, f"SCMS: recall stays lexical: {memory.engine.problem}")
    else:
        log.info("recall: %s", memory.recall_state)


async def _open_memory(ls: ScmsServer, report: Any) -> None:
    from scms.config import settings_from
    from scms.errors import ScmsError
    from scms.lsp.documents import path_of
    from scms.memory import Memory

    settings, problems = settings_from(_section(ls.raw_settings))
    ls.settings = settings
    for problem in problems:
        ls.tell(types.MessageType.Warning, f"SCMS: {problem}")
    if not ls.root:
        ls.unavailable = "SCMS needs a folder or workspace to keep its memory in; open a folder first"
        ls.log(types.MessageType.Warning, ls.unavailable)
        return
    try:
        root = path_of(ls.root)
        report("reading .scms/", 30)
        ls.memory = await asyncio.to_thread(Memory.open, root, settings)
    except ScmsError as err:
        ls.unavailable = f"SCMS memory unavailable: {err}"
        ls.tell(types.MessageType.Error, ls.unavailable)
        return
    except Exception as err:
        log.error("opening the SCMS memory failed", exc_info=True)
        ls.unavailable = f"SCMS memory unavailable: {type(err).__name__}: {err}"
        ls.tell(types.MessageType.Error, ls.unavailable)
        return
    for warning in ls.memory.last_sync.warnings:
        ls.tell(types.MessageType.Warning, f"SCMS: {warning}")
    tiers = ls.memory.status()["tiers"]
    log.info("SCMS memory ready at %s: %d session, %d validated, %d archived; recall is lexical",
             ls.memory.ws.db.path, tiers["session"], tiers["validated"], tiers["archive"])


async def _watch_pattern_files(ls: ScmsServer) -> None:
    caps = ls.client_capabilities.workspace if ls.client_capabilities else None
    watched = caps.did_change_watched_files if caps else None
    if not (watched and watched.dynamic_registration):
        log.info("the client cannot watch files for us; run `scms.status` after a git pull to reload patterns")
        return
    watcher = types.FileSystemWatcher(glob_pattern=PATTERN_FILES,
                                      kind=types.WatchKind.Create | types.WatchKind.Change | types.WatchKind.Delete)
    registration = types.Registration(
        id="scms-pattern-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher]),
    )
    try:
        await ls.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
    except Exception as err:  # the client refused: patterns still reload on the next start
        log.warning("could not watch %s: %s", PATTERN_FILES, err)


def _section(raw: Any) -> Any:
    """Settings arrive either as the `scms` section itself or wrapped in {"scms": …}."""
    if isinstance(raw, dict) and isinstance(raw.get("scms"), dict):
        return raw["scms"]
    return raw


def hover(ls: ScmsServer, params: types.HoverParams) -> types.Hover | None:
    """A card for the patterns recalled at this position, or nothing at all."""
    memory = ls.memory
    if memory is None or memory.settings.recall.hover_limit == 0:
        return None
    from scms.errors import ScmsError
    from scms.lsp import documents
    from scms.lsp.hover import card

    try:
        path, text = documents.text_of(ls, params.text_document.uri, memory.settings.max_file_bytes)
    except ScmsError:
        return None  # not a file, binary, huge, gone: nothing to recall, and nothing to complain about
    found = _recall_at(memory, path, text, params.position)
    if not found:
        return None
    context, recalled = found
    start, end = context.evidence.start_line - 1, context.evidence.end_line - 1
    context_range = {"start": {"line": start, "character": 0}, "end": {"line": end + 1, "character": 0}}
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                     value=card(recalled, params.text_document.uri, context_range)),
        range=types.Range(start=params.position, end=params.position),
    )


def _recall_at(memory: Any, path: Any, text: str, position: types.Position, limit: int | None = None) -> Any:
    lines = text.splitlines()
    if position.line >= len(lines) or not lines[position.line].strip():
        return None
    context = memory.context_at(path, text, position.line)
    if context is None:
        return None
    recalled = memory.recall(context.text, context_hash=context.evidence.content_hash,
                             limit=limit or memory.settings.recall.hover_limit)
    return (context, recalled) if recalled else None


def code_actions(ls: ScmsServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    """"Remember selection as pattern" on a selection; accept / reject / promote for patterns recalled here."""
    memory = ls.memory
    if memory is None:
        return None
    from scms.errors import ScmsError
    from scms.lsp import documents
    from scms.model import Tier

    uri, rng = params.text_document.uri, params.range
    try:
        path, text = documents.text_of(ls, uri, memory.settings.max_file_bytes)
    except ScmsError:
        return None
    actions: list[types.CodeAction] = []
    if rng.start != rng.end and rng.start.line < text.count("\n") + 1:
        selection = {"start": {"line": rng.start.line, "character": rng.start.character},
                     "end": {"line": rng.end.line, "character": rng.end.character}}
        actions.append(_action("SCMS: Remember selection as pattern", types.CodeActionKind.RefactorExtract,
                               "scms.remember", {"uri": uri, "range": selection}))
    found = _recall_at(memory, path, text, rng.start)
    if found:
        context, recalled = found
        context_range = {"start": {"line": context.evidence.start_line - 1, "character": 0},
                         "end": {"line": context.evidence.end_line, "character": 0}}
        for item in recalled:
            p = item.pattern
            use = {"patternId": p.id, "uri": uri, "range": context_range}
            actions.append(_action(f"SCMS: Accept “{p.title}”", types.CodeActionKind.QuickFix, "scms.accept", use))
            actions.append(_action(f"SCMS: Reject “{p.title}” here", types.CodeActionKind.QuickFix,
                                   "scms.reject", use))
            if p.tier is Tier.SESSION:
                actions.append(_action(f"SCMS: Promote “{p.title}”", types.CodeActionKind.QuickFix,
                                       "scms.promote", {"patternId": p.id}))
    return actions or None


def _action(title: str, kind: str, command: str, argument: dict[str, Any]) -> types.CodeAction:
    return types.CodeAction(title=title, kind=kind,
                            command=types.Command(title=title, command=command, arguments=[argument]))


def shutdown(ls: ScmsServer, params: Any) -> None:
    """Save the vector index and close the store before the client says exit."""
    if ls.memory is not None:
        ls.memory.close()
        ls.memory = None
        ls.unavailable = "the server is shutting down"


EDIT_DEBOUNCE_S = 0.3


async def did_change(ls: ScmsServer, params: types.DidChangeTextDocumentParams) -> None:
    """After edits settle, embed the code unit being edited, so the next hover there only looks up."""
    memory = ls.memory
    if memory is None or memory.engine.state != "ready" or not params.content_changes:
        return
    change = params.content_changes[-1]
    line = change.range.start.line if isinstance(change, types.TextDocumentContentChangePartial) else 0
    uri = params.text_document.uri
    previous = ls.pending_edits.pop(uri, None)
    if previous is not None:
        previous.cancel()
    ls.pending_edits[uri] = asyncio.ensure_future(_prepare_after_edit(ls, uri, line))


async def _prepare_after_edit(ls: ScmsServer, uri: str, line: int) -> None:
    from scms.errors import ScmsError
    from scms.lsp import documents

    await asyncio.sleep(EDIT_DEBOUNCE_S)
    ls.pending_edits.pop(uri, None)
    memory = ls.memory
    try:
        path, text = documents.text_of(ls, uri, memory.settings.max_file_bytes)
    except ScmsError:
        return
    context = await asyncio.to_thread(memory.engine.context, path, text, line)
    if context is not None:
        memory.engine.prepare([context.unit.text])


async def did_change_configuration(ls: ScmsServer, params: types.DidChangeConfigurationParams) -> None:
    from scms.config import settings_from

    raw = _section(params.settings)
    if raw is None and ls.client_capabilities.workspace and ls.client_capabilities.workspace.configuration:
        [raw] = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="scms")]))
    settings, problems = settings_from(raw)
    for problem in problems:
        ls.tell(types.MessageType.Warning, f"SCMS: {problem}")
    ls.settings = settings
    if ls.memory is not None:
        ls.memory.settings = settings
    log.info("settings updated: promotion after %d accepted uses", settings.promotion_threshold)


async def did_change_watched_files(ls: ScmsServer, params: types.DidChangeWatchedFilesParams) -> None:
    """Reload the validated tier when its files change on disk (a git pull, a checkout, a hand edit)."""
    if not any("/.scms/patterns/" in change.uri and change.uri.endswith(".md") for change in params.changes):
        return
    memory = await ls.memory_ready()
    report = await asyncio.to_thread(memory.sync_files)
    for warning in report.warnings:
        ls.tell(types.MessageType.Warning, f"SCMS: {warning}")
    if report.changed:
        log.info("validated patterns reloaded from disk: %d new, %d changed, %d removed",
                 len(report.imported), len(report.updated), len(report.removed))
        ls.changed("files", report.imported + report.updated + report.removed)


def _command_handler(name: str):
    async def handler(ls: ScmsServer, *args: Any) -> Any:
        return await run_command(ls, name, args)

    handler.__name__ = name.replace(".", "_")
    return handler


async def run_command(ls: ScmsServer, name: str, args: tuple[Any, ...]) -> Any:
    """Validate, run off the event loop, map the memory's errors onto JSON-RPC errors, announce changes."""
    from scms.errors import InvalidInput, InvalidState, NotFound, ScmsError
    from scms.lsp.commands import COMMANDS, parse_args

    memory = await ls.memory_ready()
    _, implementation, changes = COMMANDS[name]
    try:
        parsed = parse_args(name, args)
        if name in LONG_COMMANDS:
            async with ls.progress(LONG_COMMANDS[name]):
                result = await asyncio.to_thread(implementation, ls, memory, parsed)
        else:
            result = await asyncio.to_thread(implementation, ls, memory, parsed)
    except (InvalidInput, NotFound, InvalidState) as err:
        raise JsonRpcInvalidParams(_naming_the_field(err)) from None
    except ScmsError as err:
        if changes:
            ls.changed(name, [])  # a file that could not follow a committed change: views refresh anyway
        raise JsonRpcServerError(str(err), code=-32001) from None
    if changes:
        ls.changed(name, _ids(result))
    return result


def _naming_the_field(err: Any) -> str:
    """The message, led by the argument field it is about unless it already starts with it."""
    message = str(err)
    if err.field and not message.startswith((err.field, "scms.")):
        return f"{err.field}: {message}"
    return message


def _ids(result: Any) -> list[str]:
    if isinstance(result, dict) and "id" in result:
        return [result["id"]]
    if isinstance(result, list):
        return [item["id"] for item in result if isinstance(item, dict) and "id" in item]
    if isinstance(result, dict):
        return [p["id"] for key in ("promoted", "archived") for p in result.get(key, [])]
    return []
