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
import atexit
import json
import os
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


_CACHE: list[str] = []


def server_env() -> dict[str, str]:
    """The environment of every process a run starts: the memory model's per-machine cache in a folder of the
    run's own (tests/conftest.py sets one for the tests), so that the user's ~/.cache is left alone."""
    env = dict(os.environ)
    if "XDG_CACHE_HOME" not in env:
        if not _CACHE:
            _CACHE.append(tempfile.mkdtemp(prefix="scms-reliability-cache-"))
            atexit.register(shutil.rmtree, _CACHE[0], True)
        env["XDG_CACHE_HOME"] = _CACHE[0]
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

    def shutdown(self, grace: float = 30.0) -> None:
        """`shutdown`, `exit`, and the end of stdin; killed if it has not ended after `grace` seconds (right after
        a start it waits for its background work, ~7 s here, before it exits)."""
        try:
            if self.alive:
                self.request("shutdown", None, timeout=30)
                self.notify("exit", None)
        except (ServerDied, TimeoutError):
            pass
        self.stop(grace)


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


# --- crash safety: SIGKILL mid-operation ---------------------------------------------------------------------

DEF_LINE = re.compile(r"^\s*(?:async\s+)?def \w+")


def contexts(root: Path) -> list[tuple[str, int]]:
    """(file, 0-based line) of every `def` in the workspace's sources: five lines from each are distinct code."""
    found = []
    for name in SOURCES:
        lines = (root / "src" / name).read_text().splitlines()
        found += [(name, number) for number, line in enumerate(lines[:-6]) if DEF_LINE.match(line)]
    return found


@dataclass
class Op:
    """One operation of a crash run: what it is, the event an acknowledgement of it puts in the log."""

    kind: str  # remember, accept, accept_at, promote, forget, restore, export | propose, worked, worked_at, failed
    pattern_id: str | None = None
    where: tuple[str, int] | None = None

    @property
    def event(self) -> str | None:
        return {"remember": "remembered", "propose": "remembered", "accept": "accepted", "accept_at": "accepted",
                "worked": "accepted", "worked_at": "accepted", "failed": "rejected", "promote": "promoted",
                "forget": "forgotten", "restore": "restored"}.get(self.kind)


@dataclass
class CrashFigures:
    front_end: str
    operations: int = 0  # acknowledged
    by_kind: Counter = field(default_factory=Counter)
    kills: int = 0
    answered_before_kill: int = 0  # the kill came just after the answer: an acknowledged operation
    in_flight_committed: int = 0  # of the operations a kill interrupted, those whose event was committed
    in_flight_lost: int = 0  # … and those that left no trace (unacknowledged: allowed)
    pending_after_kill: int = 0  # pattern files still to follow their committed event when the kill came
    files_checked: int = 0  # validated files compared byte for byte with the store after a restart
    rebuilds_exact: int = 0
    export_checks: int = 0
    leftover_temp_files: list[str] = field(default_factory=list)  # seen right after a kill
    temp_files_at_end: list[str] = field(default_factory=list)  # still there when the run ends
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0


