"""The exporter against golden files written from each assistant's documented format, and its rules of writing:
idempotent, deterministic, only its own files, stale files removed, front matter that parses as YAML."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from scms.errors import InvalidInput
from scms.export import TARGETS, ExportReport, export
from scms.model import Evidence, Kind, Pattern, Status, Tier

GOLDEN = Path(__file__).parent / "golden" / "export"


def stamp(day: int) -> datetime:
    return datetime(2025, 3, day, 9, 30, tzinfo=timezone.utc)


def make(pid: str, title: str, kind: Kind, body: str, snippet: str, languages: list[str],
         evidence: list[tuple[str, int, int, str | None]], uses: int, day: int) -> Pattern:
    return Pattern(
        id=pid, title=title, body=body, snippet=snippet, kind=kind, languages=languages, tags=[],
        evidence=[Evidence(file=f, start_line=a, end_line=b, content_hash="0" * 16, commit=c) for f, a, b, c in evidence],
        tier=Tier.VALIDATED, status=Status.PROMOTED, created=stamp(day), updated=stamp(day + 1),
        promoted=stamp(day + 1), decay_anchor=stamp(day), accepted_uses=uses)


RETRY = make(
    "a1b2c3d4", "Retry HTTP calls with exponential backoff", Kind.PATTERN,
    "Wrap every outbound HTTP call in `with_retry`; it backs off 0.5 s, 1 s, 2 s and gives up after the third try.",
    "def fetch(url: str) -> bytes:\n    return with_retry(lambda: session.get(url, timeout=5).content)\n",
    ["python"], [("src/net/client.py", 10, 24, "3f2a9c1d0e4b5a6978877665544332211aabbccd")], 3, 4)
RESULT = make(
    "b2c3d4e5", "Return Result objects from API handlers", Kind.CONVENTION,
    "Handlers never throw to the router: they return `ok(value)` or `err(code, message)`.",
    "export async function getUser(id: string): Promise<Result<User>> {\n"
    "  // a fence inside a comment: ```\n"
    "  const row = await db.users.find(id);\n"
    "  return row ? ok(row) : err(404, `no user ${id}`);\n}\n",
    ["typescript"], [("web/src/api/users.ts", 3, 7, None), ("web/src/api/orders.ts", 12, 18, None)], 2, 6)
WAL = make(
    "c3d4e5f6", "Migrations hang on the SQLite WAL checkpoint", Kind.FAILURE,
    "Symptom: `alembic upgrade` never returns while the dev server is running.\n"
    "Root cause: the server holds a read transaction open, so the checkpoint waits forever.\n"
    "Fix: stop the dev server, or run migrations with `PRAGMA wal_checkpoint(PASSIVE)` first.",
    "with engine.connect() as conn:\n    conn.exec_driver_sql(\"PRAGMA wal_checkpoint(PASSIVE)\")\n",
    ["python"], [("migrations/env.py", 40, 52, "9e8d7c6b5a4f")], 2, 8)
BARE = make(
    "d4e5f6a7", "Swallowing errors with bare except: évitez-le", Kind.ANTI_PATTERN,
    "A bare `except:` also catches KeyboardInterrupt and hides the real failure; catch the exception you expect.",
    "try:\n    run()\nexcept:\n    pass\n",
    [], [("manage.py", 5, 8, None)], 2, 10)
PATTERNS = [WAL, BARE, RESULT, RETRY]  # not in output order: the exporter sorts

CURSOR = {RETRY.id: ".cursor/rules/scms-retry-http-calls-with-exponential-backoff-a1b2c3d4.mdc",
          RESULT.id: ".cursor/rules/scms-return-result-objects-from-api-handlers-b2c3d4e5.mdc",
          WAL.id: ".cursor/rules/scms-migrations-hang-on-the-sqlite-wal-checkpoint-c3d4e5f6.mdc",
          BARE.id: ".cursor/rules/scms-swallowing-errors-with-bare-except-evitez-le-d4e5f6a7.mdc"}


def golden_files() -> dict[str, bytes]:
    return {p.relative_to(GOLDEN).as_posix(): p.read_bytes() for p in sorted(GOLDEN.rglob("*")) if p.is_file()}


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def front_matter(text: str) -> dict | None:
    if not text.startswith("---\n"):
        return None
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end])


def test_every_format_matches_its_golden_file(tmp_path):
    report = export(tmp_path, PATTERNS, TARGETS)
    assert tree(tmp_path) == golden_files()
    assert sorted(report.written) == sorted(golden_files()) and not report.skipped
    assert not report.changed and not report.removed and not report.unchanged


def test_a_second_run_changes_no_byte_and_no_mtime(tmp_path):
    export(tmp_path, PATTERNS, TARGETS)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()}
    report = export(tmp_path, list(reversed(PATTERNS)), TARGETS)
    assert report == ExportReport(unchanged=sorted(golden_files()))
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()} == before


def test_front_matter_parses_as_yaml_with_the_documented_types(tmp_path):
    export(tmp_path, PATTERNS, TARGETS)
    for path in (tmp_path / ".cursor/rules").glob("*.mdc"):
        front = front_matter(path.read_text())
        assert set(front) == {"description", "globs", "alwaysApply"}
        assert isinstance(front["description"], str) and front["alwaysApply"] is False
        assert isinstance(front["globs"], str) and front["globs"]
    assert front_matter((tmp_path / CURSOR[RETRY.id]).read_text())["globs"] == "**/*.py,**/*.pyi,src/net/**"
    for path in (tmp_path / ".github/instructions").glob("*.instructions.md"):
        front = front_matter(path.read_text())
        assert isinstance(front["applyTo"], str) and isinstance(front["description"], str)
    for path in (tmp_path / ".claude/rules").glob("*.md"):
        front = front_matter(path.read_text())
        assert isinstance(front["paths"], list) and all(isinstance(g, str) for g in front["paths"])
    claude = front_matter((tmp_path / ".claude/rules/scms-return-result-objects-from-api-handlers-b2c3d4e5.md").read_text())
    assert claude["paths"] == ["**/*.ts", "**/*.tsx", "web/src/api/**"]


def test_a_pattern_with_no_language_or_path_applies_everywhere(tmp_path):
    anywhere = make("e5f6a7b8", "Keep commits small", Kind.CONVENTION, "One change per commit.", "", [], [], 2, 12)
    export(tmp_path, [anywhere], ["cursor", "copilot", "claude"])
    cursor = (tmp_path / ".cursor/rules/scms-keep-commits-small-e5f6a7b8.mdc").read_text()
    assert front_matter(cursor) == {"description": "SCMS convention: Keep commits small", "alwaysApply": True}
    copilot = (tmp_path / ".github/instructions/scms-keep-commits-small-e5f6a7b8.instructions.md").read_text()
    assert front_matter(copilot)["applyTo"] == "**"
    claude = (tmp_path / ".claude/rules/scms-keep-commits-small-e5f6a7b8.md").read_text()
    assert front_matter(claude) is None and claude.startswith("<!-- Generated by SCMS from .scms/patterns/")


def test_the_output_does_not_depend_on_the_order_patterns_come_in(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    export(one, PATTERNS, TARGETS)
    export(two, list(reversed(PATTERNS)), list(reversed(TARGETS)))
    assert tree(one) == tree(two)


def test_a_hand_written_file_with_an_scms_name_is_never_overwritten(tmp_path):
    mine = tmp_path / ".cursor/rules/scms-foo.mdc"
    mine.parent.mkdir(parents=True)
    mine.write_text("---\ndescription: mine\nalwaysApply: true\n---\nMy own rule.\n")
    clash = tmp_path / CURSOR[RETRY.id]
    clash.write_text("---\nalwaysApply: true\n---\nA person wrote this, under the name SCMS would use.\n")
    before = mine.read_bytes(), clash.read_bytes()
    report = export(tmp_path, PATTERNS, ["cursor"])
    assert (mine.read_bytes(), clash.read_bytes()) == before
    assert report.skipped == [{"path": CURSOR[RETRY.id], "reason": "written by a person (no SCMS marker); left as it is"}]
    assert len(report.written) == 3
    export(tmp_path, [], ["cursor"])  # removal spares it too
    assert mine.read_bytes() == before[0] and clash.read_bytes() == before[1]


def test_files_of_a_pattern_that_left_the_validated_tier_are_removed(tmp_path):
    export(tmp_path, PATTERNS, TARGETS)
    report = export(tmp_path, [RETRY, RESULT, BARE], TARGETS)
    gone = {".cursor/rules/scms-migrations-hang-on-the-sqlite-wal-checkpoint-c3d4e5f6.mdc",
            ".github/instructions/scms-migrations-hang-on-the-sqlite-wal-checkpoint-c3d4e5f6.instructions.md",
            ".claude/rules/scms-migrations-hang-on-the-sqlite-wal-checkpoint-c3d4e5f6.md"}
    assert set(report.removed) == gone and not any((tmp_path / g).exists() for g in gone)
    assert set(report.changed) == {"WORKSPACE_RULES.md", "AGENTS.md"}
    assert "Migrations hang" not in (tmp_path / "WORKSPACE_RULES.md").read_text()


def test_with_no_validated_patterns_the_summaries_say_so(tmp_path):
    export(tmp_path, PATTERNS, TARGETS)
    report = export(tmp_path, [], TARGETS)
    assert len(report.removed) == 12 and sorted(report.changed) == ["AGENTS.md", "WORKSPACE_RULES.md"]
    assert sorted(tree(tmp_path)) == ["AGENTS.md", "WORKSPACE_RULES.md"]
    for name in ("AGENTS.md", "WORKSPACE_RULES.md"):
        assert "No validated patterns yet." in (tmp_path / name).read_text()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert sorted(export(fresh, [], TARGETS).written) == ["AGENTS.md", "WORKSPACE_RULES.md"]


def test_targets_are_checked_and_only_the_chosen_ones_written(tmp_path):
    with pytest.raises(InvalidInput) as caught:
        export(tmp_path, PATTERNS, ["cursor", "windsurf"])
    assert caught.value.field == "targets" and "windsurf" in str(caught.value)
    assert all(t in str(caught.value) for t in TARGETS)
    with pytest.raises(InvalidInput):
        export(tmp_path, PATTERNS, "cursor")
    assert not any(tmp_path.iterdir())
    report = export(tmp_path, PATTERNS, ["claude"])
    assert sorted(tree(tmp_path)) == sorted(f for f in golden_files() if f.startswith(".claude/"))
    assert len(report.written) == 4


def test_slugs_stay_in_the_folder_and_ids_that_slug_alike_do_not_collide(tmp_path):
    odd = [make("x-1", "../../etc/passwd", Kind.PATTERN, "", "x = 1", ["python"], [], 2, 4),
           make("X_1", "../../etc/passwd", Kind.PATTERN, "", "y = 2", ["python"], [], 2, 4),
           make("sym", "!!! ***", Kind.PATTERN, "", "w = 0", ["python"], [], 2, 4),
           make("long", "a" * 200, Kind.PATTERN, "", "z = 3", [], [], 2, 4)]
    report = export(tmp_path, odd, ["cursor"])
    names = sorted(Path(p).name for p in report.written)
    assert all(p.startswith(".cursor/rules/scms-") for p in report.written) and len(set(names)) == 4
    assert "scms-etc-passwd-x-1.mdc" in names and "scms-pattern-sym.mdc" in names
    assert any(n.startswith("scms-etc-passwd-x-1-") and n != "scms-etc-passwd-x-1.mdc" for n in names)
    assert all(len(n) <= len("scms-") + 48 + 1 + 64 + 9 + len(".mdc") for n in names)
    assert sorted(p.name for p in (tmp_path / ".cursor/rules").iterdir()) == names


@pytest.mark.parametrize("note", [
    "Seen in CI.\n## Symptom\nThe build hangs.\n## Fix\nPin the cache key.",
    "Seen in CI.\n**Symptom:** The build hangs.\n**Fix:** Pin the cache key.",
    "Seen in CI.\n- Symptom: The build hangs.\n- Fix: Pin the cache key.\n```\nFix: inside a fence stays\n```",
])
def test_a_failure_note_is_shown_as_symptom_and_fix_in_any_of_its_spellings(tmp_path, note):
    failure = make("f1", "CI hangs", Kind.FAILURE, note, "", [], [], 2, 4)
    export(tmp_path, [failure], ["claude"])
    text = (tmp_path / ".claude/rules/scms-ci-hangs-f1.md").read_text()
    assert "Seen in CI.\n\n**Symptom:** The build hangs.\n\n**Fix:** Pin the cache key." in text
    assert "**Lesson:**" not in text
