"""The `scms` command, run as a real process: every subcommand, --json, and each bad input."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import COPY_LINES, COPYFILEOBJ_LINES, WRAP_LINES, damage_table, store_snapshot

CHUNKED = "src/shutil.py:%d-%d" % COPYFILEOBJ_LINES  # shutil.copyfileobj, looked up: no hard-coded line numbers


def scms(workspace: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "scms", "--workspace", str(workspace), *args],
                            capture_output=True, text=True, cwd=workspace, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def as_json(workspace: Path, *args: str):
    return json.loads(scms(workspace, *args, "--json").stdout)


def test_the_whole_lifecycle_from_the_command_line(workspace: Path):
    made = as_json(workspace, "remember", CHUNKED, "--title", "Chunked copy", "--tag", "io",
                   "--note", "Read fixed-size chunks until empty.")
    pid = made["id"]
    assert made["tier"] == "session" and made["score"] == pytest.approx(0.3) and made["tags"] == ["io"]
    assert as_json(workspace, "accept", pid, "src/shutil.py:%d-%d" % COPY_LINES)["accepted_uses"] == 1
    assert as_json(workspace, "accept", pid)["eligible"] is True
    assert as_json(workspace, "reject", pid, "--reason", "noisy")["rejected_uses"] == 1
    [promoted] = as_json(workspace, "promote-eligible")
    assert promoted["tier"] == "validated" and promoted["status"] == "validated"
    assert (workspace / ".scms" / "patterns" / f"chunked-copy-{pid}.md").is_file()
    assert as_json(workspace, "status")["tiers"] == {"session": 0, "validated": 1, "archive": 0}
    assert as_json(workspace, "demote", pid)["tier"] == "session"
    assert as_json(workspace, "promote", pid)["status"] == "promoted"
    assert as_json(workspace, "forget", pid)["tier"] == "archive"
    assert as_json(workspace, "restore", pid)["tier"] == "session"
    assert as_json(workspace, "decay") == []
    assert as_json(workspace, "rebuild") == {"rebuilt": 1}
    assert [p["id"] for p in as_json(workspace, "list", "--tier", "session")] == [pid]
    assert as_json(workspace, "list", "--tier", "archive") == []


def test_readable_output(workspace: Path):
    out = scms(workspace, "remember", "src/textwrap.py:%d-%d" % WRAP_LINES, "--title", "Wrap text").stdout
    assert out.splitlines()[0].startswith("Wrap text  [") and "def wrap(text, width=70, **kwargs):" in out
    table = scms(workspace, "list").stdout.splitlines()
    assert table[0].split() == ["ID", "TIER", "STATUS", "USES", "REJ", "SCORE", "TITLE"]
    assert table[1].split()[1:6] == ["session", "candidate", "0", "0", "0.300"]
    status = scms(workspace, "status").stdout
    assert "tiers      session 1, validated 0, archive 0" in status


def test_workspace_defaults_to_the_enclosing_root(workspace: Path):
    (workspace / ".git").mkdir()
    scms(workspace, "remember", CHUNKED)
    result = subprocess.run([sys.executable, "-m", "scms", "status", "--json"], capture_output=True, text=True,
                            cwd=workspace / "src" / "json", timeout=60)
    assert json.loads(result.stdout)["workspace"] == str(workspace.resolve())


@pytest.mark.parametrize(
    "args, message",
    [
        (["accept", "deadbeef"], "no pattern with id 'deadbeef'"),
        (["promote", "deadbeef"], "no pattern with id 'deadbeef'"),
        (["remember", "src/shutil.py:10-99999"], "outside shutil.py, which has"),
        (["remember", "src/shutil.py"], "is not FILE:START-END"),
        (["remember", "src/missing.py:1-2"], "no such file"),
        (["remember", "src/json:1-2"], "src/json is a folder, not a file"),
        (["remember", "blob.bin:1-1"], "looks binary"),
        (["remember", "latin1.py:1-1"], "not UTF-8 text"),
        (["accept", "{id}", "src/shutil.py:0-3"], "not a valid range"),
        (["demote", "{id}"], "only validated patterns are demoted"),
        (["remember", "../outside.py:1-2"], "outside.py is outside the workspace"),
        (["remember", "/etc/passwd:1-1"], "/etc/passwd is outside the workspace"),
        (["remember", "src/../../outside.py:1-2"], "outside.py is outside the workspace"),
        (["accept", "{id}", "../outside.py:1-2"], "outside.py is outside the workspace"),
        (["reject", "{id}", "../outside.py:1-2"], "outside.py is outside the workspace"),
    ],
)
def test_bad_input_gets_one_clear_message_and_changes_nothing(workspace: Path, args, message):
    (workspace.parent / "outside.py").write_text("SECRET = 'not for the team'\nprint(SECRET)\n")
    (workspace / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    (workspace / "latin1.py").write_bytes("s = 'Müller'\n".encode("latin-1"))
    pid = as_json(workspace, "remember", CHUNKED)["id"]
    before = store_snapshot(workspace)
    result = scms(workspace, *[a.format(id=pid) for a in args], check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("scms: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert store_snapshot(workspace) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_named_and_changes_nothing(workspace: Path):
    as_json(workspace, "remember", CHUNKED)
    secret = workspace / "src" / "secret.py"
    secret.write_text("TOKEN = 'x'\n")
    secret.chmod(0)
    before = store_snapshot(workspace)
    result = scms(workspace, "remember", "src/secret.py:1-1", check=False)
    assert result.returncode == 1
    assert result.stderr == "scms: error: src/secret.py: cannot be read (Permission denied)\n"
    assert store_snapshot(workspace) == before


def test_show_prints_one_pattern_with_its_score_factors(workspace: Path):
    pid = as_json(workspace, "remember", CHUNKED, "--title", "Chunked copy", "--note", "Why.")["id"]
    as_json(workspace, "reject", pid)
    lines = scms(workspace, "show", pid).stdout.splitlines()
    assert lines[:5] == [f"Chunked copy  [{pid}]", "tier session (candidate), kind pattern, accepted 0, rejected 1",
                         "score 0.200 = base 0.6 × surprise 1 × confidence 0.33 × decay 0.95^0.0 days",
                         "languages python; tags -", f"seen at {CHUNKED}"]
    assert lines[6:8] == ["Why.", ""] and lines[8].startswith("def copyfileobj(")
    shown = as_json(workspace, "show", pid)
    assert shown["id"] == pid and shown["rejected_uses"] == 1 and shown["score"] == pytest.approx(0.2)
    assert set(shown["retention"]) == {"base", "surprise", "confidence", "decay_rate", "days", "score"}
    missing = scms(workspace, "show", "deadbeef", check=False)
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, "", "scms: error: no pattern with id 'deadbeef'\n")


@pytest.mark.parametrize("args", [["show", "deadbeef"], ["accept", "deadbeef"], ["remember", "src/shutil.py:0-1"],
                                  ["remember", "src/missing.py:1-2"], ["remember", "/etc/passwd:1-1"]])
def test_a_failing_command_creates_no_store_in_a_fresh_folder(workspace: Path, args):
    result = scms(workspace, *args, check=False)
    assert result.returncode == 1 and result.stderr.startswith("scms: error: ")
    assert not (workspace / ".scms").exists()


def test_promote_eligible_takes_a_threshold(workspace: Path):
    pid = as_json(workspace, "remember", CHUNKED)["id"]
    as_json(workspace, "accept", pid)
    assert as_json(workspace, "promote-eligible") == []
    assert [p["id"] for p in as_json(workspace, "promote-eligible", "--promote-threshold", "1")] == [pid]
    refused = scms(workspace, "promote-eligible", "--promote-threshold", "0", check=False)
    assert refused.returncode == 2 and "must be a whole number from 1 to 1000, got '0'" in refused.stderr


def test_a_damaged_database_is_moved_aside_and_rebuilt_from_the_validated_files(workspace: Path):
    kept_id = as_json(workspace, "remember", CHUNKED, "--title", "Kept")["id"]
    as_json(workspace, "promote", kept_id)
    scms(workspace, "remember", CHUNKED, "--title", "A candidate")
    damage_table(workspace / ".scms" / "scms.db")
    result = scms(workspace, "list", check=False)
    assert result.returncode == 0, result.stderr
    [kept] = list((workspace / ".scms").glob("scms.db.damaged-*[0-9]"))
    assert f"it is kept as .scms/{kept.name}" in result.stderr and "rename .scms/" in result.stderr
    assert "Kept" in result.stdout and "A candidate" not in result.stdout  # the validated file came back
    again = scms(workspace, "list")
    assert "moved aside" not in again.stderr  # told once


def test_an_empty_database_file_is_moved_aside_not_used_as_a_new_store(workspace: Path):
    (workspace / ".scms").mkdir()
    (workspace / ".scms" / "scms.db").write_bytes(b"")
    result = scms(workspace, "status", check=False)
    assert result.returncode == 0 and "because it is empty (0 bytes)" in result.stderr
    assert list((workspace / ".scms").glob("scms.db.damaged-*"))


def test_a_missing_workspace_is_an_error(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "scms", "--workspace", str(tmp_path / "nowhere"), "status"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_a_database_from_a_newer_schema_is_refused_untouched(workspace: Path):
    scms(workspace, "remember", CHUNKED)
    db = workspace / ".scms" / "scms.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = db.read_bytes()
    result = scms(workspace, "status", check=False)
    assert result.returncode == 1 and "written by a newer SCMS (schema 99" in result.stderr
    assert db.read_bytes() == before


def test_a_file_that_is_not_a_database_is_moved_aside(workspace: Path):
    (workspace / ".scms").mkdir()
    (workspace / ".scms" / "scms.db").write_bytes(b"this is not sqlite" * 100)
    result = scms(workspace, "status", check=False)
    assert result.returncode == 0 and "because it cannot be read (file is not a database)" in result.stderr
    [kept] = list((workspace / ".scms").glob("scms.db.damaged-*"))
    assert kept.read_bytes() == b"this is not sqlite" * 100


def test_a_malformed_pattern_file_warns_and_the_rest_works(workspace: Path):
    patterns = workspace / ".scms" / "patterns"
    patterns.mkdir(parents=True)
    (patterns / "broken.md").write_text("---\nkind: recipe\n---\n")
    (patterns / "fine.md").write_text("---\nid: fine\ntitle: Fine\n---\n```py\nx = 1\n```\n")
    result = scms(workspace, "list")
    assert "scms: warning: broken.md:" in result.stderr and "skipped" in result.stderr
    assert "Fine" in result.stdout


def test_usage_errors_exit_2(workspace: Path):
    assert scms(workspace, "list", "--tier", "gold", check=False).returncode == 2
    assert scms(workspace, check=False).returncode == 2


def test_cli_choices_match_the_models():
    from scms import cli
    from scms.model import Kind, Tier

    assert cli.TIERS == tuple(t.value for t in Tier) and cli.KINDS == tuple(k.value for k in Kind)


def test_export_targets_agree_in_the_cli_the_settings_and_the_manifest():
    from typing import get_args

    from scms import cli
    from scms.config import ExportTarget

    manifest = json.loads((Path(__file__).resolve().parent.parent / "package.json").read_text())
    enum = manifest["contributes"]["configuration"]["properties"]["scms.export.targets"]["items"]["enum"]
    assert cli.TARGETS == get_args(ExportTarget) == tuple(enum)


def test_the_server_start_path_imports_no_model_library():
    """torch, faiss, sentence-transformers and tree-sitter load in the background after `initialized`; the
    server's own modules (every feature registered) import none of them."""
    code = ("import sys, scms.cli, scms.lsp.features as f; assert f.server.protocol.fm.commands; "
            "print(sorted(m for m in ('torch', 'faiss', 'sentence_transformers', 'transformers', 'tree_sitter') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