class CrashRun:
    """Operations sent one at a time; now and then SIGKILL lands a random moment after a request was sent.
    After each kill: the store is checked as the killed process left it, then reopened by a new server and
    checked again, and `scms rebuild` must reproduce every pattern from the event log."""

    def __init__(self, root: Path, front_end: str, operations: int, kill_every: int, seed: int) -> None:
        self.root, self.front_end, self.target, self.kill_every = root, front_end, operations, kill_every
        self.rng = random.Random(seed)
        self.figures = CrashFigures(front_end)
        self.ledger: Counter = Counter()  # (event type, pattern id) of every acknowledged operation
        self.tiers: dict[str, str] = {}
        self.used: dict[str, set[tuple[str, int]]] = {}  # contexts each pattern has seen (its evidence)
        self.places = contexts(root)
        self.exported: dict[str, bytes] = {}  # the rule files as the last acknowledged export left them
        self.latency: dict[str, float] = {}
        self.server: Lsp | Mcp | None = None

    # the run

    def run(self) -> CrashFigures:
        started = time.monotonic()
        self.ledger = _logged(self.root)  # what was there before the run (MCP's seeded patterns)
        self.server = self._start()
        self._refresh_tiers()
        self.exported = rule_files(self.root)
        next_kill = self._gap()
        try:
            while self.figures.operations < self.target:
                op = self._choose()
                if next_kill == 0:
                    self._kill_during(op)
                    next_kill = self._gap()
                    continue
                answer = self._send_and_wait(op)
                self._acknowledged(op, answer)
                next_kill -= 1
            self._final_checks()
        finally:
            if self.server is not None:
                self._stop(self.server)
        self.figures.seconds = time.monotonic() - started
        return self.figures

    def _gap(self) -> int:
        return self.rng.randint(1, 2 * self.kill_every - 1)

    def _start(self) -> Lsp | Mcp:
        if self.front_end == "lsp":
            server: Lsp | Mcp = Lsp(self.root)
            self._expect_ok(server.command("scms.status", {}), "status after a start")  # the memory is open
            return server
        return Mcp(self.root)

    def _stop(self, server: Lsp | Mcp) -> None:
        server.shutdown() if isinstance(server, Lsp) else server.stop()

    # choosing operations that apply to the memory as it is

    def _choose(self) -> Op:
        rng, tiers = self.rng, self.tiers
        live = [p for p, t in tiers.items() if t in ("session", "validated")]
        session = [p for p, t in tiers.items() if t == "session"]
        archived = [p for p, t in tiers.items() if t == "archive"]
        if self.front_end == "mcp":
            if len(live) < 5 or rng.random() < 0.08:
                return Op("propose", where=rng.choice(self.places) if rng.random() < 0.5 else None)
            kind = rng.choices(["worked", "worked_at", "failed"], [6, 3, 1])[0]
            op = Op(kind, rng.choice(live))
        else:
            if len(live) < 5 or rng.random() < 0.06:
                return Op("remember", where=self._fresh(None))
            weights = {"accept": 40, "accept_at": 12, "promote": 12 if session else 0, "forget": 8,
                       "restore": 6 if archived else 0, "export": 10}
            kind = rng.choices(list(weights), list(weights.values()))[0]
            pool = {"promote": session, "restore": archived}.get(kind, live)
            op = Op(kind, rng.choice(pool) if kind != "export" else None)
        if op.kind in ("accept_at", "worked_at"):
            op.where = self._fresh(op.pattern_id)
        return op

    def _fresh(self, pattern_id: str | None) -> tuple[str, int]:
        used = self.used.get(pattern_id or "", set())
        while (where := self.rng.choice(self.places)) in used:
            pass
        return where

    # talking to the server

    def _request(self, op: Op) -> int:
        server = self.server
        assert server is not None
        if isinstance(server, Lsp):
            name, argument = self._lsp_command(op)
            return server.send("workspace/executeCommand", {"command": name, "arguments": [argument]})
        name, argument = self._mcp_call(op)
        return server.send("tools/call", {"name": name, "arguments": argument})

    def _lsp_command(self, op: Op) -> tuple[str, dict[str, Any]]:
        if op.kind == "export":
            return "scms.export", {}
        if op.kind == "remember":
            assert op.where is not None
            return "scms.remember", {"uri": self._uri(op.where), "range": _lines(op.where[1], 5)}
        argument: dict[str, Any] = {"patternId": op.pattern_id}
        if op.kind == "accept_at":
            assert op.where is not None
            argument.update(uri=self._uri(op.where), range=_lines(op.where[1], 5))
        return {"accept": "scms.accept", "accept_at": "scms.accept", "promote": "scms.promote",
                "forget": "scms.forget", "restore": "scms.restore"}[op.kind], argument

    def _mcp_call(self, op: Op) -> tuple[str, dict[str, Any]]:
        if op.kind == "propose":
            if op.where is None:
                return "add_candidate", {"title": f"Proposed {self.rng.randrange(10**9)}",
                                         "code": f"value_{self.rng.randrange(10**9)} = compute()\n"}
            return "add_candidate", {"title": f"Proposed at {op.where[0]}:{op.where[1] + 1}",
                                     "file": f"src/{op.where[0]}", "start_line": op.where[1] + 1,
                                     "end_line": op.where[1] + 5}
        argument: dict[str, Any] = {"pattern_id": op.pattern_id, "outcome": "failed" if op.kind == "failed"
                                    else "worked"}
        if op.kind == "worked_at":
            assert op.where is not None
            argument.update(file=f"src/{op.where[0]}", start_line=op.where[1] + 1, end_line=op.where[1] + 5)
        return "record_use", argument

    def _uri(self, where: tuple[str, int]) -> str:
        return (self.root / "src" / where[0]).as_uri()

    def _send_and_wait(self, op: Op) -> dict[str, Any]:
        started = time.monotonic()
        number = self._request(op)
        assert self.server is not None
        answer = self.server.answer(number)
        if answer is None:
            raise AssertionError(f"{self.front_end}: {op} not answered in {ANSWER_S:.0f} s")
        elapsed = time.monotonic() - started
        self.latency[op.kind] = 0.8 * self.latency.get(op.kind, elapsed) + 0.2 * elapsed
        return answer

    def _result(self, answer: dict[str, Any], what: str) -> Any:
        if self.front_end == "lsp":
            return self._expect_ok(answer, what)
        failed, result = tool_result(answer)
        if failed:
            raise AssertionError(f"mcp: {what} failed: {result}")
        return result

    def _expect_ok(self, answer: dict[str, Any], what: str) -> Any:
        if "error" in answer:
            raise AssertionError(f"{self.front_end}: {what} failed: {answer['error']}")
        return answer["result"]

    # what an acknowledgement means

    def _acknowledged(self, op: Op, answer: dict[str, Any]) -> None:
        result = self._result(answer, str(op))
        self.figures.operations += 1
        self.figures.by_kind[op.kind] += 1
        if op.kind == "export":
            self.exported = rule_files(self.root)
            return
        pattern = result.get("pattern", result) if isinstance(result, dict) else result
        pattern_id = pattern["id"]
        counted = result.get("counted", True) if isinstance(result, dict) else True
        if op.event and counted:
            self.ledger[(op.event, pattern_id)] += 1
        elif op.event:
            self.figures.violations.append(f"{op} at a new context answered counted: false")
        self.tiers[pattern_id] = pattern["tier"]
        if op.where is not None:
            self.used.setdefault(pattern_id, set()).add(op.where)

    # a kill, and what must hold after it

    def _kill_during(self, op: Op) -> None:
        server = self.server
        assert server is not None
        number = self._request(op)
        typical = self.latency.get(op.kind, 0.05)
        time.sleep(self.rng.uniform(0, 1.5 * typical))
        server.kill()
        self.server = None
        self.figures.kills += 1
        answer = server._answers.pop(_key(number), None)  # it may have come before the kill landed
        if answer is not None:
            self.figures.answered_before_kill += 1
            self._acknowledged(op, answer)
        exported_then = self.exported
        self._check_as_killed(op if answer is None else None, exported_then)
        self.server = self._start()
        self._check_reopened()
        self._check_rebuild()
        self._refresh_tiers()

    def _check_as_killed(self, in_flight: Op | None, exported: dict[str, bytes]) -> None:
        """The store as the killed process left it, before anything reopens it."""
        from scms.model import Pattern
        from scms.store.files import file_name, render

        conn = sqlite3.connect(self.root / ".scms" / "scms.db")
        try:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            logged = Counter(conn.execute("SELECT type, pattern_id FROM events").fetchall())
            rows = conn.execute("SELECT id, tier, data FROM patterns").fetchall()
            pending = {r[0] for r in conn.execute("SELECT pattern_id FROM pending_files")}
        finally:
            conn.close()
        if integrity != "ok":
            self.figures.violations.append(f"integrity_check after kill {self.figures.kills}: {integrity}")
        lost = self.ledger - logged
        if lost:
            self.figures.violations.append(f"acknowledged but not in the store after kill {self.figures.kills}: "
                                           f"{dict(lost)}")
            self.ledger -= lost  # reported once
        extra = logged - self.ledger
        if extra:
            [(key, count)] = extra.items() if len(extra) == 1 else [(None, 0)]
            fits = (in_flight is not None and key is not None and count == 1 and key[0] == in_flight.event
                    and (in_flight.pattern_id in (None, key[1])))
            if not fits:
                self.figures.violations.append(f"events nobody acknowledged after kill {self.figures.kills} "
                                               f"(in flight: {in_flight}): {dict(extra)}")
            else:
                self.figures.in_flight_committed += 1
            self.ledger += extra
        elif in_flight is not None and in_flight.event:
            self.figures.in_flight_lost += 1
        # validated files: equal to the store, except those still marked as pending (the next open writes them)
        self.figures.pending_after_kill += len(pending)
        patterns_dir = self.root / ".scms" / "patterns"
        on_disk = {p.name: p.read_bytes() for p in patterns_dir.glob("*.md")}
        for pattern_id, tier, data in rows:
            if pattern_id in pending:
                continue
            names = [n for n in on_disk if n.endswith(f"-{pattern_id}.md")]
            if tier == "validated":
                pattern = Pattern.model_validate_json(data)
                if names != [file_name(pattern)] or on_disk[names[0]] != render(pattern).encode():
                    self.figures.violations.append(f"after kill {self.figures.kills}: the file of validated "
                                                   f"{pattern_id} is {names or 'missing'}, not pending")
            elif names:
                self.figures.violations.append(f"after kill {self.figures.kills}: {tier} {pattern_id} still has "
                                               f"{names}, not pending")
        # rule files: as the last acknowledged export left them; an export in flight leaves each file old or new
        now = rule_files(self.root)
        self._temp_files()
        if in_flight is None or in_flight.kind != "export":
            if now != exported:
                self.figures.violations.append(f"after kill {self.figures.kills}: rule files changed without an "
                                               "export in flight")
            self.figures.export_checks += 1
        else:
            self._pending_export = (exported, now)

    _pending_export: tuple[dict[str, bytes], dict[str, bytes]] | None = None

    def _check_reopened(self) -> None:
        """A new server finished the pending file work: every validated file is the store's, byte for byte; an
        export in flight at the kill left each rule file either as before or as the export of the store now."""
        from scms.model import Pattern
        from scms.store.files import file_name, render

        conn = sqlite3.connect(self.root / ".scms" / "scms.db")
        try:
            rows = conn.execute("SELECT id, tier, data FROM patterns").fetchall()
            pending = [r[0] for r in conn.execute("SELECT pattern_id FROM pending_files")]
        finally:
            conn.close()
        if pending:
            self.figures.violations.append(f"after restart {self.figures.kills}: still pending: {pending}")
        expected = {file_name(p): render(p).encode() for p in (Pattern.model_validate_json(d)
                                                               for _, tier, d in rows if tier == "validated")}
        on_disk = {p.name: p.read_bytes() for p in (self.root / ".scms" / "patterns").glob("*.md")}
        if on_disk != expected:
            wrong = sorted(set(on_disk) ^ set(expected) | {n for n in on_disk if on_disk[n] != expected.get(n)})
            self.figures.violations.append(f"after restart {self.figures.kills}: validated files differ: {wrong}")
        self.figures.files_checked += len(expected)
        if self._pending_export is not None:
            before, at_kill = self._pending_export
            self._pending_export = None
            assert self.server is not None
            if self.front_end == "lsp":
                self._expect_ok(self.server.command("scms.export", {}), "export after a restart")
                after = rule_files(self.root)
            else:
                after = _export_elsewhere(self.root)
            for path in set(before) | set(at_kill) | set(after):
                if at_kill.get(path) not in (before.get(path), after.get(path)):
                    self.figures.violations.append(f"after kill {self.figures.kills} mid-export: {path} is "
                                                   "neither the old nor the new export")
            self.exported = after if self.front_end == "lsp" else at_kill
            self.figures.export_checks += 1

    def _check_rebuild(self) -> None:
        """`scms rebuild` recomputes every pattern from the event log: it must change nothing."""
        before = _projection(self.root)
        done = cli(self.root, "rebuild")
        if done.returncode != 0:
            self.figures.violations.append(f"scms rebuild failed: {done.stderr.strip()}")
            return
        after = _projection(self.root)
        if after != before:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            self.figures.violations.append(f"scms rebuild changed patterns {changed[:5]}")
        else:
            self.figures.rebuilds_exact += 1

    def _refresh_tiers(self) -> None:
        """The tiers, and the contexts each pattern has as evidence (an interrupted request may have added one)."""
        self.tiers = dict(_projection_tiers(self.root))
        for pattern_id, (_, _, data, _, _) in _projection(self.root).items():
            for evidence in json.loads(data).get("evidence", []):
                place = (evidence["file"].removeprefix("src/"), evidence["start_line"] - 1)
                self.used.setdefault(pattern_id, set()).add(place)

    def _temp_files(self) -> None:
        for path in self.root.rglob("*.tmp"):
            name = path.relative_to(self.root).as_posix()
            if name not in self.figures.leftover_temp_files:
                self.figures.leftover_temp_files.append(name)

    def _final_checks(self) -> None:
        self.figures.temp_files_at_end = sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*.tmp"))
        conn = sqlite3.connect(self.root / ".scms" / "scms.db")
        try:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            logged = Counter(conn.execute("SELECT type, pattern_id FROM events").fetchall())
        finally:
            conn.close()
        if integrity != "ok":
            self.figures.violations.append(f"integrity_check at the end: {integrity}")
        if logged != self.ledger:
            self.figures.violations.append(f"the event log and the acknowledgements differ at the end: "
                                           f"{dict(logged - self.ledger)} / {dict(self.ledger - logged)}")


