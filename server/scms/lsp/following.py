"""What other processes commit to the store (an agent through `scms mcp`, the `scms` command, another window)
reaches the editor: the store is looked at every second, and the client is told which patterns changed."""

from __future__ import annotations

import asyncio
import logging

from scms.lsp.server import ScmsServer
from scms.memory import Memory

log = logging.getLogger("scms")
FOLLOW_EVERY_S = 1.0  # one indexed MAX(id) a second: the tree shows an agent's candidate within about a second


async def follow_store(ls: ScmsServer, memory: Memory) -> None:
    """Until this memory is closed: catch up with others' changes and tell the client (tree, status bar)."""
    while True:
        await asyncio.sleep(FOLLOW_EVERY_S)
        if ls.memory is not memory:
            return
        try:
            changed = await asyncio.to_thread(memory.follow_changes)
        except Exception:  # a closing store, a locked moment: the next look catches up
            log.debug("following the store failed", exc_info=True)
            continue
        if changed and ls.memory is memory:
            ls.changed("store", changed)
