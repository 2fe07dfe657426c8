"""Team memory through git: a validated file git left with conflict markers keeps its pattern as it was, shows an
error diagnostic on that file, and the other files still load; resolving the conflict clears it."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from conftest import line_of
from lsp_support import command, lsp_range, open_document, serve, wait_for


def _conflicted(text: str) -> str:
    """The file as a merge of two edits of its title leaves it."""
    head, _, rest = text.partition("title: ")
    title, _, tail = rest.partition("\n")
    return f"{head}<<<<<<< HEAD\ntitle: {title}\n=======\ntitle: {title} (theirs)\n>>>>>>> origin/main\n{tail}"


async def test_a_conflicted_pattern_file_keeps_its_pattern_and_gets_a_diagnostic(workspace: Path):
    shutil_py = workspace / "src" / "shutil.py"
    start = line_of(shutil_py, "def copyfileobj(")
    async with serve(workspace) as client:
        made = await command(client, "scms.remember", {"uri": open_document(client, shutil_py),
                                                       "range": lsp_range(start, start + 10), "title": "Copy in chunks"})
        promoted = await command(client, "scms.promote", {"patternId": made["id"]})
        path = workspace / promoted["file"]
        clean = path.read_text()
        path.write_text(_conflicted(clean))
        before = len(client.log_messages)
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
            types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Changed)]))
        await wait_for(lambda: client.diagnostics.get(path.as_uri()))
        [diagnostic] = client.diagnostics[path.as_uri()]
        assert diagnostic.severity == types.DiagnosticSeverity.Error and "conflict" in diagnostic.message
        assert diagnostic.range.start.line == clean.split("\n").index("title: Copy in chunks")
        assert any("conflict markers" in m.message for m in client.log_messages[before:])
        [kept] = await command(client, "scms.list", {"tier": "validated"})
        assert (kept["id"], kept["title"], kept["tier"]) == (made["id"], "Copy in chunks", "validated")

        path.write_text(clean)  # the merge resolved
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
            types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Changed)]))
        await wait_for(lambda: len(client.diagnostics.get(path.as_uri(), [None])) == 0)
    async with serve(workspace) as again:  # a conflict found when the server starts is shown too
        path.write_text(_conflicted(clean))
        await command(again, "scms.status", {})
    async with serve(workspace) as third:
        await wait_for(lambda: third.diagnostics.get(path.as_uri()))
        assert [p["id"] for p in await command(third, "scms.list", {"tier": "validated"})] == [made["id"]]