def _lines(first: int, count: int) -> dict[str, Any]:
    return {"start": {"line": first, "character": 0}, "end": {"line": first + count, "character": 0}}


def _temp(path: str) -> bool:
    return path.endswith(".tmp")


def rule_files(root: Path) -> dict[str, bytes]:
    """Every file an export may write (anything outside src/ and .scms/), by workspace-relative path; not the
    temp files of `scms.atomic.atomic_write`."""
    found = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if relative.parts[0] in ("src", ".scms") or not path.is_file() or _temp(path.name):
            continue  # temp files a kill left are counted apart (CrashFigures.leftover_temp_files)
        found[relative.as_posix()] = path.read_bytes()
    return found


def _export_elsewhere(root: Path) -> dict[str, bytes]:
    """What an export of the store would write now, computed on a copy (the MCP server has no export)."""
    with tempfile.TemporaryDirectory(prefix="scms-export-") as scratch:
        copy = Path(scratch) / "w"
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("src"))
        done = cli(copy, "export")
        if done.returncode != 0:
            raise AssertionError(f"export on a copy failed: {done.stderr}")
        return rule_files(copy)


def _logged(root: Path) -> Counter:
    if not (root / ".scms" / "scms.db").exists():
        return Counter()
    conn = sqlite3.connect(root / ".scms" / "scms.db")
    try:
        return Counter(conn.execute("SELECT type, pattern_id FROM events").fetchall())
    finally:
        conn.close()


def _projection(root: Path) -> dict[str, tuple]:
    conn = sqlite3.connect(root / ".scms" / "scms.db")
    try:
        return {r[0]: r[1:] for r in conn.execute("SELECT id, tier, status, data, terms, last_event FROM patterns")}
    finally:
        conn.close()


