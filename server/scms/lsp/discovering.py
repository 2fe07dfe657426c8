"""The workspace is mined once for repeated code (discovery), in the background with progress, after the memory
opens; the open documents then show what it found. Edits and saves keep it current (`suggestions.py`)."""

from __future__ import annotations

import asyncio
import logging
import threading

from scms.lsp.server import ScmsServer
from scms.lsp.suggestions import suggestions
from scms.memory import Memory

log = logging.getLogger("scms")


async def scan_workspace(ls: ScmsServer, memory: Memory) -> None:
    """Mined after the lexical index is up (the first hovers need it; at 10k patterns, scanning from the start
    put the first useful hover at 2.1 s instead of 0.8 s); the facade's scan runs at background priority."""
    if not memory.settings.discovery.enabled:
        return
    await asyncio.to_thread(memory.warm_up)  # waits for the load in progress, or makes it
    if ls.memory is not memory:
        return
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()
    async with ls.progress("SCMS: looking for repeated code") as report:
        def scan() -> None:  # a daemon thread: exiting never waits for it (closing the memory stops it)
            try:
                summary = memory.scan_workspace(lambda done_files, total: ls.on_loop(
                    lambda: report(f"{done_files} of {total} files", int(100 * done_files / max(1, total)))))
                loop.call_soon_threadsafe(lambda: done.done() or done.set_result(summary))
            except Exception as err:
                log.exception("SCMS: looking for repeated code failed")
                failure = err
                loop.call_soon_threadsafe(lambda: done.done() or done.set_exception(failure))

        threading.Thread(target=scan, name="scms-discovery", daemon=True).start()
        try:
            summary = await done
        except Exception:
            return
    log.info("SCMS: looked for repeated code in %d files (%d units) in %.1f s%s", summary["mined"],
             summary["units"], summary["seconds"], " (stopped)" if summary["cancelled"] else "")
    if ls.memory is memory:
        suggestions.shapes_changed(ls)
