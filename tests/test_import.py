"""`import_paths`: SCMS-kit memories, WORKSPACE_RULES.md, the failure log and assistants' rule files land
in the store as `imported` events with their counts and dates, once, in the tier their status says."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import Clock, store_snapshot
from scms.config import Settings
from scms.model import Kind, Status, Tier
from scms.store import files, lifecycle, projection
from scms.store.importing import import_paths
from scms.store.workspace import Workspace

GOLDEN = Path(__file__).parent / "golden" / "import"


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def ws(tmp_path: Path):
    root = tmp_path / "project"
    root.mkdir()
    workspace = Workspace.open(root, Settings(), clock=Clock())
    yield workspace
    workspace.close()


def copy_golden(ws: Workspace, which: str) -> Path:
    shutil.copytree(GOLDEN / which, ws.root, dirs_exist_ok=True)
    return ws.root


def by_title(patterns) -> dict:
    return {p.title: p for p in patterns}


def test_kit_memories_keep_their_status_counts_dates_tags_and_code(ws):
    copy_golden(ws, "kit")
    report = import_paths(ws, [Path("docs/memories")])
    assert report.skipped == []
    found = by_title(lifecycle.list_patterns(ws))
    assert len(found) == 4

    retry = found["Retry flaky HTTP calls with capped exponential backoff"]
    assert (retry.tier, retry.status) == (Tier.VALIDATED, Status.VALIDATED)
    assert retry.accepted_uses == 4
    assert retry.created == day("2025-09-02") and retry.last_accepted == day("2025-10-14")
    assert retry.promoted == day("2025-10-14")
    assert retry.tags == ["confidence-high", "networking", "python", "resilience", "surprise-3"]
    assert retry.languages == ["python"] and retry.kind is Kind.PATTERN
    assert retry.snippet.startswith("def with_backoff(call, attempts=5, cap=8.0):")
    assert retry.snippet.endswith("delay = min(delay * 2, cap)")
    assert "doubles its wait" in retry.body and "def with_backoff" not in retry.body
    assert "**Use Count**" not in retry.body  # the header fields became counts, dates and tags

    candidate = found["Read settings once at start-up into a frozen dataclass"]
    assert (candidate.tier, candidate.status, candidate.accepted_uses) == (Tier.SESSION, Status.CANDIDATE, 1)
    assert candidate.last_accepted == day("2025-11-20") and candidate.promoted is None
    assert candidate.decay_anchor == ws.clock()  # the import restarts the decay clock, as a restore does

    archived = found["Global jQuery ajax error handler"]
    assert (archived.tier, archived.status, archived.kind) == (Tier.ARCHIVE, Status.ARCHIVED, Kind.ANTI_PATTERN)
    assert archived.accepted_uses == 2 and archived.languages == ["javascript"]

    promoted = found["Share one temporary database per test module"]
    assert (promoted.tier, promoted.status, promoted.accepted_uses) == (Tier.VALIDATED, Status.PROMOTED, 6)

    # validated ones have their file, written the way promote writes it, and sync finds nothing to change
    on_disk, warnings = files.scan(ws.patterns_dir)
    assert warnings == [] and set(on_disk) == {retry.id, promoted.id}
    assert not lifecycle.sync_files(ws).changed
    assert len(report.imported) == 4


def test_workspace_rules_and_failure_log(ws):
    copy_golden(ws, "kit")
    report = import_paths(ws, [Path("docs/WORKSPACE_RULES.md"), Path("docs/FAILURES.md")])
    assert report.skipped == []
    found = by_title(report.imported)
    assert set(found) == {"Money is integer cents", "Idempotency keys on every POST", "Naming Conventions",
                          "Comparing floats for equality", "Migration locked the invoices table at peak hour",
                          "Webhook retries double-charged a customer"}
    money = found["Money is integer cents"]
    assert (money.tier, money.kind, money.accepted_uses) == (Tier.VALIDATED, Kind.PATTERN, 7)
    assert money.promoted == day("2025-10-01")
    assert money.snippet == "total_cents = sum(line.amount_cents for line in invoice.lines)"
    assert found["Idempotency keys on every POST"].accepted_uses == 3
    assert found["Naming Conventions"].kind is Kind.CONVENTION
    assert found["Comparing floats for equality"].kind is Kind.ANTI_PATTERN
    lock = found["Migration locked the invoices table at peak hour"]
    assert (lock.kind, lock.tier, lock.created) == (Kind.FAILURE, Tier.VALIDATED, day("2025-10-03"))
    assert "severity-major" in lock.tags and "migrations" in lock.tags and lock.languages == ["sql"]
    open_failure = found["Webhook retries double-charged a customer"]
    assert (open_failure.tier, open_failure.kind) == (Tier.SESSION, Kind.FAILURE)  # still active: a candidate


def test_rule_files_of_each_assistant(ws):
    copy_golden(ws, "rules")
    report = import_paths(ws, [ws.root])
    assert report.skipped == []
    found = by_title(report.imported)
    assert set(found) == {
        "Function components with typed props", "Never log request bodies", "Tests use pytest fixtures, not setUp",
        "Build", "Error messages", "CLAUDE.md", "Commands", "Style", "Sql", "Setup", "Pull requests"}
    react = found["Function components with typed props"]
    assert react.languages == ["typescriptreact"] and react.snippet.startswith("interface ButtonProps")
    assert react.body == "Write components as functions; declare props as a named interface."
    assert found["Never log request bodies"].body.startswith("Request bodies can hold card numbers")
    assert found["Tests use pytest fixtures, not setUp"].languages == ["python"]
    assert found["Sql"].languages == ["sql"]
    assert all(p.kind is Kind.CONVENTION and p.tier is Tier.VALIDATED for p in report.imported)
    assert found["Commands"].body == "- `make test` runs the unit tests\n- `make lint` runs ruff"


def test_a_second_import_skips_everything_and_changes_nothing(ws):
    copy_golden(ws, "kit")
    copy_golden(ws, "rules")
    first = import_paths(ws, [ws.root])
    assert first.skipped == [] and len(first.imported) == 21
    before = store_snapshot(ws.root)
    second = import_paths(ws, [ws.root, Path("docs/memories/retry-with-backoff.md")])
    assert second.imported == []
    assert len(second.skipped) == 21
    assert all(s["reason"].startswith("already imported (pattern ") for s in second.skipped)
    assert store_snapshot(ws.root) == before


def test_the_same_item_under_another_path_is_not_imported_twice(ws):
    copy_golden(ws, "kit")
    import_paths(ws, [Path("docs/memories/config-loader.md")])
    shutil.copy(ws.root / "docs/memories/config-loader.md", ws.root / "copy.md")
    report = import_paths(ws, [Path("copy.md")])
    assert report.imported == [] and "already imported" in report.skipped[0]["reason"]


def test_rebuild_reproduces_the_imported_patterns(ws):
    copy_golden(ws, "kit")
    copy_golden(ws, "rules")
    import_paths(ws, [ws.root])
    live = lifecycle.list_patterns(ws)
    assert lifecycle.rebuild(ws) == len(live)
    assert sorted(lifecycle.list_patterns(ws), key=lambda p: p.id) == sorted(live, key=lambda p: p.id)


def test_imported_patterns_take_part_in_the_lifecycle(ws):
    copy_golden(ws, "kit")
    import_paths(ws, [Path("docs/memories/config-loader.md")])
    [candidate] = lifecycle.list_patterns(ws)
    after = lifecycle.accept(ws, candidate.id)
    assert after.accepted_uses == 2
    [promoted] = lifecycle.promote_eligible(ws)
    assert promoted.id == candidate.id and files.files_of(ws.patterns_dir, candidate.id)
    live = lifecycle.list_patterns(ws)
    lifecycle.rebuild(ws)
    assert lifecycle.list_patterns(ws) == live


def test_bad_files_are_listed_with_path_and_reason_and_nothing_changes(ws, tmp_path):
    copy_golden(ws, "kit")
    import_paths(ws, [Path("docs/memories/config-loader.md")])
    before = store_snapshot(ws.root)
    rules = ws.root / ".cursor" / "rules"
    rules.mkdir(parents=True)
    (rules / "broken.mdc").write_text("---\ndescription: [unclosed\n---\nBody\n")
    (rules / "binary.mdc").write_bytes(b"---\x00\x01\x02")
    (ws.root / "AGENTS.md").write_bytes("# Rules\n\n## Setup\n\ncaf\xe9\n".encode("latin-1"))
    (ws.root / "CLAUDE.md").write_text("# Big\n\n" + "x" * ws.settings.max_file_bytes)
    (ws.root / "empty").mkdir()
    (ws.root / "docs/memories/template.md").write_text(
        "# Memory: Placeholder\n\n**Status**: ⏳ CANDIDATE | ✅ VALIDATED\n**Use Count**: X\n")
    (ws.root / "docs/memories/bad-date.md").write_text(
        "# Memory: Bad date\n\n**Status**: ⏳ CANDIDATE\n**Use Count**: 1\n**First Used**: 2025-13-40\n")
    outside = tmp_path / "elsewhere.md"
    outside.write_text("# AGENTS\n\n## x\n\ny\n")
    (ws.root / "notes.txt").write_text("plain")
    report = import_paths(ws, [Path(".cursor/rules"), Path("AGENTS.md"), Path("CLAUDE.md"), Path("empty"),
                               Path("docs/memories/template.md"), Path("docs/memories/bad-date.md"), outside,
                               Path("../elsewhere.md"), Path("notes.txt"), Path("missing.md")])
    assert report.imported == []
    reasons = {s["path"]: s["reason"] for s in report.skipped}
    assert reasons[".cursor/rules/broken.mdc"].startswith("invalid YAML front matter")
    assert "binary" in reasons[".cursor/rules/binary.mdc"]
    assert "not UTF-8" in reasons["AGENTS.md"]
    assert "too large" in reasons["CLAUDE.md"]
    assert reasons["empty"] == "a folder holding no file SCMS imports"
    assert "names several statuses" in reasons["docs/memories/template.md"]
    assert "not a real date" in reasons["docs/memories/bad-date.md"]
    assert reasons[str(outside)].startswith("outside the workspace")
    assert reasons["../elsewhere.md"].startswith("outside the workspace")
    assert reasons["notes.txt"].startswith("not a format SCMS imports")
    assert reasons["missing.md"] == "no such file or folder"
    assert len(report.skipped) == 11
    assert store_snapshot(ws.root) == before


def test_a_folder_reports_only_the_files_a_parser_claims(ws):
    copy_golden(ws, "kit")
    (ws.root / "docs" / "README.md").write_text("# Just a readme\n\nNothing to import.\n")
    report = import_paths(ws, [Path("docs")])
    assert report.skipped == [] and len(report.imported) == 10


def test_an_item_holding_a_secret_is_refused(ws):
    (ws.root / "AGENTS.md").write_text(
        "# Agents\n\n## Deploy\n\nUse the key below.\n\n```sh\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7REALKEY\n```\n"
        "\n## Style\n\nShort functions.\n")
    report = import_paths(ws, [Path("AGENTS.md")])
    assert [p.title for p in report.imported] == ["Style"]
    [refused] = report.skipped
    assert refused["path"] == "AGENTS.md" and refused["title"] == "Deploy" and "secret" in refused["reason"]


def test_content_exported_by_scms_is_skipped_when_the_store_has_it(ws):
    copy_golden(ws, "kit")
    import_paths(ws, [Path("docs/memories/promoted-fixture.md")])
    [pattern] = lifecycle.list_patterns(ws)
    rules = ws.root / ".cursor" / "rules"
    rules.mkdir(parents=True)
    exported = rules / f"scms-share-one-temporary-database-{pattern.id}.mdc"
    exported.write_text("---\ndescription: Share one temporary database per test module\nglobs: \"**/*.py\"\n---\n"
                        "<!-- Generated by SCMS: edits here are overwritten -->\n\nA module-scoped fixture.\n\n"
                        f"```python\n{pattern.snippet}\n```\n")
    (ws.root / "AGENTS.md").write_text(
        "# Agents\n\n## By hand\n\nWritten by a person.\n\n<!-- scms:begin Generated by SCMS -->\n"
        f"## {pattern.title}\n\n<!-- id: {pattern.id} -->\n\nA module-scoped fixture.\n\n"
        f"```python\n{pattern.snippet}\n```\n<!-- scms:end -->\n")
    before_ids = {p.id for p in lifecycle.list_patterns(ws)}
    report = import_paths(ws, [exported, Path("AGENTS.md")])
    assert [p.title for p in report.imported] == ["By hand"]
    assert [s["reason"] for s in report.skipped] == ["exported by SCMS (the pattern is in the store)"] * 2
    assert before_ids < {p.id for p in lifecycle.list_patterns(ws)}


def test_content_exported_by_scms_is_imported_into_a_fresh_store_with_its_id(ws):
    rules = ws.root / ".cursor" / "rules"
    rules.mkdir(parents=True)
    (rules / "scms-copy-in-chunks-0b28d125.mdc").write_text(
        "---\ndescription: Copy file objects in fixed-size chunks\nglobs: \"**/*.py\"\n---\n"
        "<!-- Generated by SCMS -->\n\nRead length bytes at a time.\n\n```python\nwhile buf := fsrc.read(n):\n"
        "    fdst.write(buf)\n```\n")
    report = import_paths(ws, [rules])
    [pattern] = report.imported
    assert pattern.id == "0b28d125" and pattern.tier is Tier.VALIDATED
    assert pattern.title == "Copy file objects in fixed-size chunks" and pattern.languages == ["python"]
    assert pattern.body == "Read length bytes at a time."
    assert pattern.snippet == "while buf := fsrc.read(n):\n    fdst.write(buf)"
    assert import_paths(ws, [rules]).skipped[0]["reason"] == "exported by SCMS (the pattern is in the store)"


def test_the_imported_event_holds_the_source(ws):
    copy_golden(ws, "kit")
    import_paths(ws, [Path("docs/FAILURES.md")])
    with ws.db.read() as conn:
        events = projection.events(conn)
    assert {e.payload["source"]["key"] for e in events} == {"FAIL-20251003-001", "FAIL-20251019-002"}
    assert {e.payload["source"]["path"] for e in events} == {"docs/FAILURES.md"}


def test_the_parsers_are_pure():
    """scms.importing reads no files and touches no store: it imports only the leaves, its own modules and the
    exporter's vocabulary (headings, lesson labels, language names), so that it reads back what the exporter wrote."""
    import ast

    import scms.importing as package

    allowed = ("scms.model", "scms.text", "scms.errors", "scms.importing", "scms.export.lesson", "scms.export.rule",
               "scms.export.scope")
    wrong = []
    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            wrong += [f"{path.name}: {n}" for n in names if n.startswith("scms") and not n.startswith(allowed)]
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("read_text", "open", "execute"):
                wrong.append(f"{path.name}:{node.lineno} calls {node.func.attr}")
    assert not wrong
