"""Concurrent writers on one store: the language server, `scms mcp` and the CLI (a process per command) writing
one pattern at once lose no update and surface no lock error; a write lock another process holds is waited for
(SQLite's busy timeout, 5 s, three attempts) and, held longer than that, answered "the store is busy" by every
front end, with nothing changed. The full-size run (1,000 operations by each writer) is `python -m
benchmarks.reliability --writers 1000`; its figures are in docs/reliability.md."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.reliability import held_lock, writers  # noqa: E402


def test_three_front_ends_writing_at_once_lose_no_update(tmp_path: Path):
    figures = writers(300, 60, root=tmp_path / "project")  # the CLI at ~0.3 s a command sets the pace
    assert figures.errors == []
    assert figures.operations == {"lsp": 300, "mcp": 300, "cli": 60}
    assert figures.found == figures.expected and figures.lost == 0
    assert figures.integrity == "ok"


def test_a_write_lock_held_for_a_moment_is_waited_for(tmp_path: Path):
    answers = held_lock(2.0, root=tmp_path / "project")
    assert answers["lsp"] == {"accepted_uses": answers["lsp"]["accepted_uses"]}  # a result, not an error
    assert answers["mcp"][0] is False, answers["mcp"]
    assert answers["cli"] == (0, "")
    assert answers["events_while_held"] == 3  # all three waited, then wrote
    assert min(answers["lsp_s"], answers["mcp_s"], answers["cli_s"]) >= 1.9


def test_a_write_lock_held_too_long_is_a_clear_busy_error_that_changes_nothing(tmp_path: Path):
    answers = held_lock(22.0, root=tmp_path / "project")  # SCMS gives up after 3 x 5 s; the CLI starts later
    busy = "is busy: another process (an editor window, scms mcp or the scms command) has held its write lock"
    assert answers["lsp"]["code"] == -32001 and busy in answers["lsp"]["message"]
    assert answers["mcp"][0] is True and busy in answers["mcp"][1]
    assert answers["cli"][0] == 1 and busy in answers["cli"][1] and "Traceback" not in answers["cli"][1]
    assert answers["events_while_held"] == 0
    assert answers["lsp_after"] == 1  # the lock let go, writing works again
    assert max(answers["lsp_s"], answers["mcp_s"], answers["cli_s"]) < 22.0  # each gave up while it was held