def _projection_tiers(root: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(root / ".scms" / "scms.db")
    try:
        return conn.execute("SELECT id, tier FROM patterns").fetchall()
    finally:
        conn.close()


def crash(front_end: str, operations: int, kill_every: int = 25, seed: int = 16,
          root: Path | None = None) -> CrashFigures:
    """A crash run on a fresh workspace (MCP's starts with a few validated patterns, so that its uses rewrite
    files too)."""
    with tempfile.TemporaryDirectory(prefix=f"scms-crash-{front_end}-") as scratch:
        workspace = project(root or Path(scratch) / "project")
        if front_end == "mcp":
            _seed_validated(workspace, 4)
        return CrashRun(workspace, front_end, operations, kill_every, seed).run()


def _seed_validated(root: Path, count: int) -> None:
    places = contexts(root)
    for number in range(count):
        name, line = places[number * 7]
        made = cli(root, "remember", f"src/{name}:{line + 1}-{line + 5}")
        pattern_id = json.loads(made.stdout)["id"]
        cli(root, "promote", pattern_id)


# --- concurrent writers: the language server, the MCP server and the CLI on one store ------------------------


@dataclass
class WriterFigures:
    operations: dict[str, int] = field(default_factory=dict)  # acknowledged, per writer
    errors: list[str] = field(default_factory=list)  # every error any writer saw (none is allowed)
    latency_ms: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # p50, p99, max per writer
    expected: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    integrity: str = ""
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return sum(abs(self.expected[k] - self.found.get(k, 0)) for k in self.expected)


def writers(operations: int, cli_operations: int, root: Path | None = None) -> WriterFigures:
    """The language server, `scms mcp` and the CLI writing one pattern at once: the language server accepts
    (without a context, and at new contexts every tenth time), the agent records uses (a tenth of them
    failed), the CLI accepts (a process per command). Every acknowledged write must be counted."""
    with tempfile.TemporaryDirectory(prefix="scms-writers-") as scratch:
        workspace = project(root or Path(scratch) / "project")
        made = cli(workspace, "remember", "src/shutil.py:1-5", "--title", "Shared by three writers")
        pattern_id = json.loads(made.stdout)["id"]
        figures = WriterFigures()
        places = contexts(workspace)
        random.Random(7).shuffle(places)
        editor, agent = Lsp(workspace), Mcp(workspace)
        counts: Counter = Counter()
        timings: dict[str, list[float]] = {"lsp": [], "mcp": [], "cli": []}
        lock = threading.Lock()
        start = threading.Barrier(3)
        cli_done = threading.Condition()
        progress = [0]  # CLI commands finished

        def paced(number: int) -> None:
            """The servers' writers keep pace with the slower CLI, so that the three write at once throughout."""
            with cli_done:
                cli_done.wait_for(lambda: progress[0] >= cli_operations
                                  or number * cli_operations < (progress[0] + 1) * operations, timeout=120)

        def record(writer: str, started: float, error: str | None, event: str | None) -> None:
            with lock:
                timings[writer].append((time.monotonic() - started) * 1000)
                if error:
                    figures.errors.append(f"{writer}: {error}")
                elif event:
                    counts[event] += 1
                    figures.operations[writer] = figures.operations.get(writer, 0) + 1

        def lsp_writer() -> None:
            start.wait()
            for number in range(operations):
                paced(number)
                argument: dict[str, Any] = {"patternId": pattern_id}
                if number % 10 == 9:
                    name, line = places[number // 10 % len(places)]
                    argument.update(uri=(workspace / "src" / name).as_uri(), range=_lines(line, 5))
                started = time.monotonic()
                try:
                    answer = editor.command("scms.accept", argument)
                except Exception as err:
                    record("lsp", started, f"{type(err).__name__}: {err}", None)
                    continue
                error = answer.get("error")
                counted = not error and answer["result"]["counted"]
                record("lsp", started, error and f"{error['code']} {error['message']}",
                       "accepted" if counted else None)

        def mcp_writer() -> None:
            start.wait()
            for number in range(operations):
                paced(number)
                outcome = "failed" if number % 10 == 9 else "worked"
                started = time.monotonic()
                try:
                    failed, result = tool_result(agent.tool("record_use", {"pattern_id": pattern_id,
                                                                           "outcome": outcome}))
                except Exception as err:
                    failed, result = True, f"{type(err).__name__}: {err}"
                record("mcp", started, result if failed else None,
                       "accepted" if outcome == "worked" else "rejected")

        def cli_writer() -> None:
            start.wait()
            for _ in range(cli_operations):
                started = time.monotonic()
                done = cli(workspace, "accept", pattern_id)
                record("cli", started, done.stderr.strip() or f"exit {done.returncode}"
                       if done.returncode else None, "accepted")
                with cli_done:
                    progress[0] += 1
                    cli_done.notify_all()

        began = time.monotonic()
        threads = [threading.Thread(target=t) for t in (lsp_writer, mcp_writer, cli_writer)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            figures.seconds = time.monotonic() - began
            failed, final = tool_result(agent.tool("get_pattern", {"pattern_id": pattern_id}))
            listed = editor.command("scms.list", {})["result"]
        finally:
            editor.shutdown()
            agent.stop()
        seen_by_editor = next(p for p in listed if p["id"] == pattern_id)
        shown = json.loads(cli(workspace, "show", pattern_id).stdout)
        conn = sqlite3.connect(workspace / ".scms" / "scms.db")
        try:
            figures.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            logged = dict(conn.execute("SELECT type, COUNT(*) FROM events WHERE pattern_id = ? GROUP BY type",
                                       (pattern_id,)).fetchall())
        finally:
            conn.close()
        figures.expected = {"accepted events": counts["accepted"], "rejected events": counts["rejected"],
                            "accepted_uses (mcp)": counts["accepted"], "accepted_uses (lsp)": counts["accepted"],
                            "accepted_uses (cli)": counts["accepted"], "rejected_uses": counts["rejected"]}
        figures.found = {"accepted events": logged.get("accepted", 0), "rejected events": logged.get("rejected", 0),
                         "accepted_uses (mcp)": final["accepted_uses"] if not failed else -1,
                         "accepted_uses (lsp)": seen_by_editor["accepted_uses"],
                         "accepted_uses (cli)": shown["accepted_uses"], "rejected_uses": shown["rejected_uses"]}
        for writer, values in timings.items():
            if values:
                ordered = sorted(values)
                figures.latency_ms[writer] = (ordered[len(ordered) // 2], ordered[min(len(ordered) - 1,
                                              int(len(ordered) * 0.99))], ordered[-1])
        return figures


def held_lock(hold_s: float, root: Path | None = None) -> dict[str, Any]:
    """Another process takes the store's write lock and holds it `hold_s` seconds while the language server,
    `scms mcp` and the CLI each try one accept. Shorter than SCMS waits (3 attempts of 5 s): each waits and
    succeeds. Longer: each answers that the store is busy and changes nothing; all work again afterwards."""
    with tempfile.TemporaryDirectory(prefix="scms-busy-") as scratch:
        workspace = project(root or Path(scratch) / "project")
        made = cli(workspace, "remember", "src/shutil.py:1-5", "--title", "Waiting for the lock")
        pattern_id = json.loads(made.stdout)["id"]
        editor, agent = Lsp(workspace), Mcp(workspace)
        answers: dict[str, Any] = {}
        try:
            editor.command("scms.status", {})
            holder = sqlite3.connect(workspace / ".scms" / "scms.db", isolation_level=None,
                                     check_same_thread=False)
            holder.execute("BEGIN IMMEDIATE")
            held = time.monotonic()
            release = threading.Timer(hold_s, lambda: (holder.execute("ROLLBACK"), holder.close()))
            release.start()
            try:
                lsp_id = editor.send("workspace/executeCommand", {"command": "scms.accept",
                                                                  "arguments": [{"patternId": pattern_id}]})
                mcp_id = agent.send("tools/call", {"name": "record_use", "arguments": {"pattern_id": pattern_id,
                                                                                       "outcome": "worked"}})
                command = subprocess.Popen([sys.executable, "-m", "scms", "--workspace", str(workspace), "accept",
                                            pattern_id], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                           env=server_env())
                lsp_answer = editor.answer(lsp_id, timeout=hold_s + 30)
                answers["lsp_s"] = time.monotonic() - held
                mcp_answer = agent.answer(mcp_id, timeout=hold_s + 30)
                answers["mcp_s"] = time.monotonic() - held
                _, stderr = command.communicate(timeout=hold_s + 30)
                answers["cli_s"] = time.monotonic() - held
            finally:
                release.join()
            answers["lsp"] = lsp_answer and (lsp_answer.get("error") or {"accepted_uses": lsp_answer["result"][
                "accepted_uses"]})
            answers["mcp"] = mcp_answer and tool_result(mcp_answer)
            answers["cli"] = (command.returncode, stderr.strip())
            answers["events_while_held"] = _logged(workspace)[("accepted", pattern_id)]
            after = editor.command("scms.accept", {"patternId": pattern_id})
            answers["lsp_after"] = after.get("error") or after["result"]["accepted_uses"]
        finally:
            editor.shutdown()
            agent.stop()
        return answers


# --- fuzzed input: hypothesis-generated LSP requests, documents and MCP tool calls ---------------------------

COMMANDS = ["scms.remember", "scms.accept", "scms.reject", "scms.promote", "scms.promoteEligible", "scms.demote",
            "scms.forget", "scms.restore", "scms.reanchor", "scms.saveShape", "scms.dismissShape", "scms.update",
            "scms.list", "scms.recall", "scms.export", "scms.import", "scms.closeSession", "scms.status"]
COMMAND_FIELDS = {  # each command's (required, optional) argument fields
    "scms.remember": (["uri", "range"], ["title", "note", "kind", "tags"]),
    "scms.accept": (["patternId"], ["uri", "range", "position"]),
    "scms.reject": (["patternId"], ["uri", "range", "position", "reason"]),
    "scms.saveShape": (["shape"], ["title", "note"]), "scms.dismissShape": (["shape"], []),
    "scms.update": (["patternId"], ["title", "note", "kind", "tags"]), "scms.list": ([], ["tier"]),
    "scms.recall": ([], ["uri", "position", "text", "limit"]), "scms.export": ([], ["targets"]),
    "scms.import": (["paths"], []),
    **{name: (["patternId"], []) for name in ("scms.promote", "scms.demote", "scms.forget", "scms.restore",
                                               "scms.reanchor")},
    **{name: ([], []) for name in ("scms.promoteEligible", "scms.closeSession", "scms.status")},
}
TOOL_FIELDS = {  # each tool's (required, optional) arguments
    "search_patterns": (["query"], ["file", "language", "k", "tier"]), "get_pattern": (["pattern_id"], []),
    "add_candidate": (["title"], ["note", "code", "file", "start_line", "end_line", "kind", "tags", "language"]),
    "record_use": (["pattern_id", "outcome"], ["file", "start_line", "end_line", "reason"]),
    "list_patterns": ([], ["tier", "kind"]), "session_report": ([], []),
}
TOOLS = ["search_patterns", "get_pattern", "add_candidate", "record_use", "list_patterns", "session_report"]
ODD = ["\ud800", "\udfff", "\ud83d", "\u2028", "\u2029", "\r", "\r\n", "\n", "\x00", "\x85", "\x0c", "\x1c",
       "\ufeff", "\U0001f600", "é", "\t", "\x7f", "\u202e", "`", "```", "---", "<<<<<<< ", "\\", '"', "'", "$(", "%",
       "%2e%2e/", "../", "/", "\uffff"]


def _one_of_values(st: Any, values: list[Any]) -> Any:
    """One of these (large) values, without putting them in the strategy's repr."""
    def pick(index: int) -> Any:
        return values[index]

    return st.integers(0, len(values) - 1).map(pick)


def _odd_text(st: Any, max_size: int = 40) -> Any:
    """Text with the characters that break things: lone surrogates, line separators, NUL, BOM, backticks."""
    piece = st.one_of(st.text(max_size=8), st.sampled_from(ODD))
    return st.lists(piece, max_size=max_size).map("".join)


@dataclass
class FuzzFigures:
    front_end: str
    requests: int = 0  # messages that want an answer (with a valid id)
    notifications: int = 0  # documents opened, changed, saved, closed; other notifications
    raw: int = 0  # frames with no valid request in them (not JSON, not an object, an odd id): no answer owed
    answered: int = 0
    results: int = 0
    errors: Counter = field(default_factory=Counter)  # by JSON-RPC code, or "tool error" for MCP
    messages: Counter = field(default_factory=Counter)  # error messages, cut short, by how often
    internal: list[str] = field(default_factory=list)  # the smallest case for each distinct internal error
    unanswered: list[str] = field(default_factory=list)  # the smallest case for each kind of request not answered
    popups: int = 0
    popup_cases: list[str] = field(default_factory=list)
    deaths: int = 0
    death_cases: list[str] = field(default_factory=list)
    raw_answered: int = 0  # of the raw frames, those answered anyway (a parse error, id null)
    seconds: float = 0.0
    _smallest: dict[str, str] = field(default_factory=dict)

    def note(self, kind: str, key: str, case: str) -> None:
        """Keep, for each distinct problem, the shortest case that showed it."""
        slot = f"{kind}:{key}"
        known = self._smallest.get(slot)
        if known is None or len(case) < len(known):
            self._smallest[slot] = case
        target = {"internal": self.internal, "unanswered": self.unanswered, "popup": self.popup_cases,
                  "death": self.death_cases}[kind]
        target[:] = [v for k, v in sorted(self._smallest.items()) if k.startswith(kind + ":")]

    @property
    def problems(self) -> list[tuple[str, str, str]]:
        """(kind, what, the shortest case) of every distinct problem: internal, unanswered, popup, death."""
        return [(*slot.split(":", 1), case) for slot, case in sorted(self._smallest.items())]


def _gist(message: str) -> str:
    """An error message without its particulars (ids, numbers, paths, quoted values), to count kinds of error."""
    message = re.sub(r"'[^']*'|\"[^\"]*\"|/[^\s:,)]+|\d+", "…", message.replace("Error executing tool ", ""))
    return message[:70]


def _show(value: Any, limit: int = 600) -> str:
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text):,} characters)"


