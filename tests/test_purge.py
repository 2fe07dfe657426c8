"""Purge: a secret remembered by mistake is taken out of every file in `.scms/` (the store, its WAL, the
indexes, the session reports, the validated file) and out of the exported rule files; rebuild still works."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import COPYFILEOBJ_LINES, remember_lines
from scms.errors import InvalidState
from scms.memory import Memory

SECRET = "AKIAZ3MHWKJ5N2QFXP7A"  # pragma: allowlist secret


def _everywhere(root: Path) -> list[str]:
    """Every file under .scms/ and the export targets whose bytes hold the secret."""
    places = list((root / ".scms").rglob("*")) + [root / "WORKSPACE_RULES.md", root / "AGENTS.md"]
    return [str(p) for p in places if p.is_file() and SECRET.encode() in p.read_bytes()]


def test_a_purged_secret_is_nowhere_in_the_store_and_rebuild_still_works(memory: Memory, workspace: Path):
    kept = memory.promote(remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Copy in chunks").id)
    oops = remember_lines(memory, "shutil.py", COPYFILEOBJ_LINES[0], COPYFILEOBJ_LINES[0] + 3,
                          title=f"Deploy with {SECRET}", note=f"the key is {SECRET}", tags=[SECRET])
    memory.reject(oops.id, reason=f"do not use {SECRET}")
    memory.update(oops.id, note=f"still {SECRET}")
    memory.recall("copy data deploy")  # the lexical index follows and is saved with its words
    memory._engine.save_lexical()
    memory.close_session()  # the report names it
    model_file = workspace / ".scms" / "model" / "memory-layer.pt"  # as a model that kept its accepted code's words
    model_file.parent.mkdir(exist_ok=True)
    model_file.write_bytes(b"exemplar terms: =" + SECRET.encode())
    assert _everywhere(workspace)

    result = memory.purge(oops.id)
    assert result["storeRewritten"] and result["reportsScrubbed"]
    purged = result["pattern"]
    assert (purged.tier.value, purged.title) == ("archive", "(purged)") and purged.snippet.startswith("(purged ")
    assert _everywhere(workspace) == []
    assert not model_file.exists()  # no model was loaded: its file goes, and the next start relearns from the log
    assert memory.rebuild() == 2 and memory.get(kept.id).title == "Copy in chunks"
    assert memory.get(oops.id).title == "(purged)"
    with pytest.raises(InvalidState, match="was purged"):
        memory.restore(oops.id)
    with pytest.raises(InvalidState, match="already purged"):
        memory.purge(oops.id)
    conn = sqlite3.connect(memory.store_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET payload = '{}'")  # the log is append-only again
    finally:
        conn.close()


def test_purging_a_validated_pattern_removes_its_file_and_its_rules(memory: Memory, workspace: Path):
    pattern = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title="Copy in chunks")
    memory.update(pattern.id, note="nothing secret here")
    validated = memory.promote(pattern.id)
    memory.export(["workspace_rules", "agents"])
    assert "Copy in chunks" in (workspace / "WORKSPACE_RULES.md").read_text()
    file = workspace / memory.describe(validated)["file"]
    result = memory.purge(pattern.id)
    assert not file.exists()
    assert "Copy in chunks" not in (workspace / "WORKSPACE_RULES.md").read_text()
    assert "Copy in chunks" not in (workspace / "AGENTS.md").read_text()
    assert result["exported"]["changed"]


def test_the_cli_purges(workspace: Path):
    memory = Memory.open(workspace)
    try:
        oops = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES, title=f"key {SECRET}")
    finally:
        memory.close()
    done = subprocess.run([sys.executable, "-m", "scms", "--workspace", str(workspace), "purge", oops.id],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "(purged)" in done.stdout and _everywhere(workspace) == []
