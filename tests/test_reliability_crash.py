"""Crash safety through the real servers: SIGKILL lands at random moments while the language server and `scms
mcp` carry out operations one at a time (remember, accept with and without a context, promote, forget, restore,
export; propose and record uses). After each kill: every acknowledged operation is in the event log and no other
event but the one in flight, `PRAGMA integrity_check` is ok, every validated file matches the store unless it is
marked pending, the rule files are as the last export left them (or, for an export in flight, each old or new);
after a restart nothing is pending and every validated file is the store's byte for byte; `scms rebuild`
reproduces every pattern from the log. The full-size run (1,000 operations each) is `python -m
benchmarks.reliability --crash 1000`; its figures are in docs/reliability.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.reliability import cli, crash, project, rule_files  # noqa: E402

OPERATIONS = 150  # with a kill every ~12 operations: about 12 kills per server, ~15 s each


@pytest.mark.parametrize("front_end", ["lsp", "mcp"])
def test_sigkill_mid_operation_loses_nothing_acknowledged(front_end: str, tmp_path: Path):
    figures = crash(front_end, OPERATIONS, kill_every=12, seed=16, root=tmp_path / "project")
    assert figures.violations == []
    assert figures.operations == OPERATIONS and figures.kills >= 5
    assert figures.rebuilds_exact == figures.kills  # `scms rebuild` after every kill changed nothing
    assert figures.files_checked > 0  # there were validated files to compare


def test_a_temp_file_left_by_a_killed_export_is_cleaned_up(tmp_path: Path):
    """The crash runs find these after a kill mid-export (e.g. `.github/instructions/.scms-….instructions.md.
    20822.140064470320832.c1e2a6.tmp`); here one is planted as atomic_write names it, for a process long gone."""
    root = project(tmp_path / "project")
    made = cli(root, "remember", "src/shutil.py:1-5", "--title", "Kept in chunks")
    assert made.returncode == 0, made.stderr
    assert cli(root, "promote", json.loads(made.stdout)["id"]).returncode == 0
    assert cli(root, "export").returncode == 0
    [rule] = [name for name in rule_files(root) if name.startswith(".github/instructions/")]
    orphan = root / Path(rule).parent / f".{Path(rule).name}.999999.140064470320832.c1e2a6.tmp"
    orphan.write_text("half of an export")
    assert cli(root, "export").returncode == 0
    assert not orphan.exists()
