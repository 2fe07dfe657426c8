"""Ordinary code for the model's background statistics: functions from this Python's standard library."""

from __future__ import annotations

import ast
import random
import sysconfig
from pathlib import Path

SKIP = ("test", "tests", "idlelib", "lib2to3", "site-packages", "turtledemo", "ensurepip")
PER_FILE = 4


def stdlib_functions(count: int, seed: int = 7) -> list[str]:
    """Up to `count` function sources (3–60 lines) from files spread over the standard library, reproducibly."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if not any(part in SKIP for part in p.relative_to(root).parts))
    random.Random(seed).shuffle(files)
    found: list[str] = []
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        taken = 0
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
                if 3 <= node.end_lineno - node.lineno + 1 <= 60:
                    text = ast.get_source_segment(source, node)
                    if text:
                        found.append(text)
                        taken += 1
            if taken >= PER_FILE:
                break
        if len(found) >= count:
            break
    return found[:count]
