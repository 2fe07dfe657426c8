"""`scms mcp` through the MCP SDK's own client over stdio: every tool, the resources, the prompt, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager

import pytest
from mcp.shared.exceptions import MCPError

from conftest import COPY_LINES, COPYFILEOBJ_LINES, line_of, store_snapshot
from mcp_support import AGENT, agent, call, error
from scms.memory import Memory

TOOLS = {"search_patterns", "get_pattern", "add_candidate", "record_use", "list_patterns", "session_report"}
CHUNKS = {"title": "Copy file objects in chunks", "note": "Read and write a buffer at a time.",
          "file": "src/shutil.py", "start_line": COPYFILEOBJ_LINES[0], "end_line": COPYFILEOBJ_LINES[1],
          "tags": ["io"]}


async def test_every_tool_has_a_schema_and_a_description(workspace):
    async with agent(workspace) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description or "") > 60, tool.name
        assert tool.input_schema["type"] == "object"
    assert tools["search_patterns"].input_schema["required"] == ["query"]
    assert tools["record_use"].input_schema["properties"]["outcome"]["enum"] == ["worked", "failed"]
    assert tools["search_patterns"].annotations.read_only_hint is True
    assert tools["add_candidate"].annotations.read_only_hint is False


async def test_an_agents_candidate_is_found_used_and_reported(workspace):
    async with agent(workspace) as client:
        added = (await call(client, "add_candidate", CHUNKS))["pattern"]
        assert (added["tier"], added["proposedBy"], added["acceptedUses"]) == ("session", AGENT, 0)
        assert added["snippet"].startswith("def copyfileobj(")

        found = await call(client, "search_patterns", {"query": "fsrc_read(length) fdst_write(buf) copy buffer"})
        assert found["recall"] == "lexical"
        assert found["patterns"][0]["id"] == added["id"]
        assert found["patterns"][0]["reasons"] and found["patterns"][0]["score"] > 0
        assert (await call(client, "search_patterns", {"query": "fsrc_read fdst_write", "tier": "validated"}))[
            "patterns"] == []
        assert (await call(client, "search_patterns", {"query": "fsrc_read fdst_write", "language": "rust"}))[
            "patterns"] == []

        whole = await call(client, "get_pattern", {"pattern_id": added["id"]})
        assert whole["evidence"][0]["file"] == "src/shutil.py"
        assert whole["evidence"][0]["start_line"] == COPYFILEOBJ_LINES[0]
        assert "retention" in whole and whole["proposed_by"] == AGENT

        used = await call(client, "record_use", {"pattern_id": added["id"], "outcome": "worked"})
        assert (used["pattern"]["acceptedUses"], used["eligible"]) == (1, False)
        used = await call(client, "record_use", {"pattern_id": added["id"], "outcome": "worked",
                                                 "file": "src/shutil.py", "start_line": COPY_LINES[0],
                                                 "end_line": COPY_LINES[1]})
        assert (used["pattern"]["acceptedUses"], used["eligible"]) == (2, True)
        failed = await call(client, "record_use", {"pattern_id": added["id"], "outcome": "failed",
                                                   "reason": "not for sockets"})
        assert failed["pattern"]["rejectedUses"] == 1

        listed = await call(client, "list_patterns", {"tier": "session", "kind": "pattern"})
        assert [p["id"] for p in listed["patterns"]] == [added["id"]]
        assert (await call(client, "list_patterns", {"kind": "failure"}))["patterns"] == []

        report = await call(client, "session_report")
        assert "if the session closed now" in report
        assert f"**{CHUNKS['title']}** (`{added['id']}`)" in report.split("## Would be promoted")[1]
    with _opened(workspace) as memory:
        stored = memory.get(added["id"])
    assert (stored.tier.value, stored.accepted_uses, stored.proposed_by) == ("session", 2, AGENT)  # not promoted


@pytest.mark.parametrize(("given", "eligible_after_one", "logged"), [
    ({"promotionThreshold": 1}, True, None),
    ({"promotionThreshold": 0}, False, "SCMS_SETTINGS: setting 'promotionThreshold' = 0"),
    ("{not json", False, "SCMS_SETTINGS is not JSON"),
])
async def test_the_editors_settings_come_in_scms_settings(workspace, tmp_path, given, eligible_after_one, logged):
    text = given if isinstance(given, str) else json.dumps(given)
    with open(tmp_path / "stderr.txt", "w+", encoding="utf-8") as stderr:
        async with agent(workspace, env={"SCMS_SETTINGS": text}, stderr=stderr) as client:
            added = (await call(client, "add_candidate", CHUNKS))["pattern"]
            used = await call(client, "record_use", {"pattern_id": added["id"], "outcome": "worked"})
            assert (used["pattern"]["acceptedUses"], used["eligible"]) == (1, eligible_after_one)
            found = await call(client, "search_patterns", {"query": "fsrc_read(length) fdst_write(buf)", "k": 5})
            assert found["patterns"][0]["id"] == added["id"]
        stderr.seek(0)
        log = stderr.read()
    if logged:
        assert logged in log and "default" in log
    else:
        assert "SCMS_SETTINGS" not in log


async def test_code_without_a_file_makes_a_candidate_without_evidence(workspace):
    async with agent(workspace, name="Claude Code") as client:
        added = (await call(client, "add_candidate", {
            "title": "Retry with backoff", "kind": "convention", "language": "python",
            "code": "for attempt in range(3):\n    try:\n        return call()\n    except Busy:\n"
                    "        time.sleep(2 ** attempt)\n"}))["pattern"]
        assert (added["kind"], added["languages"], added["proposedBy"]) == ("convention", ["python"], "Claude Code")
        assert (await call(client, "get_pattern", {"pattern_id": added["id"]}))["evidence"] == []
    shown = subprocess.run([sys.executable, "-m", "scms", "--workspace", str(workspace), "show", added["id"]],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert "proposed by Claude Code (an AI agent, through scms mcp)" in shown


async def test_validated_patterns_are_resources_and_the_rules_file_is_one(workspace):
    with _opened(workspace) as memory:
        code = memory.code_from_file(workspace / "src/shutil.py", *COPYFILEOBJ_LINES)
        pattern = memory.promote(memory.remember(code, title="Copy file objects in chunks").id)
        on_disk = (workspace / memory.describe(pattern)["file"]).read_text()
    async with agent(workspace) as client:
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        uri = f"scms://patterns/{pattern.id}"
        assert set(resources) == {uri, "scms://rules/WORKSPACE_RULES.md"}
        assert resources[uri].name == "Copy file objects in chunks"
        assert (await client.read_resource(uri)).contents[0].text == on_disk
        rules = (await client.read_resource("scms://rules/WORKSPACE_RULES.md")).contents[0].text
        assert "Copy file objects in chunks" in rules and "fsrc_read" in rules
        with pytest.raises(MCPError, match="no pattern with id"):
            await client.read_resource("scms://patterns/nosuchid")


async def test_the_prompt_applies_the_recalled_patterns_to_a_file(workspace):
    with _opened(workspace) as memory:
        code = memory.code_from_file(workspace / "src/shutil.py", *COPYFILEOBJ_LINES)
        memory.promote(memory.remember(code, title="Copy file objects in chunks").id)
    async with agent(workspace) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert [a.name for a in prompts["apply_patterns"].arguments] == ["file"]
        text = (await client.get_prompt("apply_patterns", {"file": "src/shutil.py"})).messages[0].content.text
        assert "Review `src/shutil.py`" in text and "## Copy file objects in chunks (validated" in text
        assert "record_use" in text
        with pytest.raises(MCPError, match="outside"):
            await client.get_prompt("apply_patterns", {"file": "../elsewhere.py"})


SECRET_CODE = 'client = boto3.client("s3", aws_access_key_id="AKIAZ3MHWKJ5N2QFXP7A")\n'


@pytest.mark.parametrize("tool, arguments, expected", [
    ("no_such_tool", {}, "Unknown tool: no_such_tool"),
    ("search_patterns", {"query": "x", "k": "five"}, "(argument: k)"),
    ("search_patterns", {}, "a value is required (argument: query)"),
    ("add_candidate", {"title": "x" * 201, "code": "x = 1"}, "string should have at most 200 characters (argument: title)"),
    ("record_use", {"pattern_id": "p1", "outcome": "maybe"}, "outcome"),
    ("add_candidate", {"title": "Big", "note": "n" * 10_000_000}, "at most 20000 characters"),
    ("add_candidate", {"title": "   "}, "title must not be blank"),
    ("add_candidate", {"title": "Nothing"}, "code"),
    ("add_candidate", {"title": "Both", "code": "x = 1", "file": "src/shutil.py", "start_line": 1}, "not both"),
    ("add_candidate", {"title": "Far", "file": "../outside.py", "start_line": 1}, "outside the workspace"),
    ("add_candidate", {"title": "Far", "file": "/etc/hostname", "start_line": 1}, "outside the workspace"),
    ("add_candidate", {"title": "No lines", "file": "src/shutil.py"}, "start_line"),
    ("add_candidate", {"title": "Past the end", "file": "src/shutil.py", "start_line": 99999}, "line"),
    ("add_candidate", {"title": "Key", "code": SECRET_CODE}, "code:1: looks like an AWS access key"),
    ("add_candidate", {"title": "Key", "code": "x = 1", "note": "use AKIAZ3MHWKJ5N2QFXP7A"}, "note:1: looks like"),
    ("get_pattern", {"pattern_id": "nosuchid"}, "no pattern with id 'nosuchid' (argument: pattern_id)"),
    ("record_use", {"pattern_id": "nosuchid", "outcome": "worked"}, "no pattern with id"),
    ("record_use", {"pattern_id": "nosuchid", "outcome": "worked", "file": "../x.py", "start_line": 1}, "outside"),
])
async def test_bad_input_is_a_clear_error_and_changes_nothing(workspace, tool, arguments, expected):
    async with agent(workspace) as client:
        await call(client, "add_candidate", CHUNKS)  # something to change, were a bad call to change it
        before = store_snapshot(workspace)
        message = await error(client, tool, arguments)
        assert expected in message
        assert "pydantic" not in message and "xxxxx" not in message  # a sentence, without the caller's values
        assert store_snapshot(workspace) == before
        assert (await call(client, "list_patterns"))["patterns"][0]["acceptedUses"] == 0  # still serving


async def test_a_file_range_holding_a_secret_is_refused(workspace):
    (workspace / "src" / "settings.py").write_text("import boto3\n\n" + SECRET_CODE)
    async with agent(workspace) as client:
        message = await error(client, "add_candidate", {"title": "S3 client", "file": "src/settings.py",
                                                        "start_line": 1, "end_line": 3})
        assert "looks like an AWS access key" in message and "(argument: code)" in message
        assert (await call(client, "list_patterns"))["patterns"] == []


@contextmanager
def _opened(root):
    """The workspace's memory in this process, closed after use (the MCP server opens its own)."""
    memory = Memory.open(root)
    try:
        yield memory
    finally:
        memory.close()