class Fuzzer:
    """Sends each generated case to a long-lived server and checks what came back; a dead server is counted,
    its case kept, and a new one started."""

    def __init__(self, root: Path, front_end: str, answer_s: float = 15.0) -> None:
        self.root, self.front_end, self.answer_s = root, front_end, answer_s
        self.figures = FuzzFigures(front_end)
        self.server: Lsp | Mcp = self._start()
        self.seen_popups = 0

    def _start(self) -> Lsp | Mcp:
        if self.front_end == "lsp":
            server: Lsp | Mcp = Lsp(self.root)
            server.command("scms.status", {}, timeout=60)
        else:
            server = Mcp(self.root)
        return server

    def close(self) -> None:
        self.server.shutdown() if isinstance(self.server, Lsp) else self.server.stop()

    def case(self, messages: list[tuple[str, Any]]) -> str:
        """One case: a list of ("request", message dict) / ("notify", message dict) / ("raw", body bytes)."""
        shown = _show([m if kind != "raw" else m.decode("utf-8", "replace") for kind, m in messages])
        waiting = []
        try:
            for kind, message in messages:
                if kind == "raw":
                    self.figures.raw += 1
                    self.server.write_raw(self.server._frame(message))
                    continue
                if kind == "notify":
                    self.figures.notifications += 1
                    self.server.write(message)
                    continue
                message = {**message, "id": self.server.new_id()}
                self.figures.requests += 1
                self.server.write(message)
                waiting.append(message)
            for message in waiting:
                answer = self.server.answer(message["id"], self.answer_s)
                self._check(message, answer, shown)
            self._sentinel()
        except ServerDied:
            pass
        if not self.server.alive or self.server.proc.poll() is not None:
            self.figures.deaths += 1
            self.figures.note("death", str(self.server.proc.poll()), shown)
            self.server.kill()
            self.server = self._start()
            self.seen_popups = 0
        elif isinstance(self.server, Lsp):
            popups = self.server.popups()
            if len(popups) > self.seen_popups:
                self.figures.popups += len(popups) - self.seen_popups
                for popup in popups[self.seen_popups:]:
                    self.figures.note("popup", str(popup.get("message", ""))[:80], shown)
                self.seen_popups = len(popups)
        self.figures.raw_answered += len(self.server._answers)  # answers to no request of ours (id null, …)
        self.server._answers.clear()
        return shown

    def _sentinel(self) -> None:
        """A harmless request after each case: the server handles messages in order, so once it is answered,
        whatever the case made the server send (a pop-up, an answer to a raw frame) has arrived."""
        if isinstance(self.server, Lsp):
            number = self.server.send("textDocument/hover", {"textDocument": {"uri": "untitled:sentinel"},
                                                             "position": {"line": 0, "character": 0}})
        else:
            number = self.server.send("ping", {})
        self.server.answer(number, self.answer_s)

    def _check(self, message: dict[str, Any], answer: dict[str, Any] | None, shown: str) -> None:
        method = str(message.get("method"))
        if answer is None:
            self.figures.note("unanswered", method, shown)
            return
        self.figures.answered += 1
        if "error" in answer:
            error = answer["error"]
            code = error.get("code") if isinstance(error, dict) else None
            self.figures.errors[str(code)] += 1
            text = str(error.get("message", "")) if isinstance(error, dict) else str(error)
            self.figures.messages[_gist(text)] += 1
            if code == INTERNAL_ERROR or re.search(r"failed: \w*(Error|Exception)\b", text):
                self.figures.note("internal", f"{method} {code} {_gist(text)}", shown)
            return
        self.figures.results += 1
        if self.front_end == "mcp" and method == "tools/call":
            result = answer.get("result") or {}
            if result.get("isError"):
                self.figures.errors["tool error"] += 1
                text = " ".join(c.get("text", "") for c in result.get("content", []) if isinstance(c, dict))
                self.figures.messages[_gist(text)] += 1
                if re.search(r"failed: \w*(Error|Exception)\b", text):
                    self.figures.note("internal", f"{message['params'].get('name')} {_gist(text)}", shown)


