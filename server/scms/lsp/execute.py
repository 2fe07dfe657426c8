"""`workspace/executeCommand` for every `scms.*` command: validated, run off the event loop, the memory's errors
mapped onto JSON-RPC errors that name the field, and the client told what changed.

An unexpected failure answers a clear internal error (its traceback goes to the SCMS output) and leaves the
server serving; nothing the command committed before it failed is lost.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams, JsonRpcServerError

from scms.errors import InvalidInput, InvalidState, NotFound, ScmsError
from scms.lsp.commands import COMMANDS, parse_args
from scms.lsp.server import UNAVAILABLE, ScmsServer, server
from scms.lsp.suggestions import suggestions

log = logging.getLogger("scms")
LONG_COMMANDS = {"scms.closeSession": "SCMS: closing the session", "scms.promoteEligible": "SCMS: promoting",
                 "scms.export": "SCMS: exporting rule files", "scms.import": "SCMS: importing"}


async def run_command(ls: ScmsServer, name: str, args: tuple[Any, ...]) -> Any:
    memory = await ls.memory_ready()
    _, implementation, changes = COMMANDS[name]
    try:
        parsed = parse_args(name, args)
        if name in LONG_COMMANDS:
            async with ls.progress(LONG_COMMANDS[name]):
                result = await asyncio.to_thread(_run, implementation, ls, memory, parsed, changes)
        else:
            result = await asyncio.to_thread(_run, implementation, ls, memory, parsed, changes)
    except (InvalidInput, NotFound, InvalidState) as err:
        raise JsonRpcInvalidParams(_naming_the_field(err)) from None
    except ScmsError as err:
        if changes:
            ls.changed(name, [])  # a file that could not follow a committed change: views refresh anyway
        raise JsonRpcServerError(str(err), code=UNAVAILABLE) from None
    except JsonRpcException:
        raise
    except Exception as err:
        log.exception("SCMS: %s failed", name)
        if changes:
            ls.changed(name, [])
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise JsonRpcInternalError(f"{name} failed: {type(err).__name__}: {first} (the traceback is in the SCMS "
                                   "output)") from None
    if changes:
        ls.changed(name, _ids(result))
        suggestions.refresh(ls)
    return result


def _run(implementation: Any, ls: ScmsServer, memory: Any, parsed: Any, changes: bool) -> Any:
    """The command; then, for a change, the store's new events are taken as seen, so that following the store
    tells the client only of others' changes (this one's it hears below)."""
    try:
        return implementation(ls, memory, parsed)
    finally:
        if changes:
            try:
                memory.follow_changes()
            except Exception:  # only bookkeeping: the worst case is one more refresh of the views
                log.debug("taking the command's events as seen failed", exc_info=True)


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
        return [p["id"] for key in ("promoted", "archived", "imported") for p in result.get(key, [])]
    return []


def _register(name: str) -> None:
    async def handler(ls: ScmsServer, *args: Any) -> Any:
        return await run_command(ls, name, args)

    handler.__name__ = name.replace(".", "_")
    server.command(name)(handler)


for _name in COMMANDS:
    _register(_name)
