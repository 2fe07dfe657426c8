"""Boundaries through the front ends: a repository that commits links out of the workspace (a source file or
folder, `.scms/` or what SCMS keeps in it, a pattern file, rule files), `..` and absolute paths and odd URIs,
sent to the language server, `scms mcp` and the CLI: nothing outside the workspace is read, written or recalled.
tests/test_boundaries.py checks the same at the facade; here every front end is asked, and the files outside are
compared afterwards by content, size, modification time and access time (set older than the modification time
first, so that on a `relatime` mount a read shows)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.reliability import Lsp, Mcp, cli, project, tool_result  # noqa: E402

OUTSIDE_PATTERN = """---
id: outside01
title: Outside pattern
kind: pattern
languages: [python]
tags: []
evidence: []
accepted_uses: 5
---

A pattern that lives outside the workspace.

```python
def token():
    return 'outside the workspace'
```
"""


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the workspace: a source file, someone's SQLite database, a valid pattern file, rules."""
    folder = tmp_path / "elsewhere"
    (folder / "rules").mkdir(parents=True)
    (folder / "secret.py").write_text("def token():\n    return 'outside the workspace'\n")
    (folder / "pattern.md").write_text(OUTSIDE_PATTERN)
    (folder / "rules" / "keep.md").write_text("# someone else's rules\n")
    (folder / "agents.md").write_text("# someone else's AGENTS.md\n")
    conn = sqlite3.connect(folder / "other.db")
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    return folder


ARMED: set[Path] = set()  # files whose access time untouched() has set back