def lsp_strategy(root: Path, pattern_ids: list[str]) -> Any:
    """Cases for the language server: hovers, code actions and commands with random and malformed params,
    documents with odd text, and raw frames pygls cannot parse."""
    from hypothesis import strategies as st

    files = sorted((root / "src").rglob("*.py"))
    good_uris = [p.as_uri() for p in files[:4]] + [(root / "scratch.py").as_uri()]
    odd_uris = ["file:///etc/passwd", "untitled:x", "untitled:Untitled-1", "file://host/x", "file:", "", "file://",
                f"{root.as_uri()}/src/../../outside.py", f"{root.as_uri()}/../x.py", (root / "src").as_uri(),
                root.as_uri(), "file:///dev/zero", "file:///proc/self/environ", "http://example.com/a.py",
                "file:///%00", "file:///C:/x.py", f"{root.as_uri()}/nope.py", "vscode-notebook-cell:/x#1",
                f"{root.as_uri()}/src/%2e%2e/%2e%2e/outside.py", "\ud800"]
    odd_uris.append("file:///" + "a" * 5000)
    uri = st.one_of(st.sampled_from(good_uris), _one_of_values(st, odd_uris), _odd_text(st, 10))
    number = st.one_of(st.integers(0, 3000), st.sampled_from([-1, 2**31 - 1, 2**31, 2**53, 10**30, -2**63]),
                       st.floats(allow_nan=False, allow_infinity=False, width=32))
    leaf = st.one_of(st.none(), st.booleans(), number, _odd_text(st, 6), _one_of_values(st, ["x" * 100_000]))
    anything = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                            max_leaves=8)
    position = st.fixed_dictionaries({"line": number, "character": number})
    rng = st.fixed_dictionaries({"start": position, "end": position})
    pid = st.one_of(st.sampled_from(pattern_ids or ["deadbeef"]), _odd_text(st, 6), st.just(""),
                    _one_of_values(st, ["x" * 100_000]), number)

    def mutated(base: Any) -> Any:
        """The well-formed shape, or with a field dropped, a field's type changed, an extra field, or replaced."""
        def change(d: dict, how: str, which: int, data: Any) -> Any:
            d = dict(d)
            keys = sorted(d)
            if how == "drop" and keys:
                d.pop(keys[which % len(keys)])
            elif how == "retype" and keys:
                d[keys[which % len(keys)]] = data if not isinstance(data, type(d[keys[which % len(keys)]])) else [data]
            elif how == "extra":
                d["bogus"] = data
            elif how == "whole":
                return data
            return d
        return st.one_of(
            base, st.tuples(base, st.sampled_from(["drop", "retype", "extra", "whole", "keep"]), st.integers(0, 9),
                            anything).map(lambda t: change(*t) if isinstance(t[0], dict) else t[3]))

    text_doc = st.fixed_dictionaries({"uri": uri})
    hover = mutated(st.fixed_dictionaries({"textDocument": text_doc, "position": position}))
    diagnostic = st.fixed_dictionaries({
        "range": rng, "message": _odd_text(st, 4), "source": st.sampled_from(["SCMS", "other"]),
        "code": st.sampled_from(["scms.recalled", "scms.shape", "scms.failure", "x"]),
        "data": st.one_of(anything, st.fixed_dictionaries({
            "kind": st.sampled_from(["recalled", "failure", "shape", "x"]), "patternId": pid, "range": rng,
            "title": _odd_text(st, 6), "shape": st.one_of(_odd_text(st, 6), number)}))})
    code_action = mutated(st.fixed_dictionaries({
        "textDocument": text_doc, "range": rng,
        "context": st.fixed_dictionaries({"diagnostics": st.lists(diagnostic, max_size=3)})}))
    fields = {
        "patternId": pid, "uri": uri, "range": rng, "position": position, "title": _odd_text(st, 20),
        "note": st.one_of(_odd_text(st, 20), _one_of_values(st, ["n" * 30_000])), "kind": st.sampled_from(
            ["pattern", "convention", "anti_pattern", "failure", "recipe", ""]),
        "tags": st.lists(_odd_text(st, 4), max_size=25), "tier": st.sampled_from(["session", "validated", "archive",
                                                                                   "gold"]),
        "text": st.one_of(_odd_text(st, 30), _one_of_values(st, ["def f():\n    return 1\n" * 20_000])),
        "limit": number, "targets": st.lists(st.sampled_from(["workspace_rules", "cursor", "copilot", "agents",
                                                              "claude", "vim", ""]), max_size=6),
        "paths": st.lists(st.sampled_from(["/etc", "/etc/passwd", "..", "../outside", "src", "src/json",
                                           "file:///etc/hosts", "", "\x00", "~/.ssh", "/dev/zero", "nope"]),
                          max_size=3),
        "shape": st.one_of(_odd_text(st, 8), _one_of_values(st, ["0" * 64]), st.sampled_from(
            ["0123456789ab", "0123456789AB", " 0123456789ab ", "0123456789a", "0123456789abc", "zzzzzzzzzzzz"])),
        "reason": _odd_text(st, 10),
    }
    def argument_for(command: str) -> Any:
        """Mostly the command's own fields (a random subset, each with edge values), else anything at all."""
        required, optional = COMMAND_FIELDS.get(command, ([], sorted(fields)))
        return st.one_of(st.fixed_dictionaries({k: fields[k] for k in required},
                                               optional={k: fields[k] for k in optional}),
            st.sets(st.sampled_from(sorted(fields)), max_size=4).flatmap(
                lambda keys: st.fixed_dictionaries({k: fields[k] for k in sorted(keys)})), anything)

    command_name = st.one_of(st.sampled_from(COMMANDS), _odd_text(st, 8))
    execute = mutated(command_name.flatmap(lambda name: st.fixed_dictionaries({
        "command": st.just(name),
        "arguments": st.one_of(st.lists(argument_for(name), min_size=1, max_size=1),
                               st.lists(argument_for(name), max_size=2), anything)})))

    def request(method: str, params: Any) -> tuple[str, Any]:
        return "request", {"jsonrpc": "2.0", "method": method, "params": params}

    command_call = st.sampled_from(COMMANDS).flatmap(lambda name: st.fixed_dictionaries({
        "command": st.just(name), "arguments": st.lists(argument_for(name), min_size=1, max_size=1)}))
    requests = st.one_of(
        st.tuples(st.just("textDocument/hover"), hover),
        st.tuples(st.just("textDocument/codeAction"), code_action),
        st.tuples(st.just("workspace/executeCommand"), execute),
        st.tuples(st.just("workspace/executeCommand"), command_call),
        st.tuples(st.just("workspace/executeCommand"), command_call),
        st.tuples(st.sampled_from(["textDocument/completion", "textDocument/definition", "scms/bogus", "",
                                   "$/x", "workspace/symbol", "textDocument/hover"]), anything),
    ).map(lambda t: [request(*t)])
    no_params = st.sampled_from(["textDocument/hover", "textDocument/codeAction", "workspace/executeCommand"]).map(
        lambda method: [("request", {"jsonrpc": "2.0", "method": method})])

    big = ["x" * 300_000 + "\n", "def f():\n    return 1\n" * 300_000, "\x00" * 10_000, "\ud800\n" * 1000,
           "a\u2028b\rc\r\nd\x85e\n" * 5000]
    doc_text = st.one_of(_odd_text(st, 60), _one_of_values(st, [(root / "src" / "shutil.py").read_text()]),
                         _one_of_values(st, big))
    doc_uri = st.one_of(st.sampled_from(good_uris), _one_of_values(st, odd_uris))
    change = st.one_of(st.fixed_dictionaries({"text": doc_text}),
                       st.fixed_dictionaries({"range": rng, "text": _odd_text(st, 10)}), anything)

    @st.composite
    def document(draw: Any) -> list[tuple[str, Any]]:
        target = draw(doc_uri)
        notify = lambda method, params: ("notify", {"jsonrpc": "2.0", "method": method, "params": params})
        messages = [notify("textDocument/didOpen", draw(mutated(st.fixed_dictionaries({"textDocument": (
            st.fixed_dictionaries({"uri": st.just(target), "languageId": st.sampled_from(["python", "x", ""]),
                                   "version": number, "text": doc_text}))}))))]
        for _ in range(draw(st.integers(0, 2))):
            messages.append(notify("textDocument/didChange", draw(mutated(st.fixed_dictionaries({
                "textDocument": st.fixed_dictionaries({"uri": st.just(target), "version": number}),
                "contentChanges": st.lists(change, max_size=3)})))))
        line = draw(st.one_of(st.integers(0, 40), number))
        messages.append(request("textDocument/hover", {"textDocument": {"uri": target},
                                                       "position": {"line": line, "character": 4}}))
        if draw(st.booleans()):
            messages.append(request("textDocument/codeAction", {
                "textDocument": {"uri": target}, "range": {"start": {"line": 0, "character": 0},
                                                           "end": {"line": line, "character": 0}},
                "context": {"diagnostics": []}}))
        if draw(st.booleans()):
            messages.append(request("workspace/executeCommand", {"command": "scms.remember", "arguments": [
                {"uri": target, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}}]}))
        if draw(st.booleans()):
            messages.append(notify("textDocument/didSave", {"textDocument": {"uri": target}}))
        messages.append(notify("textDocument/didClose", draw(mutated(st.fixed_dictionaries({
            "textDocument": st.fixed_dictionaries({"uri": st.just(target)})})))))
        return messages

    raw_body = st.one_of(
        st.sampled_from([b"{", b"not json", b"", b"[]", b"5", b"null", b'"x"', b"{}", b'{"jsonrpc":"2.0"}',
                         b'{"jsonrpc":"2.0","id":1}', b'{"jsonrpc":"1.0","id":1,"method":"textDocument/hover"}',
                         b'{"jsonrpc":"2.0","id":1.5,"method":"textDocument/hover","params":{}}',
                         b'{"jsonrpc":"2.0","id":null,"method":"textDocument/hover","params":{}}',
                         b'{"jsonrpc":"2.0","id":{},"method":"workspace/executeCommand","params":{}}',
                         b'{"jsonrpc":"2.0","id":true,"method":"textDocument/hover"}',
                         b'{"jsonrpc":"2.0","method":5,"id":"x"}', b'[{"jsonrpc":"2.0","method":"x","id":1}]',
                         b'{"jsonrpc":"2.0","id":1,"method":"textDocument/hover","params":{}}garbage',
                         b'{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{}}}',
                         b'{"jsonrpc":"2.0","method":"textDocument/didChange","params":5}',
                         b'{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"nope"}}',
                         b'{"jsonrpc":"2.0","method":"$/cancelRequest","params":{}}',
                         b'{"jsonrpc":"2.0","method":"workspace/didChangeWatchedFiles","params":{"changes":[{}]}}',
                         b'{"jsonrpc":"2.0","id":999999,"result":{}}', b'{"jsonrpc":"2.0","id":"z","error":{}}',
                         b"\xff\xfe\x00"]), _one_of_values(st, [b'{"a":' * 5000 + b"1" + b"}" * 5000]),
        st.binary(max_size=40))
    raw = st.lists(raw_body, min_size=1, max_size=2).map(lambda bodies: [("raw", b) for b in bodies])
    return st.one_of(requests, requests, requests, no_params, document(), raw)


def mcp_strategy(root: Path, pattern_ids: list[str], surrogates: bool = True) -> Any:
    """Tool calls of the six tools and unknown ones, with random and edge arguments (lone surrogates among
    their text, unless asked not to), and other methods with random params. `params` that is not an object is
    sent on its own by `known_problems`."""
    from hypothesis import strategies as st

    odd = [c for c in ODD if surrogates or not ("\ud800" <= c[0] <= "\udfff")]
    text = st.lists(st.one_of(st.text(max_size=8), st.sampled_from(odd)), max_size=20).map("".join)
    number = st.one_of(st.integers(-3, 200), st.sampled_from([0, 2**31, 10**20, -2**63]),
                       st.floats(allow_nan=False, allow_infinity=False))
    leaf = st.one_of(st.none(), st.booleans(), number, text)
    anything = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                            max_leaves=8)
    files = ["src/shutil.py", "src/json/decoder.py", "/etc/passwd", "../outside.py", "src/../../x.py",
             str(root / "src" / "shutil.py"), "src", "", "nope.py", "src/shutil.py\x00", "~/.bashrc", "/dev/zero",
             "file:///etc/passwd", "C:\\Windows\\win.ini", ".scms/scms.db", ".scms/patterns"]
    fields = {
        "query": st.one_of(text, _one_of_values(st, ["def copyfileobj(fsrc, fdst):\n" * 5_000, "q" * 100_001])),
        "file": st.one_of(st.sampled_from(files), text), "language": st.one_of(st.sampled_from(
            ["python", "typescript", "", "x" * 41]), text), "k": number,
        "tier": st.sampled_from(["session", "validated", "archive", "gold", ""]),
        "pattern_id": st.one_of(st.sampled_from(pattern_ids or ["deadbeef"]), text, st.just("x" * 65), number),
        "title": st.one_of(text, st.just("t" * 201), st.just("   ")),
        "note": st.one_of(text, _one_of_values(st, ["n" * 20_001])),
        "code": st.one_of(text, _one_of_values(st, ["c" * 100_001]), st.just("x = 1\n")),
        "start_line": number, "end_line": number, "outcome": st.sampled_from(["worked", "failed", "maybe", ""]),
        "reason": text, "kind": st.sampled_from(["pattern", "convention", "anti_pattern", "failure", "recipe"]),
        "tags": st.one_of(st.lists(text, max_size=22), text),
    }
    arguments = st.one_of(
        st.dictionaries(st.sampled_from(sorted(fields)), st.none(), max_size=6).flatmap(
            lambda keys: st.fixed_dictionaries({k: fields[k] for k in keys})),
        st.dictionaries(st.sampled_from(sorted(fields)), anything, max_size=4), anything)
    name = st.one_of(st.sampled_from(TOOLS), st.sampled_from(TOOLS), text)
    call = st.tuples(name, arguments).map(lambda t: [("request", {
        "jsonrpc": "2.0", "method": "tools/call", "params": {"name": t[0], "arguments": t[1]}})])
    own = st.sampled_from(TOOLS).flatmap(lambda tool: st.tuples(st.just(tool), st.fixed_dictionaries(
        {k: fields[k] for k in TOOL_FIELDS[tool][0]}, optional={k: fields[k] for k in TOOL_FIELDS[tool][1]})))
    tool_call = own.map(lambda t: [("request", {
        "jsonrpc": "2.0", "method": "tools/call", "params": {"name": t[0], "arguments": t[1]}})])
    envelope = st.dictionaries(st.text(max_size=6), anything, max_size=4)  # params must be an object (see above)
    odd_params = st.one_of(envelope, st.fixed_dictionaries({"name": anything})).map(lambda p: [("request", {
        "jsonrpc": "2.0", "method": "tools/call", "params": p})])
    others = st.tuples(st.sampled_from(["resources/read", "prompts/get", "resources/list", "tools/list", "x/y",
                                        "completion/complete", "ping"]), envelope).map(lambda t: [("request", {
                                            "jsonrpc": "2.0", "method": t[0], "params": t[1]})])
    return st.one_of(tool_call, tool_call, tool_call, tool_call, call, call, odd_params, others)


