"""Writing benchmark figures into docs/benchmarks.md, one marked section per benchmark, and the machine's facts."""

from __future__ import annotations

import os
import platform
import re
import statistics
from datetime import date
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
BENCHMARKS = DOCS / "benchmarks.md"
HEADER = """# Benchmarks

Figures measured by `make bench` (`python -m benchmarks`) on the machine named in each section.
They are benchmarks, not tests: rerun them after a change and compare.
"""


def quantiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 of these values (statistics.quantiles, exclusive method; one value is all three)."""
    if len(values) < 2:
        return (values[0],) * 3 if values else (float("nan"),) * 3
    q = statistics.quantiles(values, n=100)
    return q[49], q[94], q[98]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {date.today().isoformat()}"


def write_section(name: str, markdown: str) -> Path:
    """Replace (or append) the section between `<!-- bench:name -->` markers."""
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else HEADER
    block = f"<!-- bench:{name} -->\n{markdown.strip()}\n<!-- /bench:{name} -->"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS.parent.mkdir(parents=True, exist_ok=True)
    BENCHMARKS.write_text(text, encoding="utf-8")
    return BENCHMARKS