async def test_search_is_lexical_at_once_then_by_meaning_once_the_model_is_loaded(workspace):
    """The same recall as the hover: words while the model loads in the background, then meaning too."""
    async with agent(workspace, lexical=False) as client:
        first = await call(client, "search_patterns", {"query": "fsrc_read fdst_write"})
        assert first["recall"] in ("lexical", "loading model", "embeddings")
        for file, needle, title in (("src/shutil.py", "def copyfileobj(", "Copy file objects in chunks"),
                                    ("src/textwrap.py", "def indent(", "Indent lines"),
                                    ("src/functools.py", "def update_wrapper(", "Update a wrapper")):
            start = line_of(workspace / file, needle) + 1
            await call(client, "add_candidate", {"title": title, "file": file, "start_line": start,
                                                 "end_line": start + 10})
        words = "pump bytes from one stream into another, a block at a time, until nothing is left"
        found = await poll_search(client, words)
        assert found["patterns"][0]["title"] == "Copy file objects in chunks"
        assert any("meaning" in reason for reason in found["patterns"][0]["reasons"])


async def poll_search(client, query: str, timeout: float = 180.0):
    """search_patterns, asked again until the embedding model is loaded and the new patterns are embedded
    (seconds; more on a busy machine)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while (found := await call(client, "search_patterns", {"query": query}))["recall"] != "embeddings" \
            or not any(p["title"] == "Copy file objects in chunks" for p in found["patterns"]):
        assert asyncio.get_running_loop().time() < deadline, f"embeddings not ready in {timeout:.0f} s"
        await asyncio.sleep(0.25)
    return found


async def test_a_store_it_cannot_use_is_named_in_every_answer(workspace):
    import sqlite3

    (workspace / ".scms").mkdir()
    conn = sqlite3.connect(workspace / ".scms" / "scms.db")
    conn.execute("PRAGMA user_version = 99")  # written by a newer SCMS
    conn.close()
    async with agent(workspace) as client:
        message = await error(client, "list_patterns", {})
        assert "unavailable" in message and "newer SCMS" in message
        with pytest.raises(MCPError, match="newer SCMS"):
            await client.read_resource("scms://rules/WORKSPACE_RULES.md")
