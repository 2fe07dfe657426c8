"""A process killed (SIGKILL) in the middle of 1,000 accepts loses no acknowledged event and no integrity."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import COPYFILEOBJ_LINES, remember_lines
from scms.memory import Memory

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from scms.memory import Memory

    memory = Memory.open(Path(sys.argv[1]))
    for _ in range(1000):
        pattern = memory.accept(sys.argv[2])
        print(pattern.accepted_uses, flush=True)  # the acknowledgement: printed only after the commit
    """
)


def test_sigkill_mid_batch_keeps_every_acknowledged_event(workspace: Path):
    memory = Memory.open(workspace)
    pattern_id = remember_lines(memory, "shutil.py", *COPYFILEOBJ_LINES).id
    memory.close()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(workspace), pattern_id],
                              stdout=subprocess.PIPE, text=True)
    acknowledged = 0
    assert writer.stdout is not None
    for line in writer.stdout:
        acknowledged = int(line)
        if acknowledged == 300:
            os.kill(writer.pid, signal.SIGKILL)
            break
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    conn = sqlite3.connect(workspace / ".scms" / "scms.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        accepted = conn.execute("SELECT COUNT(*) FROM events WHERE type = 'accepted'").fetchone()[0]
    finally:
        conn.close()
    assert 300 <= accepted < 1000  # every acknowledged accept is there; at most the unacknowledged one more
    reopened = Memory.open(workspace)
    try:
        assert reopened.get(pattern_id).accepted_uses == accepted
        reopened.rebuild()
        assert reopened.get(pattern_id).accepted_uses == accepted
    finally:
        reopened.close()
