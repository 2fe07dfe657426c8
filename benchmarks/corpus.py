"""Real code nobody here wrote, as benchmark data: functions from the Python standard library's sources."""

from __future__ import annotations

import ast
import os
import shutil
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SKIP = ("test", "tests", "idlelib", "lib2to3", "site-packages", "turtledemo", "tkinter", "ensurepip")


@dataclass(frozen=True)
class Function:
    path: Path
    name: str
    start: int  # 1-based, inclusive
    end: int
    text: str  # the whole file's text


def link_stdlib(root: Path) -> None:
    """Put the standard library's sources inside a benchmark's workspace (hard links where the file system
    allows, else copies; not a symlink, which the store refuses as leaving the workspace)."""
    target = root / "stdlib"
    if (target / ".complete").exists():
        return

    def place(source: str, destination: str) -> None:
        try:
            os.link(source, destination)
        except OSError:
            shutil.copy2(source, destination)

    def skipped(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n in SKIP or n == "__pycache__"
                or (not n.endswith(".py") and not os.path.isdir(os.path.join(folder, n)))]

    shutil.copytree(STDLIB, target, ignore=skipped, copy_function=place, dirs_exist_ok=True, symlinks=False)
    (target / ".complete").write_text("")


def inside(root: Path, function: Function) -> Path:
    """The function's file as seen through the workspace's `stdlib` link."""
    return root / "stdlib" / function.path.relative_to(STDLIB)


def stdlib_files() -> list[Path]:
    return sorted(p for p in STDLIB.rglob("*.py") if not any(part in SKIP for part in p.relative_to(STDLIB).parts))


def functions(min_lines: int = 4, max_lines: int = 40) -> Iterator[Function]:
    """Every function or method of the standard library with a sensible length, in a stable order."""
    for path in stdlib_files():
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
                if min_lines <= node.end_lineno - node.lineno + 1 <= max_lines:
                    yield Function(path, node.name, node.lineno, node.end_lineno, text)
