"""Over LSP: a use counts once per context (never at the pattern's own evidence), `scms.update` edits a pattern
(its file follows), `scms.restore` brings one back, and the closure report is saved and says what happened."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from conftest import COPY_LINES, COPYFILEOBJ_LINES, line_of, store_snapshot
from lsp_support import command, lsp_range, open_document, server_client

client = server_client()


@pytest.fixture
async def pattern(client: LanguageClient, workspace: Path) -> dict:
    uri = open_document(client, workspace / "src" / "shutil.py")
    return await command(client, "scms.remember", {"uri": uri, "title": "Copy file objects in chunks",
                                                   "range": lsp_range(COPYFILEOBJ_LINES[0] - 1,
                                                                      COPYFILEOBJ_LINES[1] - 1)})


def _use(pattern: dict, path: Path, first: int, last: int) -> dict:
    """An accept or reject at 1-based lines first..last of a file."""
    return {"patternId": pattern["id"], "uri": path.as_uri(), "range": lsp_range(first - 1, last - 1)}


async def test_a_use_counts_once_per_context_and_never_at_its_own_evidence(client, pattern, workspace):
    shutil, tar = workspace / "src" / "shutil.py", workspace / "src" / "tarfile.py"
    tar_copy = line_of(tar, "def copyfileobj(") + 1
    own = await command(client, "scms.accept", _use(pattern, shutil, *COPYFILEOBJ_LINES))
    assert (own["counted"], own["accepted_uses"]) == (False, 0)  # the code it was remembered from
    first = await command(client, "scms.accept", _use(pattern, tar, tar_copy, tar_copy + 20))
    assert (first["counted"], first["accepted_uses"], first["eligible"]) == (True, 1, False)
    again = await command(client, "scms.accept", _use(pattern, tar, tar_copy, tar_copy + 20))
    assert (again["counted"], again["accepted_uses"], again["eligible"]) == (False, 1, False)  # same context
    second = await command(client, "scms.accept", _use(pattern, shutil, *COPY_LINES))
    assert (second["counted"], second["accepted_uses"], second["eligible"]) == (True, 2, True)  # a second context
    assert [e["file"] for e in second["evidence"]] == ["src/shutil.py", "src/tarfile.py", "src/shutil.py"]


async def test_update_edits_a_pattern_and_its_file_follows(client, pattern, workspace):
    promoted = await command(client, "scms.promote", {"patternId": pattern["id"]})
    old_file = workspace / promoted["file"]
    updated = await command(client, "scms.update", {"patternId": pattern["id"], "title": "Copy in chunks",
                                                    "note": "Never read a whole file into memory.",
                                                    "kind": "convention", "tags": ["io", "files"]})
    assert (updated["title"], updated["body"], updated["kind"], updated["tags"]) == (
        "Copy in chunks", "Never read a whole file into memory.", "convention", ["files", "io"])
    new_file = workspace / updated["file"]
    assert new_file != old_file and not old_file.exists()
    text = new_file.read_text()
    assert "title: Copy in chunks" in text and "kind: convention" in text and "Never read a whole file" in text
    events = len(store_snapshot(workspace)[0])
    same = await command(client, "scms.update", {"patternId": pattern["id"], "title": "Copy in chunks"})
    assert same["title"] == "Copy in chunks" and len(store_snapshot(workspace)[0]) == events  # no change, no event


@pytest.mark.parametrize("arguments, message", [
    ({"title": "  "}, "title must not be blank"),
    ({"note": "key AKIAZ3MHWKJ5N2QFXP7A"}, "looks like an AWS access key"),
    ({"kind": "recipe"}, "kind"),
    ({"patternId": "nosuchid", "title": "x"}, "no pattern with id"),
])
async def test_a_bad_update_changes_nothing(client, pattern, workspace, arguments, message):
    await command(client, "scms.promote", {"patternId": pattern["id"]})
    before = store_snapshot(workspace)
    with pytest.raises(Exception, match=message):
        await command(client, "scms.update", {"patternId": pattern["id"], **arguments})
    assert store_snapshot(workspace) == before


async def test_restore_brings_back_a_forgotten_pattern(client, pattern):
    await command(client, "scms.forget", {"patternId": pattern["id"]})
    with pytest.raises(Exception, match="archived: restore it first"):
        await command(client, "scms.update", {"patternId": pattern["id"], "title": "x"})
    restored = await command(client, "scms.restore", {"patternId": pattern["id"]})
    assert (restored["tier"], restored["status"]) == ("session", "candidate")
    with pytest.raises(Exception, match="only archived patterns are restored"):
        await command(client, "scms.restore", {"patternId": pattern["id"]})


async def test_the_closure_report_is_saved_and_lists_exactly_what_happened(client, pattern, workspace):
    shutil, tar = workspace / "src" / "shutil.py", workspace / "src" / "tarfile.py"
    tar_copy = line_of(tar, "def copyfileobj(") + 1
    uri = open_document(client, shutil)
    failure = await command(client, "scms.remember", {
        "uri": uri, "range": lsp_range(COPY_LINES[0] - 1, COPY_LINES[1] - 1), "title": "Copy loses metadata",
        "kind": "failure", "note": "Symptom: mtime lost.\nFix: use copy2."})
    await command(client, "scms.accept", _use(pattern, tar, tar_copy, tar_copy + 20))
    await command(client, "scms.accept", _use(pattern, shutil, *COPY_LINES))
    await command(client, "scms.reject", {"patternId": failure["id"], "reason": "not a failure here"})
    closed = await command(client, "scms.closeSession", {})
    saved = Path(closed["path"])
    assert saved.parent == workspace / ".scms" / "sessions" and saved.read_text() == closed["report"]
    report = closed["report"]
    sections = {part.split("\n", 1)[0]: part for part in report.split("## ")[1:]}
    assert "Copy file objects in chunks" in sections["New candidates"] and "Copy loses metadata" in sections["New candidates"]
    assert f"**Copy file objects in chunks** (`{pattern['id']}`): 2 accepted uses (now 2)" in sections["Accepted uses"]
    assert "1 rejected: “not a failure here”" in sections["Rejections"]
    assert "Copy file objects in chunks" in sections["Promoted to the validated tier"]
    assert "Copy loses metadata" in sections["Failures and anti-patterns remembered"]
    assert sections["Archived by decay (restorable)"].strip().endswith("None.")
    assert "Copy loses metadata" not in sections["Promoted to the validated tier"]

    again = await command(client, "scms.closeSession", {})  # a new session: nothing happened in it but nothing
    assert "Nothing happened in this session." in again["report"]
    assert again["path"] != closed["path"] and "Copy loses metadata" not in again["report"].split("## Close")[0]
