"""The server names each validated pattern's file (the client opens what it is told, never guesses a name)."""

from __future__ import annotations

from pathlib import Path

from conftest import line_of
from lsp_support import command, lsp_range, open_document, serve

HAND_WRITTEN = """---
title: Close files with a context manager
kind: convention
---

Open files in a `with` block.

```python
with open(path) as handle:
    data = handle.read()
```
"""


async def test_promoted_and_hand_written_patterns_carry_their_file(workspace: Path):
    (workspace / ".scms" / "patterns").mkdir(parents=True)
    (workspace / ".scms" / "patterns" / "with-open.md").write_text(HAND_WRITTEN)
    shutil_py = workspace / "src" / "shutil.py"
    start = line_of(shutil_py, "def copyfileobj(")
    async with serve(workspace) as client:
        made = await command(client, "scms.remember", {"uri": open_document(client, shutil_py),
                                                       "range": lsp_range(start, start + 12), "title": "Copy in chunks"})
        assert made["file"] is None  # a candidate has no file
        promoted = await command(client, "scms.promote", {"patternId": made["id"]})
        assert promoted["file"] == f".scms/patterns/copy-in-chunks-{made['id']}.md"
        assert (workspace / promoted["file"]).read_text().startswith("---\n")
        files = {p["title"]: p["file"] for p in await command(client, "scms.list", {"tier": "validated"})}
        assert files == {"Copy in chunks": promoted["file"],
                         "Close files with a context manager": ".scms/patterns/with-open.md"}
        demoted = await command(client, "scms.demote", {"patternId": made["id"]})
        assert demoted["file"] is None and not (workspace / promoted["file"]).exists()
