"""Reliability runs (issue 16): crash safety under SIGKILL, concurrent writers, fuzzed input.

    .venv/bin/python -m benchmarks.reliability [--crash 1000] [--writers 1000] [--fuzz-lsp 10000] [--fuzz-mcp 2000]

Each run talks to the real servers over their real transports: `python -m scms serve` (LSP, Content-Length
framed JSON-RPC on stdio), `python -m scms mcp` (MCP, newline-delimited JSON-RPC on stdio) and `python -m scms`
(a process per command). The clients here are written for the purpose, small and synchronous, so that a run can
send what a well-behaved client never would (a malformed frame, a request without params) and can kill a server
mid-request without a client library in the way. The tests in tests/test_reliability_*.py run the same code at
CI sizes; this module's `main` runs the full sizes and writes the figures into docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
SOURCES = ["shutil.py", "textwrap.py", "json/decoder.py", "http/cookiejar.py", "functools.py", "tarfile.py"]
LEXICAL = {"recall": {"embeddings": False}}  # no embedding model: the runs measure the store, not torch
INTERNAL_ERROR = -32603
ANSWER_S = 30.0  # a request not answered in this long counts as unanswered


def project(root: Path) -> Path:
    """A workspace whose src/ holds copies of some standard-library modules (as tests/conftest.py makes)."""
    for name in SOURCES:
        target = root / "src" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(STDLIB / name, target)
    return root


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="scms-reliability-cache-"))
    return env


# --- a JSON-RPC client over a child's stdio -------------------------------------------------------------------


class ServerDied(Exception):
    """The server process ended while a request waited for its answer."""


class Rpc:
    """A child process speaking JSON-RPC on stdio; a reader thread files answers by id and keeps every
    notification. Requests the server sends (registrations, progress, configuration) get an empty answer."""

    def __init__(self, argv: list[str], cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=cwd, env=server_env())
        self.notifications: list[dict[str, Any]] = []
        self.server_requests: list[dict[str, Any]] = []
        self.stray: list[Any] = []  # answers to no request of ours, frames that are not JSON
        self._answers: dict[Any, dict[str, Any]] = {}
        self._arrived = threading.Condition()
        self._write_lock = threading.Lock()
        self._next = 0
        self._closed = False
        self.stderr: list[bytes] = []
        threading.Thread(target=self._read_loop, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # framing: subclasses
    def _frame(self, body: bytes) -> bytes:
        raise NotImplementedError

    def _read_message(self) -> bytes | None:
        raise NotImplementedError

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if len(self.stderr) < 20_000:
                self.stderr.append(line)

    def _read_loop(self) -> None:
        try:
            while (body := self._read_message()) is not None:
                try:
                    message = json.loads(body)
                except ValueError:
                    self.stray.append(body[:200])
                    continue
                self._file(message)
        finally:
            with self._arrived:
                self._closed = True
                self._arrived.notify_all()

    def _file(self, message: Any) -> None:
        if not isinstance(message, dict):
            self.stray.append(message)
            return
        if "method" in message and "id" in message:  # the server asks the client something
            self.server_requests.append(message)
            self.write({"jsonrpc": "2.0", "id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)
        else:
            with self._arrived:
                self._answers[_key(message.get("id"))] = message
                self._arrived.notify_all()

    def write(self, message: Any) -> None:
        self.write_raw(self._frame(json.dumps(message).encode()))

    def write_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self._write_lock:
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError) as err:
                raise ServerDied(f"cannot write to the server: {err}") from None

    def new_id(self) -> int:
        with self._write_lock:
            self._next += 1
            return self._next

    def send(self, method: str, params: Any = None, *, omit_params: bool = False) -> int:
        """Send a request; its id, to wait for with `answer`."""
        number = self.new_id()
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": number, "method": method}
        if not omit_params:
            message["params"] = params
        self.write(message)
        return number

    def answer(self, number: Any, timeout: float = ANSWER_S) -> dict[str, Any] | None:
        """The answer to request `number`; None when none came in `timeout`; ServerDied when the server ended."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while _key(number) not in self._answers:
                if self._closed:
                    raise ServerDied(f"the server ended (exit status {self.proc.poll()})")
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._arrived.wait(left)
            return self._answers.pop(_key(number))

    def request(self, method: str, params: Any = None, timeout: float = ANSWER_S) -> dict[str, Any]:
        number = self.send(method, params)
        answer = self.answer(number, timeout)
        if answer is None:
            raise TimeoutError(f"{method} not answered in {timeout:.0f} s")
        return answer

    def notify(self, method: str, params: Any = None) -> None:
        self.write({"jsonrpc": "2.0", "method": method, "params": params})

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._close_pipes()

    def stop(self, timeout: float = 30.0) -> None:
        """Close stdin (end of the session for both protocols) and wait; killed if it does not end."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if pipe:
                    pipe.close()
            except OSError:
                pass


def _key(value: Any) -> str:
    return json.dumps(value)


class Lsp(Rpc):
    """`python -m scms serve`, initialized as VS Code does, on `root` (or no folder)."""

    def __init__(self, root: Path | None, options: Any = LEXICAL, start: bool = True) -> None:
        super().__init__([sys.executable, "-m", "scms", "serve"], cwd=root)
        self.root = root
        if start:
            self.initialize(options)

    def _frame(self, body: bytes) -> bytes:
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    def _read_message(self) -> bytes | None:
        assert self.proc.stdout is not None
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                if length is not None:
                    break
                continue
            name, _, value = line.decode("ascii", "replace").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = self.proc.stdout.read(length)
        return body if len(body) == length else None

    def initialize(self, options: Any = LEXICAL) -> dict[str, Any]:
        root = self.root
        params = {
            "processId": os.getpid(), "rootUri": root.as_uri() if root else None,
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}] if root else None,
            "initializationOptions": options,
            "capabilities": {"window": {"workDoneProgress": True, "showMessage": {}},
                             "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True},
                                           "configuration": True},
                             "textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                                              "publishDiagnostics": {}}},
        }
        answer = self.request("initialize", params, timeout=60)
        self.notify("initialized", {})
        return answer

    def command(self, name: str, *arguments: Any, timeout: float = ANSWER_S) -> dict[str, Any]:
        return self.request("workspace/executeCommand", {"command": name, "arguments": list(arguments)}, timeout)

    def open(self, path: Path, text: str | None = None, uri: str | None = None, language: str = "python") -> str:
        uri = uri or path.as_uri()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": language, "version": 1,
            "text": path.read_text() if text is None else text}})
        return uri

    def popups(self) -> list[dict[str, Any]]:
        shown = [n["params"] for n in self.notifications if n.get("method") == "window/showMessage"]
        asked = [r["params"] for r in self.server_requests if r.get("method") == "window/showMessageRequest"]
        return shown + asked

    def shutdown(self) -> None:
        try:
            if self.alive:
                self.request("shutdown", None, timeout=30)
                self.notify("exit", None)
        except (ServerDied, TimeoutError):
            pass
        self.stop()


class Mcp(Rpc):
    """`python -m scms mcp --workspace root --lexical`, past the initialize handshake."""

    PROTOCOL = "2025-11-25"

    def __init__(self, root: Path, start: bool = True, name: str = "reliability") -> None:
        super().__init__([sys.executable, "-m", "scms", "mcp", "--workspace", str(root), "--lexical"], cwd=root)
        self.root = root
        if start:
            answer = self.request("initialize", {"protocolVersion": self.PROTOCOL, "capabilities": {},
                                                 "clientInfo": {"name": name, "version": "1.0"}}, timeout=60)
            if "result" not in answer:
                raise RuntimeError(f"MCP initialize failed: {answer}")
            self.notify("notifications/initialized", {})

    def _frame(self, body: bytes) -> bytes:
        return body + b"\n"

    def _read_message(self) -> bytes | None:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return None
            if line.strip():
                return line

    def tool(self, name: str, arguments: Any, timeout: float = ANSWER_S) -> dict[str, Any]:
        return self.request("tools/call", {"name": name, "arguments": arguments}, timeout)


def tool_result(answer: dict[str, Any]) -> tuple[bool, Any]:
    """(is_error, the structured result or the text) of a tools/call answer."""
    if "error" in answer:
        return True, answer["error"].get("message")
    result = answer["result"]
    if result.get("isError"):
        return True, result["content"][0]["text"] if result.get("content") else ""
    content = result.get("structuredContent")
    if content is None:
        return False, result["content"][0]["text"]
    return False, content["result"] if set(content) == {"result"} else content


def cli(root: Path, *arguments: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scms", "--workspace", str(root), "--json", *arguments],
                          capture_output=True, text=True, timeout=timeout, env=server_env(), cwd=root)
