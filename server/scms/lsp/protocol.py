"""The JSON-RPC protocol with malformed messages answered: a request pygls cannot read (a hover without
`textDocument`, an executeCommand without `command`, a line that is a string) gets a -32602 error naming the
field, a malformed notification is logged and dropped, and neither pops anything up: the user cannot act on a
client's mistake."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from cattrs import transform_error
from cattrs.errors import ClassValidationError
from lsprotocol.types import ResponseError
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger("scms")
INVALID_PARAMS = -32602
INVALID_REQUEST = -32600


@dataclass
class Malformed:
    """A message whose params could not be read, kept to be answered (requests) or dropped (notifications)."""

    id: Any
    method: str
    problem: str
    jsonrpc: str = "2.0"
    code: int = INVALID_PARAMS


class ScmsProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]):
        if isinstance(data, dict) and "jsonrpc" in data and "method" in data and not isinstance(data["method"], str):
            return Malformed(data.get("id"), repr(data["method"])[:40], "the method must be a string",
                             code=INVALID_REQUEST)
        try:
            return super().structure_message(data)
        except Exception as err:
            if not isinstance(data, dict) or not isinstance(data.get("method"), str) or "error" in data \
                    or "result" in data:
                raise
            return Malformed(data.get("id"), data["method"], _problem(err.__cause__ or err))

    def handle_message(self, message: Any) -> None:
        if not isinstance(message, Malformed):
            super().handle_message(message)
            return
        if message.id is None:
            log.warning("SCMS: a malformed %s notification was ignored: %s", message.method, message.problem)
            return
        log.info("SCMS: a malformed %s request was refused: %s", message.method, message.problem)
        what = "invalid params" if message.code == INVALID_PARAMS else "invalid request"
        self._send_response(message.id, error=ResponseError(
            code=message.code, message=f"{message.method}: {what}: {message.problem}"))


_CAMEL_PATH = re.compile(r"(@ \$\.)([\w.\[\]]+)")


def _camel(path: str) -> str:
    """`params.text_document.uri` as the protocol spells it: `params.textDocument.uri`."""
    return ".".join(re.sub(r"_([a-z])", lambda m: m.group(1).upper(), part) for part in path.split("."))


def _problem(err: BaseException) -> str:
    """Which fields were wrong, as cattrs says ('$.params.textDocument: required field missing'), briefly."""
    if isinstance(err, ClassValidationError):
        try:
            lines = transform_error(err, path="$")
        except Exception:  # the message is a courtesy
            lines = []
        lines = [_CAMEL_PATH.sub(lambda m: m.group(1) + _camel(m.group(2)), line) for line in lines]
        if lines:
            return "; ".join(line[:200] for line in lines[:3]) + (f" (and {len(lines) - 3} more)" if len(lines) > 3 else "")
    return (str(err).splitlines() or [type(err).__name__])[0][:200]