def fuzz(front_end: str, cases: int, seed: int = 16, root: Path | None = None,
         surrogates: bool = True) -> FuzzFigures:
    """`cases` hypothesis-generated cases against one server (a new one after a death); the figures."""
    from hypothesis import HealthCheck, Phase, given, seed as hypothesis_seed, settings

    with tempfile.TemporaryDirectory(prefix=f"scms-fuzz-{front_end}-") as scratch:
        workspace = project(root or Path(scratch) / "project")
        places = contexts(workspace)
        pattern_ids = []
        for name, line in places[:60:12]:
            made = cli(workspace, "remember", f"src/{name}:{line + 1}-{line + 5}")
            pattern_ids.append(json.loads(made.stdout)["id"])
        cli(workspace, "promote", pattern_ids[0])
        (workspace.parent / "outside.py").write_text("SECRET = 'outside the workspace'\n")
        strategy = (lsp_strategy(workspace, pattern_ids) if front_end == "lsp"
                    else mcp_strategy(workspace, pattern_ids, surrogates))
        fuzzer = Fuzzer(workspace, front_end)
        started = time.monotonic()

        @hypothesis_seed(seed)
        @settings(max_examples=cases, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def probe(messages: list[tuple[str, Any]]) -> None:
            began = time.monotonic()
            shown = fuzzer.case(messages)
            if os.environ.get("SCMS_FUZZ_TRACE"):
                print(f"{time.monotonic() - began:6.2f} s {shown[:300]}", file=sys.stderr, flush=True)

        try:
            probe()
        finally:
            fuzzer.close()
        fuzzer.figures.seconds = time.monotonic() - started
        return fuzzer.figures


def _frames(method: str) -> list[tuple[str, bytes, Any]]:
    """Messages a JSON-RPC 2.0 peer must answer with an error (a parse error or an invalid request, id null when
    it cannot tell the id), but that no client library sends: (what, the frame's body, the id it carries)."""
    return [
        ("not JSON", b"not json", None),
        ("not JSON (an unfinished object)", b"{", None),
        ("not UTF-8", b"\xff\xfe\x00", None),
        ("a request followed by garbage", b'{"jsonrpc":"2.0","id":9101,"method":"%s","params":{}}garbage'
         % method.encode(), 9101),
        ("JSON that is not an object: []", b"[]", None),
        ("JSON that is not an object: 5", b"5", None),
        ("an empty object", b"{}", None),
        ("no method, no id", b'{"jsonrpc":"2.0"}', None),
        ("a batch (an array of requests)", b'[{"jsonrpc":"2.0","id":9102,"method":"%s","params":{}}]'
         % method.encode(), 9102),
        ("jsonrpc 1.0", b'{"jsonrpc":"1.0","id":9103,"method":"%s","params":{}}' % method.encode(), 9103),
        ("a method that is not a string", b'{"jsonrpc":"2.0","id":9104,"method":5,"params":{}}', 9104),
        ("a fractional id", b'{"jsonrpc":"2.0","id":9105.5,"method":"%s","params":{}}' % method.encode(), 9105.5),
        ("an object as id", b'{"jsonrpc":"2.0","id":{"n":1},"method":"%s","params":{}}' % method.encode(),
         {"n": 1}),
        ("a boolean id", b'{"jsonrpc":"2.0","id":true,"method":"%s","params":{}}' % method.encode(), True),
        ("JSON nested 5,000 deep", b'{"a":' * 5000 + b"1" + b"}" * 5000, None),
    ]


def known_problems(wait_s: float = 3.0) -> list[dict[str, Any]]:
    """Each kind of message the fuzzing leaves out, sent on its own: whether it was answered (by its id, or with
    id null) and whether the language server popped up a message for it."""
    found: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="scms-known-") as scratch:
        workspace = project(Path(scratch) / "project")
        made = cli(workspace, "remember", "src/shutil.py:1-5")
        pattern_id = json.loads(made.stdout)["id"]
        lsp_frames = _frames("textDocument/hover")
        mcp_frames = _frames("tools/list") + [
            (f"params that are not an object: tools/call {p}", b'{"jsonrpc":"2.0","id":%d,"method":"tools/call",'
             b'"params":%s}' % (9200 + n, p.encode()), 9200 + n) for n, p in enumerate(["[]", "0", '"x"', "true"])
        ] + [
            ("params that are not an object: tools/list []",
             b'{"jsonrpc":"2.0","id":9210,"method":"tools/list","params":[]}', 9210),
            ("a lone surrogate in a tool's argument: get_pattern",
             b'{"jsonrpc":"2.0","id":9211,"method":"tools/call","params":{"name":"get_pattern",'
             b'"arguments":{"pattern_id":"\\ud800"}}}', 9211),
            ("a lone surrogate in a tool's argument: search_patterns",
             b'{"jsonrpc":"2.0","id":9212,"method":"tools/call","params":{"name":"search_patterns",'
             b'"arguments":{"query":"x = \\udfff"}}}', 9212),
            ("a lone surrogate in a tool's argument: add_candidate",
             b'{"jsonrpc":"2.0","id":9213,"method":"tools/call","params":{"name":"add_candidate",'
             b'"arguments":{"title":"odd \\ud83d title","code":"x = 1"}}}', 9213),
            ("a lone surrogate in a tool's name", b'{"jsonrpc":"2.0","id":9214,"method":"tools/call",'
             b'"params":{"name":"get_\\ud800","arguments":{}}}', 9214),
            ("a lone surrogate in record_use's reason", b'{"jsonrpc":"2.0","id":9215,"method":"tools/call",'
             b'"params":{"name":"record_use","arguments":{"pattern_id":"%s","outcome":"failed",'
             b'"reason":"\\udc00"}}}' % pattern_id.encode(), 9215),
        ]
        for front_end, frames in (("lsp", lsp_frames), ("mcp", mcp_frames)):
            server: Lsp | Mcp = Lsp(workspace) if front_end == "lsp" else Mcp(workspace)
            try:
                if isinstance(server, Lsp):
                    server.command("scms.status", {}, timeout=60)
                for what, body, number in frames:
                    popups = len(server.popups()) if isinstance(server, Lsp) else 0
                    server.write_raw(server._frame(body))
                    answer = server.answer(number, wait_s) if number is not None else None
                    sentinel = server.send("ping" if front_end == "mcp" else "textDocument/hover", {} if
                                           front_end == "mcp" else {"textDocument": {"uri": "untitled:s"},
                                                                    "position": {"line": 0, "character": 0}})
                    server.answer(sentinel, 30)
                    if answer is None:
                        answer = server._answers.pop(_key(None), None)
                    shown = server.popups()[popups:] if isinstance(server, Lsp) else []
                    found.append({"front_end": front_end, "what": what, "frame": body[:160].decode("utf-8",
                                                                                                "replace"),
                                  "answered": answer is not None,
                                  "answer": (answer or {}).get("error") or (answer or {}).get("result"),
                                  "popups": [p.get("message", "") for p in shown], "alive": server.alive})
                    server._answers.clear()
            finally:
                server.shutdown() if isinstance(server, Lsp) else server.stop()
    return found


# --- the full-size runs, and their figures in docs/reliability.md ---------------------------------------------

FIGURES_BEGIN, FIGURES_END = "<!-- reliability:figures -->", "<!-- /reliability:figures -->"


def _ms(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:,.0f}" for v in values)


