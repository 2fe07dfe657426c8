"""A demo of the memory on real code: remember, accept twice, promote eligible, and show the result."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "build" / "demo-workspace"
STDLIB = Path(sysconfig.get_paths()["stdlib"])


def scms(*args: str) -> str:
    command = [sys.executable, "-m", "scms", "--workspace", str(DEMO), *args]
    print("$ scms " + " ".join(args), flush=True)
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=DEMO).stdout
    print(out)
    return out


def main() -> None:
    if DEMO.exists():
        shutil.rmtree(DEMO)
    (DEMO / "src").mkdir(parents=True)
    for name in ("shutil.py", "textwrap.py", "functools.py"):  # functools repeats a shape: discovery suggests it
        shutil.copy(STDLIB / name, DEMO / "src" / name)
    scms("remember", "src/shutil.py:189-199", "--title", "Copy file objects in fixed-size chunks",
         "--note", "Read length bytes at a time until read() returns nothing; never read a whole file.")
    pattern_id = scms("list", "--json").split('"id": "')[1].split('"')[0]
    scms("accept", pattern_id, "src/shutil.py:170-187")
    scms("accept", pattern_id)
    scms("promote-eligible")
    scms("status")
    for path in sorted((DEMO / ".scms" / "patterns").glob("*.md")):
        print(f"--- {path.relative_to(ROOT)} ---\n{path.read_text()}")
    print(f"The demo workspace is {DEMO}; try `{sys.executable} -m scms --workspace {DEMO} list`.")


if __name__ == "__main__":
    main()
