"""The SCMS language server object: the memory it serves, logging to the client, pop-ups and progress.

Features register themselves on `server` when their modules are imported (`scms.lsp.features`); the
memory is opened after `initialized` (see `session.py`), and every request that needs it waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from lsprotocol import types
from pygls.exceptions import FeatureNotificationError, JsonRpcException, JsonRpcServerError
from pygls.lsp.server import LanguageServer

from scms import __version__
from scms.config import Settings
from scms.lsp.protocol import ScmsProtocol
from scms.memory import Memory

log = logging.getLogger("scms")
MESSAGE_LEVELS = {"off": 0, "onError": 1, "onWarning": 2, "always": 3}
UNAVAILABLE = -32001  # the memory cannot serve this request (not open, a file it could not write)


class ScmsServer(LanguageServer):
    """Owns the memory, the settings and the connection's helpers; the features live in their own modules."""

    def __init__(self) -> None:
        super().__init__("scms", __version__, protocol_cls=ScmsProtocol)
        self.memory: Memory | None = None
        self.settings: Settings | None = None
        self.raw_settings: Any = None
        self.root: str | None = None
        self.ready = asyncio.Event()  # set once the memory is open (or known to be unavailable)
        self.unavailable: str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.model_task: asyncio.Future | None = None
        self.follow_task: asyncio.Future | None = None  # see following.py
        self.scan_task: asyncio.Future | None = None  # see discovering.py
        self.pending_edits: dict[str, asyncio.Future] = {}
        self.loop_thread: int | None = None
        self.conflicted: set[str] = set()  # pattern files shown with a conflict diagnostic

    async def memory_ready(self) -> Memory:
        """The opened memory, waiting for it while it opens; a clear error when there is none."""
        await self.ready.wait()
        if self.memory is None:
            raise JsonRpcServerError(self.unavailable or "the SCMS memory is still starting", code=UNAVAILABLE)
        return self.memory

    # talking to the client from any thread

    def on_loop(self, call: Callable[[], None]) -> None:
        if self.loop is None or threading.get_ident() == self.loop_thread:
            call()
        else:
            self.loop.call_soon_threadsafe(call)

    def log(self, level: types.MessageType, message: str) -> None:
        self.on_loop(lambda: self.window_log_message(types.LogMessageParams(type=level, message=message)))

    def tell(self, level: types.MessageType, message: str) -> None:
        """A pop-up, if the notifications setting lets this level through; always logged."""
        self.log(level, message)
        wanted = MESSAGE_LEVELS[self.settings.notifications if self.settings else "onWarning"]
        needed = {types.MessageType.Error: 1, types.MessageType.Warning: 2}.get(level, 3)
        if wanted >= needed:
            self.on_loop(lambda: self.window_show_message(types.ShowMessageParams(type=level, message=message)))

    def changed(self, reason: str, pattern_ids: list[str]) -> None:
        """Tell the client the memory changed, so views (tree, status bar) refresh."""
        self.on_loop(lambda: self.protocol.notify("scms/didChange", {"reason": reason, "patternIds": pattern_ids}))

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors in notification handlers, and frames the reading loop could not parse (a client's mistake),
        are logged, not popped up: the user cannot act on a traceback."""
        if source is FeatureNotificationError:
            log.error("%s", error)
            return
        if source is JsonRpcException:
            log.warning("SCMS: a message from the client could not be read and was ignored: %s", error)
            return
        super().report_server_error(error, source)

    @asynccontextmanager
    async def progress(self, title: str) -> AsyncIterator[Callable[[str, int | None], None]]:
        """Work-done progress where the client supports it; the returned callable reports a step."""
        caps = self.client_capabilities
        supported = bool(caps and caps.window and caps.window.work_done_progress)
        token = str(uuid.uuid4())
        if supported:
            try:
                await self.work_done_progress.create_async(token)
            except Exception:  # the client refused (a JsonRpcException, usually): go on without
                supported = False
        if supported:
            self.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, percentage=0))

        def report(message: str, percentage: int | None = None) -> None:
            if supported:
                self.work_done_progress.report(token, types.WorkDoneProgressReport(message=message,
                                                                                   percentage=percentage))

        try:
            yield report
        finally:
            if supported:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd())


class ClientLogHandler(logging.Handler):
    """Forwards log records (tracebacks included) to the client's output as `window/logMessage`."""

    LEVELS = {
        logging.ERROR: types.MessageType.Error,
        logging.WARNING: types.MessageType.Warning,
        logging.INFO: types.MessageType.Info,
    }

    def __init__(self, server: ScmsServer) -> None:
        super().__init__(logging.INFO)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = next((v for k, v in sorted(self.LEVELS.items(), reverse=True) if record.levelno >= k),
                         types.MessageType.Log)
            self.server.log(level, self.format(record))
        except Exception:  # a log line must never break a request
            self.handleError(record)


def section(raw: Any) -> Any:
    """Settings arrive either as the `scms` section itself or wrapped in {"scms": …}."""
    if isinstance(raw, dict) and isinstance(raw.get("scms"), dict):
        return raw["scms"]
    return raw


server = ScmsServer()
_handler = ClientLogHandler(server)
_handler.setFormatter(logging.Formatter("%(message)s"))
log.addHandler(_handler)
log.setLevel(logging.INFO)
log.propagate = False
logging.getLogger("pygls").setLevel(logging.WARNING)
