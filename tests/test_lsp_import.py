"""`scms.import` over LSP: the SCMS kit's memories and assistants' rule files become patterns, once, and what
cannot be imported is named with its reason."""

from __future__ import annotations

import shutil
from pathlib import Path

from lsp_support import command, serve

GOLDEN = Path(__file__).resolve().parent / "golden" / "import"


async def test_import_over_lsp_lands_each_item_once_and_names_what_it_skips(workspace: Path, tmp_path: Path):
    shutil.copytree(GOLDEN / "kit", workspace / "kit")
    outside = tmp_path / "elsewhere.md"
    outside.write_text("# Memory: not ours\n")
    async with serve(workspace) as client:
        first = await command(client, "scms.import", {"paths": ["kit", str(outside)]})
        titles = {p["title"]: p["tier"] for p in first["imported"]}
        assert titles and {"validated", "session"} <= set(titles.values())
        assert any(item["path"].endswith("elsewhere.md") and "outside the workspace" in item["reason"]
                   for item in first["skipped"]), first["skipped"]
        listed = {p["title"] for p in await command(client, "scms.list", {})}
        assert set(titles) <= listed
        again = await command(client, "scms.import", {"paths": [(workspace / "kit").as_uri()]})
        assert again["imported"] == [] and len(again["skipped"]) >= len(titles)
        assert all("already imported" in item["reason"] for item in again["skipped"] if "title" in item)
        validated = [p for p in first["imported"] if p["tier"] == "validated"]
        assert validated and all((workspace / p["file"]).is_file() for p in validated)