def _crash_rows(runs: list[CrashFigures]) -> str:
    rows = []
    for f in runs:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(f.by_kind.items(), key=lambda kv: -kv[1]))
        rows.append(f"| {f.front_end} | {f.operations:,} ({kinds}) | {f.kills} | {f.answered_before_kill} / "
                    f"{f.in_flight_committed} / {f.in_flight_lost} | {f.pending_after_kill} | {f.files_checked:,} | "
                    f"{f.rebuilds_exact} of {f.kills} | {f.export_checks} | {len(f.leftover_temp_files)} | "
                    f"{len(f.violations)} | {f.seconds:,.0f} s |")
    return "\n".join(rows)


def _fuzz_rows(runs: list[FuzzFigures]) -> str:
    rows = []
    for f in runs:
        codes = ", ".join(f"{code} × {n:,}" for code, n in sorted(f.errors.items()))
        internal = sum(1 for kind, _, _ in f.problems if kind == "internal")
        rows.append(f"| {f.front_end} | {f.requests:,} | {f.notifications:,} | {f.raw:,} | {f.answered:,} | "
                    f"{f.results:,} | {codes} | {internal} | {len(f.unanswered)} | {f.popups:,} | {f.deaths} | "
                    f"{f.seconds:,.0f} s |")
    return "\n".join(rows)


def _problem_lines(runs: list[FuzzFigures]) -> str:
    lines = []
    for f in runs:
        raw = [what for kind, what, case in f.problems if kind == "popup" and case.startswith('["')]
        if raw:
            lines.append(f"- {f.front_end}: {len(raw)} distinct pop-ups, all for raw frames (the table below has "
                         "one of each kind)")
        for kind, what, case in f.problems:
            if not (kind == "popup" and case.startswith('["')):
                lines.append(f"- {f.front_end}, {kind}: `{what.strip()[:90]}`; smallest case: `{case[:300]}`")
    return "\n".join(lines) or "- none"


def _known_lines(found: list[dict[str, Any]]) -> str:
    rows = []
    for item in found:
        answer = "no" if not item["answered"] else f"yes ({str(item['answer'])[:80]})"
        popups = "; ".join(p[:70] for p in item["popups"]) or "none"
        rows.append(f"| {item['front_end']} | {item['what']} | {answer} | {popups} |")
    return "\n".join(rows)


def figures_markdown(crashes: list[CrashFigures], writer: WriterFigures, waited: dict[str, Any],
                     busy: dict[str, Any], fuzzed: list[FuzzFigures], known: list[dict[str, Any]],
                     seconds: float, kill_every: int = 25) -> str:
    from benchmarks.report import machine

    lost = writer.lost
    latency = "; ".join(f"{name} {_ms(v)}" for name, v in writer.latency_ms.items())
    return f"""{FIGURES_BEGIN}
Measured by `python -m benchmarks.reliability` on {machine()}, in {seconds / 60:,.0f} minutes.

**Crash safety.** Operations sent one at a time; SIGKILL a random moment (0–1.5 × that operation's usual
time) after a request was sent, on average every {kill_every} operations. *Kill came*: just after the answer (an
acknowledged operation) / after the commit, before the answer / before the commit (the other kills interrupted
an export, which logs no event). *Pending*: pattern files marked as still to follow a committed event when the
kill came.

| server | acknowledged operations | kills | kill came after answer / after commit / before commit | pending | validated files compared after restarts | `scms rebuild` exact | rule-file checks | temp files seen after kills | violations | time |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{_crash_rows(crashes)}

Temp files of `atomic_write` seen right after a kill: {", ".join(f"`{p}`" for f in crashes
                                                              for p in f.leftover_temp_files[:6]) or "none"};
still there at the end of the run: {", ".join(f"`{p}`" for f in crashes for p in f.temp_files_at_end) or "none"}.

**Concurrent writers.** One pattern, written at once by the language server (`scms.accept`, every tenth at a
new context), `scms mcp` (`record_use`, every tenth `failed`) and the CLI (`scms accept`, a process per
command), the servers paced to the CLI so that all three write throughout ({writer.seconds:,.0f} s).

| writer | acknowledged writes | errors seen |
| --- | ---: | ---: |
""" + "\n".join(f"| {name} | {count:,} | {sum(1 for e in writer.errors if e.startswith(name))} |"
                for name, count in writer.operations.items()) + f"""

Lost updates: {lost} (accepted and rejected events, and `accepted_uses` as each of the three reads it:
{", ".join(f"{k} {writer.found[k]:,}" for k in writer.expected)}). `PRAGMA integrity_check`: {writer.integrity}.
Write latency p50 / p99 / max (ms): {latency}.

A write lock held by another connection for 3 s: the language server answered after {waited['lsp_s']:.1f} s,
`scms mcp` after {waited['mcp_s']:.1f} s, the CLI after {waited['cli_s']:.1f} s, all three writes made
({waited['events_while_held']} events). Held for 20 s: each answered that the store is busy (language server
`{busy['lsp'].get('code') if isinstance(busy['lsp'], dict) else busy['lsp']}` after {busy['lsp_s']:.1f} s, MCP
tool error after {busy['mcp_s']:.1f} s, CLI exit status {busy['cli'][0]} after {busy['cli_s']:.1f} s), with
{busy['events_while_held']} events written; the next write after the lock was let go: {"succeeded" if isinstance(
    busy['lsp_after'], int) else busy['lsp_after']}.

**Fuzzed input.** Requests: messages with a valid id that want an answer; notifications: documents opened,
changed, saved and closed; raw: frames that hold no valid request. Internal: distinct kinds of -32603 or
"failed: …Error" answers; unanswered: distinct kinds of request not answered in 15 s.

| server | requests | notifications | raw frames | answered | results | errors by code | internal | unanswered | pop-ups | deaths | time |
| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |
{_fuzz_rows(fuzzed)}

Every distinct problem, with the smallest case that showed it:

{_problem_lines(fuzzed)}

Each kind of malformed frame, sent on its own (the LSP fuzzing sends these among its cases; the MCP fuzzing
leaves them out, as each would only wait out its timeout there):

| server | message | answered | pop-ups |
| --- | --- | --- | --- |
{_known_lines(known)}
{FIGURES_END}"""


def write_figures(markdown: str) -> Path:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Reliability\n\n{FIGURES_BEGIN}\n{FIGURES_END}\n"
    pattern = re.compile(re.escape(FIGURES_BEGIN) + ".*?" + re.escape(FIGURES_END), re.S)
    text = pattern.sub(lambda _: markdown, text) if pattern.search(text) else text.rstrip() + "\n\n" + markdown
    DOC.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return DOC


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__.split("\n")[0])
    parser.add_argument("--crash", type=int, default=1000, help="operations per server in the crash runs")
    parser.add_argument("--kill-every", type=int, default=25, help="operations between kills, on average")
    parser.add_argument("--writers", type=int, default=1000, help="writes by the language server and by scms mcp")
    parser.add_argument("--cli", type=int, default=1000, help="CLI commands in the concurrent-writers run")
    parser.add_argument("--fuzz-lsp", type=int, default=10_000, help="hypothesis cases for the language server")
    parser.add_argument("--fuzz-mcp", type=int, default=2_000, help="hypothesis cases for scms mcp")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--no-write", action="store_true", help="print the figures; leave docs/reliability.md")
    args = parser.parse_args(argv)
    started = time.monotonic()

    def step(what: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {what}", file=sys.stderr, flush=True)

    step(f"crash safety: {args.crash} operations through the language server")
    crashes = [crash("lsp", args.crash, args.kill_every, args.seed)]
    step(f"crash safety: {args.crash} operations through scms mcp")
    crashes.append(crash("mcp", args.crash, args.kill_every, args.seed))
    step(f"concurrent writers: {args.writers} + {args.writers} + {args.cli} CLI commands")
    writer = writers(args.writers, args.cli)
    step("a write lock held 3 s, then 20 s")
    waited, busy = held_lock(3.0), held_lock(20.0)
    step(f"fuzzing the language server: {args.fuzz_lsp} cases")
    fuzzed = [fuzz("lsp", args.fuzz_lsp, args.seed)]
    step(f"fuzzing scms mcp: {args.fuzz_mcp} cases")
    fuzzed.append(fuzz("mcp", args.fuzz_mcp, args.seed))
    step("the messages left out of the fuzzing")
    known = known_problems()
    markdown = figures_markdown(crashes, writer, waited, busy, fuzzed, known, time.monotonic() - started,
                                args.kill_every)
    print(markdown)
    for run in crashes:
        for violation in run.violations:
            print(f"VIOLATION ({run.front_end}): {violation}", file=sys.stderr)
    if not args.no_write:
        print(f"written to {write_figures(markdown)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