def untouched(folder: Path) -> dict[str, Any]:
    """Every entry under `folder`: kind, size, modification and access time, content hash. On the first look a
    file's access time is set an hour before its modification time, so that a later read moves it (relatime)."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        plain = path.is_file() and not path.is_symlink()
        if plain and path not in ARMED:
            os.utime(path, ns=(info.st_mtime_ns - 3600 * 10**9, info.st_mtime_ns))
            ARMED.add(path)
            info = path.lstat()
        entries[path.relative_to(folder).as_posix()] = [info.st_mode, info.st_size, info.st_mtime_ns,
                                                        info.st_atime_ns if plain else None]
    for name, entry in entries.items():  # contents last (reading moves the access time), which is then put back
        path = folder / name
        if entry[3] is not None:
            entry.append(hashlib.sha256(path.read_bytes()).hexdigest())
            os.utime(path, ns=(entry[3], entry[2]))
    return entries


def events(root: Path) -> int:
    conn = sqlite3.connect(root / ".scms" / "scms.db")
    try:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def lsp_error(answer: dict[str, Any]) -> str:
    assert "error" in answer, f"not refused: {str(answer)[:300]}"
    return f"{answer['error']['code']} {answer['error']['message']}"


def test_links_dotdot_and_absolute_paths_out_of_the_workspace_reach_nothing(tmp_path: Path, outside: Path):
    root = project(tmp_path / "project")
    (root / "src" / "linked.py").symlink_to(outside / "secret.py")
    (root / "src" / "linkdir").symlink_to(outside, target_is_directory=True)
    made = cli(root, "remember", "src/shutil.py:1-5")
    pattern_id = json.loads(made.stdout)["id"]
    logged = events(root)
    before = untouched(outside)
    paths = [root / "src" / "linked.py", root / "src" / "linkdir" / "secret.py", outside / "secret.py",
             root / "src" / ".." / ".." / "elsewhere" / "secret.py"]
    uris = [p.as_uri() for p in paths] + [f"{root.as_uri()}/src/%2e%2e/%2e%2e/elsewhere/secret.py",
                                          "file:///etc/passwd", "file://otherhost/etc/passwd"]
    whole = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}
    editor = Lsp(root)
    try:
        editor.command("scms.status", {}, timeout=60)
        for uri in uris:
            editor.open(Path("x"), text="def token():\n    return 'an open buffer'\n", uri=uri)  # a buffer too
            for name, argument in (("scms.remember", {"uri": uri, "range": whole}),
                                   ("scms.accept", {"patternId": pattern_id, "uri": uri, "range": whole}),
                                   ("scms.reject", {"patternId": pattern_id, "uri": uri,
                                                    "position": {"line": 0, "character": 4}}),
                                   ("scms.recall", {"uri": uri, "position": {"line": 1, "character": 4}})):
                message = lsp_error(editor.command(name, argument))
                assert message.startswith("-32602 uri") and ("outside the workspace" in message
                                                               or "another host" in message), (name, uri, message)
            position = {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4}}
            assert editor.request("textDocument/hover", position)["result"] is None, uri
            assert editor.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": whole,
                                                              "context": {"diagnostics": []}})["result"] is None
        imported = editor.command("scms.import", {"paths": [str(outside), "../elsewhere/rules",
                                                            "src/linkdir"]})["result"]
        assert imported["imported"] == [] and len(imported["skipped"]) == 3, imported
        assert all("outside the workspace" in s["reason"] for s in imported["skipped"]), imported
    finally:
        editor.shutdown(grace=2)

    agent = Mcp(root)
    try:
        for file in ["src/linked.py", "src/linkdir/secret.py", "../elsewhere/secret.py", str(outside / "secret.py"),
                     "src/../../elsewhere/secret.py", "/etc/passwd"]:
            for tool, arguments in (("add_candidate", {"title": "Taken from outside", "file": file, "start_line": 1}),
                                    ("record_use", {"pattern_id": pattern_id, "outcome": "worked", "file": file,
                                                    "start_line": 1})):
                failed, text = tool_result(agent.tool(tool, arguments))
                assert failed and "outside the workspace" in text, (tool, file, text)
            prompt = agent.request("prompts/get", {"name": "apply_patterns", "arguments": {"file": file}})
            assert "error" in prompt and "outside the workspace" in prompt["error"]["message"], prompt
    finally:
        agent.stop()

    for spec in ("src/linked.py:1-2", "src/linkdir/secret.py:1-2", "../elsewhere/secret.py:1-2",
                 f"{outside / 'secret.py'}:1-2"):
        for arguments in (["remember", spec], ["accept", pattern_id, spec]):
            done = cli(root, *arguments)
            assert done.returncode == 1 and "is outside the workspace" in done.stderr, (arguments, done.stderr)
    imported = cli(root, "import", str(outside), "../elsewhere/rules", "src/linkdir")
    assert imported.stdout.count("outside the workspace") == 3, imported.stdout + imported.stderr
    assert events(root) == logged  # nothing was stored
    assert untouched(outside) == before  # nothing outside was read or written


@pytest.mark.parametrize("name", [".scms", ".scms/scms.db", ".scms/patterns", ".scms/index", ".scms/model",
                                  ".scms/sessions", ".scms/discovery"])
def test_links_in_the_store_are_refused_by_every_front_end(tmp_path: Path, outside: Path, name: str):
    root = project(tmp_path / "project")
    if name != ".scms":
        assert cli(root, "status").returncode == 0  # a store, then one of its parts replaced by a link
        part = root / name
        if part.is_dir():
            part.rename(part.with_name(part.name + "-kept"))
        elif part.exists():
            part.unlink()
    (root / name).symlink_to(outside / "other.db" if name.endswith(".db") else outside)
    before = untouched(outside)
    editor = Lsp(root)
    try:
        answer = editor.command("scms.status", {}, timeout=60)
        assert answer["error"]["code"] == -32001 and "is a link" in answer["error"]["message"], answer
        assert editor.request("textDocument/hover", {"textDocument": {"uri": (root / "src" / "shutil.py").as_uri()},
                                                     "position": {"line": 40, "character": 4}})["result"] is None
    finally:
        editor.shutdown(grace=5)
    agent = Mcp(root)
    try:
        failed, text = tool_result(agent.tool("list_patterns", {}))
        assert failed and "is a link" in text, text
    finally:
        agent.stop()
    done = cli(root, "list")
    assert done.returncode == 1 and "is a link" in done.stderr and "Traceback" not in done.stderr
    assert untouched(outside) == before
    conn = sqlite3.connect(outside / "other.db")
    try:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]  # no SCMS tables
    finally:
        conn.close()


def test_a_pattern_file_linked_outside_is_never_recalled_nor_read(tmp_path: Path, outside: Path):
    root = project(tmp_path / "project")
    assert cli(root, "status").returncode == 0
    patterns = root / ".scms" / "patterns"
    (patterns / "outside-pattern-outside01.md").symlink_to(outside / "pattern.md")
    (patterns / "zero.md").symlink_to("/dev/zero")  # read without bound it would never end
    before = untouched(outside)
    editor = Lsp(root)
    try:
        status = editor.command("scms.status", {}, timeout=60)["result"]
        assert any("outside-pattern-outside01.md: is a link" in w for w in status["warnings"]), status["warnings"]
        assert editor.command("scms.list", {})["result"] == []
        assert editor.command("scms.recall", {"text": "def token():\n    return 'outside the workspace'"})[
            "result"] == []
    finally:
        editor.shutdown(grace=5)
    agent = Mcp(root)
    try:
        assert tool_result(agent.tool("list_patterns", {})) == (False, {"patterns": []})
        failed, found = tool_result(agent.tool("search_patterns", {"query": "def token outside the workspace"}))
        assert not failed and found["patterns"] == []
        assert "error" in agent.request("resources/read", {"uri": "scms://patterns/outside01"})
    finally:
        agent.stop()
    listed = cli(root, "list")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    assert "is a link" in listed.stderr
    assert untouched(outside) == before


def test_an_export_writes_nothing_through_links(tmp_path: Path, outside: Path):
    root = project(tmp_path / "project")
    made = json.loads(cli(root, "remember", "src/shutil.py:1-5", "--title", "Kept in chunks").stdout)
    assert cli(root, "promote", made["id"]).returncode == 0
    (root / "AGENTS.md").symlink_to(outside / "agents.md")
    (root / "WORKSPACE_RULES.md").symlink_to(outside / "workspace-rules.md")  # a dangling link: not created there
    (root / ".cursor").mkdir()
    (root / ".cursor" / "rules").symlink_to(outside / "rules", target_is_directory=True)
    (root / ".github").symlink_to(outside, target_is_directory=True)
    before = untouched(outside)
    editor = Lsp(root)
    try:
        report = editor.command("scms.export", {}, timeout=60)["result"]
    finally:
        editor.shutdown(grace=5)
    skipped = {entry["path"] for entry in report["skipped"]}
    assert {"AGENTS.md", "WORKSPACE_RULES.md", ".cursor/rules", ".github/instructions"} <= skipped, report
    assert ".claude/rules/" in " ".join(report["written"])  # the target without a link is written
    again = json.loads(cli(root, "export").stdout)
    assert {entry["path"] for entry in again["skipped"]} == skipped
    assert untouched(outside) == before
    assert not (outside / "workspace-rules.md").exists()


@pytest.mark.parametrize("front_end", ["lsp", "mcp"])
def test_a_lexical_snapshot_linked_outside_is_not_read(tmp_path: Path, outside: Path, front_end: str):
    root = project(tmp_path / "project")
    assert cli(root, "remember", "src/shutil.py:1-5").returncode == 0
    (outside / "lexical.npz").write_bytes(b"PK\x03\x04 not a snapshot of this store")
    (root / ".scms" / "index").mkdir(exist_ok=True)
    (root / ".scms" / "index" / "lexical.npz").symlink_to(outside / "lexical.npz")
    before = untouched(outside)
    if front_end == "lsp":
        editor = Lsp(root)
        editor.command("scms.recall", {"text": "copy a file"}, timeout=60)
        editor.shutdown(grace=5)
    else:
        agent = Mcp(root)
        tool_result(agent.tool("search_patterns", {"query": "copy a file"}))
        agent.stop()
    assert untouched(outside) == before


def test_a_dismissed_list_linked_outside_is_not_read(tmp_path: Path, outside: Path):
    root = project(tmp_path / "project")
    assert cli(root, "status").returncode == 0
    (outside / "dismissed.txt").write_text("0123456789ab # someone else's\n")
    (root / ".scms" / "discovery").mkdir(exist_ok=True)
    (root / ".scms" / "discovery" / "dismissed.txt").symlink_to(outside / "dismissed.txt")
    before = untouched(outside)
    editor = Lsp(root)
    try:
        editor.command("scms.dismissShape", {"shape": "ba9876543210"}, timeout=60)
    finally:
        editor.shutdown(grace=5)
    assert untouched(outside) == before
    assert "someone else's" not in (root / ".scms" / "discovery" / "dismissed.txt").read_text()
