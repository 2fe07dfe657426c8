"""The server's session: open the memory after `initialized`, load the recall models in the background, follow
settings and pattern files that change on disk, and close the memory on `shutdown`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from lsprotocol import types

from scms.config import settings_from
from scms.errors import ScmsError
from scms.lsp.documents import path_of
from scms.lsp.discovering import scan_workspace
from scms.lsp.following import follow_store
from scms.lsp.guard import isolated
from scms.lsp.server import ScmsServer, section, server
from scms.memory import Memory

log = logging.getLogger("scms")
PATTERN_FILES = "**/.scms/patterns/*.md"
MODEL_DELAY_S = 1.5  # importing torch holds the interpreter for seconds: the first hovers go first


@server.feature(types.INITIALIZE)
@isolated("initialize")
def initialize(ls: ScmsServer, params: types.InitializeParams) -> None:
    """Remember where and how to open the memory; nothing slow happens before the answer."""
    ls.loop = asyncio.get_running_loop()
    ls.loop_thread = threading.get_ident()
    ls.raw_settings = params.initialization_options
    ls.root = params.workspace_folders[0].uri if params.workspace_folders else params.root_uri


@server.feature(types.INITIALIZED)
@isolated("initialized")
async def initialized(ls: ScmsServer, params: types.InitializedParams) -> None:
    try:
        async with ls.progress("SCMS: opening the pattern memory") as report:
            await _open_memory(ls, report)
    finally:
        ls.ready.set()
    if ls.memory is not None:
        ls.model_task = asyncio.ensure_future(_load_model(ls, ls.memory))  # the lexical index first of all
        ls.follow_task = asyncio.ensure_future(follow_store(ls, ls.memory))
        ls.scan_task = asyncio.ensure_future(scan_workspace(ls, ls.memory))
        await _watch_pattern_files(ls)


async def _open_memory(ls: ScmsServer, report: Any) -> None:
    settings, problems = settings_from(section(ls.raw_settings))
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
    if ls.settings is not settings:  # a didChangeConfiguration arrived while the store was opening
        ls.memory.settings = ls.settings
    for warning in ls.memory.problems:
        ls.tell(types.MessageType.Warning, f"SCMS: {warning}")
    _show_conflicts(ls, ls.memory)
    tiers = ls.memory.status()["tiers"]
    log.info("SCMS memory ready at %s: %d session, %d validated, %d archived; recall is lexical",
             ls.memory.store_path, tiers["session"], tiers["validated"], tiers["archive"])


async def _load_model(ls: ScmsServer, memory: Memory) -> None:
    """Embedding recall comes up in the background; until then (or if it fails) recall is lexical."""
    try:
        await asyncio.to_thread(memory.warm_up)  # the lexical index first: hovers work at once
        if not memory.settings.recall.embeddings:
            return
        await asyncio.sleep(MODEL_DELAY_S)
        if ls.memory is not memory:
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()

        def load(report: Any) -> None:  # a daemon thread: exiting the server never waits for a model load
            try:
                memory.start_model(lambda message, percent: ls.on_loop(lambda: report(message, percent)),
                                   on_change=lambda reason: ls.changed(reason, []))
            except Exception:
                log.exception("SCMS: loading the recall models failed; recall stays lexical")
            finally:
                loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

        async with ls.progress("SCMS: loading the recall models") as report:
            threading.Thread(target=load, args=(report,), name="scms-model", daemon=True).start()
            await done
        for notice in memory.notices:
            ls.log(types.MessageType.Info, f"SCMS: {notice}")
        if memory.recall_problem:
            ls.tell(types.MessageType.Warning, f"SCMS: recall stays lexical: {memory.recall_problem}")
        else:
            log.info("recall: %s", memory.recall_state)
    except Exception:  # a task's exception would otherwise vanish with it
        log.exception("SCMS: preparing recall failed; hovers answer from what is loaded")


@server.feature(types.SHUTDOWN)
@isolated("shutdown")
async def shutdown(ls: ScmsServer, params: Any) -> None:
    """Save the indexes and close the store before the client says exit (off the event loop, which goes on
    answering meanwhile)."""
    if ls.memory is not None:
        memory, ls.memory = ls.memory, None
        ls.unavailable = "the server is shutting down"
        await asyncio.to_thread(memory.close)


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
@isolated("workspace/didChangeConfiguration")
async def did_change_configuration(ls: ScmsServer, params: types.DidChangeConfigurationParams) -> None:
    raw = section(params.settings)
    if raw is None and ls.client_capabilities.workspace and ls.client_capabilities.workspace.configuration:
        [raw] = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="scms")]))
    settings, problems = settings_from(raw)
    for problem in problems:
        ls.tell(types.MessageType.Warning, f"SCMS: {problem}")
    ls.raw_settings, ls.settings = raw, settings  # the memory, if it is still opening, opens with these
    if ls.memory is not None:
        ls.memory.settings = settings
        ls.changed("settings", [])  # what is eligible, and the scores, follow the settings: views read them again
    log.info("settings updated: promotion after %d accepted uses", settings.promotion_threshold)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@isolated("workspace/didChangeWatchedFiles")
async def did_change_watched_files(ls: ScmsServer, params: types.DidChangeWatchedFilesParams) -> None:
    """Reload the validated tier when its files change on disk (a git pull, a checkout, a hand edit)."""
    if not any("/.scms/patterns/" in change.uri and change.uri.endswith(".md") for change in params.changes):
        return
    memory = await ls.memory_ready()
    report = await asyncio.to_thread(memory.sync_files)
    for warning in report.warnings:
        ls.tell(types.MessageType.Warning, f"SCMS: {warning}")
    _show_conflicts(ls, memory)
    if report.changed:
        log.info("validated patterns reloaded from disk: %d new, %d changed, %d removed",
                 len(report.imported), len(report.updated), len(report.removed))
        ls.changed("files", report.imported + report.updated + report.removed)


def _show_conflicts(ls: ScmsServer, memory: Memory) -> None:
    """An error diagnostic on each pattern file git left with conflict markers; cleared once it is resolved."""
    now = {}
    for conflict in memory.conflicts:
        line = max(0, conflict["line"] - 1)
        where = types.Range(start=types.Position(line=line, character=0), end=types.Position(line=line, character=7))
        now[Path(conflict["path"]).as_uri()] = [types.Diagnostic(
            range=where, severity=types.DiagnosticSeverity.Error, source="SCMS",
            message="git left conflict markers in this pattern file: resolve the conflict and commit; until then "
                    "the pattern keeps its last state")]
    for uri in set(ls.conflicted) - set(now):
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    for uri, diagnostics in now.items():
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
    ls.conflicted = set(now)


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
