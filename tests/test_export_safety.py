"""The exporter in a hostile workspace: AGENTS.md bytes kept outside the markers, broken markers, links, files
where folders should be, read-only files; each is skipped with a reason naming the path, the rest written."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

import scms.export.files as export_files
from scms.export import TARGETS, export
from scms.model import Kind, Pattern, Status, Tier

T = datetime(2025, 3, 4, tzinfo=timezone.utc)
ONE = Pattern(id="f00d", title="Use the retry helper", body="Call `with_retry`.", snippet="with_retry(f)",
              kind=Kind.PATTERN, languages=["python"], tier=Tier.VALIDATED, status=Status.PROMOTED, created=T,
              updated=T, promoted=T, decay_anchor=T, accepted_uses=2)
TWO = ONE.model_copy(update={"id": "beef", "title": "Prefer pathlib", "body": "Use `Path`."})


def reasons(report) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in report.skipped}


@pytest.mark.parametrize("before, after", [
    (b"# Project\n\nBuild with `make`.\n", b"\n## Later\n\nkept\n"),
    (b"# Proj\r\n\r\nCRLF text\r\n", b"\r\nafter, CRLF\r\n"),
    ("# Caf\u00e9 \u2014 r\u00e8gles \U0001F680\n".encode(), "\nfin sans saut de ligne \u00e9".encode()),
    (b"odd bytes \xff\xfe\x00 and no newline", b"tail \xc3\x28 broken utf-8"),
])
def test_agents_md_keeps_every_byte_outside_the_markers(tmp_path, before, after):
    agents = tmp_path / "AGENTS.md"
    agents.write_bytes(before)
    first = export(tmp_path, [ONE], ["agents"])
    assert first.changed == ["AGENTS.md"]
    written = agents.read_bytes()
    assert written.startswith(before)  # no markers: the section is appended, the bytes before stay
    agents.write_bytes(written + after)  # a person adds text after the section
    export(tmp_path, [ONE, TWO], ["agents"])
    data = agents.read_bytes()
    assert data.startswith(before) and data.endswith(after) and b"Prefer pathlib" in data
    begin = data.index(b"<!-- scms:begin")
    end = data.index(b"<!-- scms:end -->") + len(b"<!-- scms:end -->")
    tail = written[written.index(b"<!-- scms:end -->") + len(b"<!-- scms:end -->"):]
    assert data[:begin] == written[:written.index(b"<!-- scms:begin")] and data[end:] == tail + after
    again = export(tmp_path, [ONE, TWO], ["agents"])
    assert again.unchanged == ["AGENTS.md"] and agents.read_bytes() == data
    export(tmp_path, [], ["agents"])
    emptied = agents.read_bytes()
    assert emptied.startswith(before) and emptied.endswith(after) and b"No validated patterns yet." in emptied


def test_a_new_agents_md_holds_the_section_alone(tmp_path):
    export(tmp_path, [ONE], ["agents"])
    text = (tmp_path / "AGENTS.md").read_text()
    assert text.startswith("<!-- scms:begin") and text.endswith("<!-- scms:end -->\n")


@pytest.mark.parametrize("text", [
    "# P\n<!-- scms:begin -->\nhalf a section\n",
    "# P\n<!-- scms:begin -->\na\n<!-- scms:begin -->\nb\n<!-- scms:end -->\n",
    "# P\n<!-- scms:end -->\nx\n<!-- scms:begin -->\n",
    "# P\n<!-- scms:end -->\n",
])
def test_broken_markers_leave_agents_md_untouched(tmp_path, text):
    agents = tmp_path / "AGENTS.md"
    agents.write_text(text)
    report = export(tmp_path, [ONE], TARGETS)
    assert agents.read_text() == text
    assert "markers are broken" in reasons(report)["AGENTS.md"]
    assert "WORKSPACE_RULES.md" in report.written and len(report.written) == 4


def test_a_marker_line_inside_a_snippet_does_not_break_the_next_run(tmp_path):
    sneaky = ONE.model_copy(update={"snippet": "<!-- scms:end -->\n<!-- scms:begin -->"})
    export(tmp_path, [sneaky], ["agents"])
    assert export(tmp_path, [sneaky], ["agents"]).unchanged == ["AGENTS.md"]


def test_a_hand_written_workspace_rules_md_is_not_overwritten(tmp_path):
    kit = tmp_path / "WORKSPACE_RULES.md"
    kit.write_text("# WORKSPACE_RULES.md - L1 Validated Patterns\n\n### Mine\n")
    report = export(tmp_path, [ONE], TARGETS)
    assert kit.read_text().endswith("### Mine\n")
    assert reasons(report) == {"WORKSPACE_RULES.md": "written by a person (no SCMS marker); left as it is"}


def test_a_target_folder_that_is_a_file_is_skipped(tmp_path):
    (tmp_path / ".cursor").write_text("not a folder")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github/instructions").write_text("not a folder either")
    report = export(tmp_path, [ONE], TARGETS)
    assert reasons(report) == {".cursor/rules": ".cursor is a file, not a folder; nothing written there",
                               ".github/instructions": ".github/instructions is a file, not a folder; nothing "
                                                       "written there"}
    assert sorted(report.written) == [".claude/rules/scms-use-the-retry-helper-f00d.md", "AGENTS.md",
                                      "WORKSPACE_RULES.md"]


def test_links_leading_out_of_the_workspace_are_not_followed(tmp_path):
    root, outside = tmp_path / "ws", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / ".claude").symlink_to(outside, target_is_directory=True)
    (outside / "elsewhere.md").write_text("someone else's\n")
    (root / "AGENTS.md").symlink_to(outside / "elsewhere.md")
    report = export(root, [ONE], TARGETS)
    found = reasons(report)
    assert ".claude is a link" in found[".claude/rules"] and "outside the workspace" in found[".claude/rules"] and "link" in found["AGENTS.md"]
    assert sorted(os.listdir(outside)) == ["elsewhere.md"] and (outside / "elsewhere.md").read_text() == "someone else's\n"
    assert len(report.written) == 3  # WORKSPACE_RULES.md, the Cursor and the Copilot file


def test_a_link_inside_the_workspace_is_a_folder_like_any_other_but_a_linked_file_is_not(tmp_path):
    (tmp_path / "shared-rules").mkdir()
    (tmp_path / ".cursor").mkdir()
    (tmp_path / ".cursor/rules").symlink_to(tmp_path / "shared-rules", target_is_directory=True)
    report = export(tmp_path, [ONE], ["cursor"])
    assert report.written == [".cursor/rules/scms-use-the-retry-helper-f00d.mdc"]
    target = tmp_path / "shared-rules/scms-use-the-retry-helper-f00d.mdc"
    moved = tmp_path / "real.mdc"
    target.rename(moved)
    target.symlink_to(moved)
    report = export(tmp_path, [ONE], ["cursor"])
    assert "symbolic link" in reasons(report)[".cursor/rules/scms-use-the-retry-helper-f00d.mdc"]


def test_a_read_only_file_is_skipped_and_the_rest_written(tmp_path):
    export(tmp_path, [ONE], TARGETS)
    frozen = tmp_path / ".github/instructions/scms-use-the-retry-helper-f00d.instructions.md"
    frozen.chmod(0o444)
    before = frozen.read_bytes()
    report = export(tmp_path, [ONE.model_copy(update={"body": "Call `with_retry` always."})], TARGETS)
    assert frozen.read_bytes() == before
    assert reasons(report) == {frozen.relative_to(tmp_path).as_posix(): "is read-only; left as it is"}
    assert len(report.changed) == 4
    report = export(tmp_path, [], TARGETS)
    assert frozen.exists() and "read-only" in reasons(report)[frozen.relative_to(tmp_path).as_posix()]


def test_a_folder_that_refuses_writes_is_skipped_and_the_rest_written(tmp_path, monkeypatch):
    real = export_files.atomic_write

    def refuse(path, data, *args, **kwargs):
        if ".claude" in Path(path).parts:
            raise PermissionError(13, "Permission denied")
        return real(path, data, *args, **kwargs)

    monkeypatch.setattr(export_files, "atomic_write", refuse)
    report = export(tmp_path, [ONE, TWO], TARGETS)
    assert {p for p in reasons(report)} == {".claude/rules/scms-prefer-pathlib-beef.md",
                                            ".claude/rules/scms-use-the-retry-helper-f00d.md"}
    assert all("Permission denied" in r for r in reasons(report).values())
    assert len(report.written) == 6


def test_a_rule_file_that_would_hold_a_secret_is_not_written(tmp_path: Path):
    """A validated pattern can hold a secret when its file came in through git: the export still writes none."""
    from datetime import datetime, timezone

    from scms.export import export
    from scms.model import Pattern, Status, Tier

    when = datetime(2026, 11, 1, tzinfo=timezone.utc)
    key = "AKIA" + "IOSFODNN7EXAMPLQ"
    leaky = Pattern(id="5ec2e7aa", title="Connect to S3", snippet=f'key = "{key}"\nclient = boto3.client("s3")',
                    kind="pattern", languages=["python"], tier=Tier.VALIDATED, status=Status.VALIDATED,
                    created=when, updated=when, decay_anchor=when, promoted=when)
    report = export(tmp_path, [leaky], ["cursor", "agents"])
    reasons = {item["path"]: item["reason"] for item in report.skipped}
    assert any(path.startswith(".cursor/rules/") and "AWS access key" in reason for path, reason in reasons.items())
    assert "AGENTS.md" in reasons and not (tmp_path / "AGENTS.md").exists()
    assert not list(tmp_path.rglob("*.mdc"))
    assert key not in "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
