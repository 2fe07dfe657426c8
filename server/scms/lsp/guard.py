"""Failure isolation, as esbonio wraps its features: an unexpected exception in one handler is logged with its
traceback and answered as "nothing here" (requests) or dropped (notifications); the other features go on.

Errors a handler raises on purpose (pygls' JSON-RPC errors, with their codes and messages) pass through.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

from pygls.exceptions import JsonRpcException

log = logging.getLogger("scms")


def isolated(feature: str, nothing: Any = None) -> Callable[[Callable], Callable]:
    """Wrap a handler (sync or async) so that an unexpected failure answers `nothing` and is logged."""

    def wrap(handler: Callable) -> Callable:
        if asyncio.iscoroutinefunction(handler):
            @functools.wraps(handler)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await handler(*args, **kwargs)
                except JsonRpcException:
                    raise
                except Exception:
                    log.exception("SCMS: %s failed; answered as if nothing were there", feature)
                    return nothing

            return guarded_async

        @functools.wraps(handler)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except JsonRpcException:
                raise
            except Exception:
                log.exception("SCMS: %s failed; answered as if nothing were there", feature)
                return nothing

        return guarded

    return wrap
