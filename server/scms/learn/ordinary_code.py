"""Ordinary code for the model's background statistics: functions from this Python's standard library."""

from __future__ import annotations

import ast
import io
import logging
import os
import random
import re
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scms.atomic import atomic_write

log = logging.getLogger("scms")

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # the line breaks the parser knows, kept
SKIP = ("test", "tests", "idlelib", "lib2to3", "site-packages", "turtledemo", "ensurepip")
PER_FILE = 4
LARGEST_FILE = 32_000  # bytes: parsing holds the interpreter lock, and a 200 KB module takes ~60 ms of it


def stdlib_functions(count: int, seed: int = 7) -> list[str]:
    """Up to `count` function sources (3–60 lines) from files spread over the standard library, reproducibly."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if not any(part in SKIP for part in p.relative_to(root).parts))
    random.Random(seed).shuffle(files)
    found: list[str] = []
    for path in files:
        time.sleep(0.002)  # the server's other threads (hovers) get the interpreter between files
        try:
            if path.stat().st_size > LARGEST_FILE:
                continue
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        taken = 0
        lines = _LINE.findall(source)  # once per file: ast.get_source_segment splits the file per function
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
                if 3 <= node.end_lineno - node.lineno + 1 <= 60:
                    text = segment(lines, node)
                    if text:
                        found.append(text)
                        taken += 1
            if taken >= PER_FILE:
                break
        if len(found) >= count:
            break
    return found[:count]


def segment(lines: list[str], node: ast.AST) -> str:
    """The node's source, as `ast.get_source_segment` gives it, from the file's lines split once."""
    first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined, operator]
    if first == last:
        return lines[first].encode()[node.col_offset:node.end_col_offset].decode()  # type: ignore[attr-defined]
    head = lines[first].encode()[node.col_offset:].decode()  # type: ignore[attr-defined]
    tail = lines[last].encode()[:node.end_col_offset].decode()  # type: ignore[attr-defined]
    return "".join([head, *lines[first + 1:last], tail])


def ordinary_vectors(encode: Callable[[list[str]], np.ndarray], model_name: str, count: int) -> np.ndarray:
    """The embeddings of `count` standard-library functions: measured once per machine and embedding model,
    then read from the user's cache folder (`$XDG_CACHE_HOME/scms`, else `~/.cache/scms`), so a new folder's
    memory model starts in milliseconds instead of embedding them again. A cache that cannot be read or written
    only costs the embedding."""
    path = _cache_dir() / f"ordinary-code-{_safe(model_name)}-{count}-py{sys.version_info[0]}{sys.version_info[1]}.npy"
    try:
        cached = np.load(path, allow_pickle=False)
        if cached.ndim == 2 and 0 < cached.shape[0] <= count and cached.dtype == np.float32:
            return cached
    except (OSError, ValueError):
        pass
    vectors = np.ascontiguousarray(encode(stdlib_functions(count)), dtype=np.float32)
    try:
        buffer = io.BytesIO()
        np.save(buffer, vectors, allow_pickle=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, buffer.getvalue())
    except OSError as err:
        log.info("the ordinary-code embeddings could not be cached in %s: %s", path.parent, err)
    return vectors


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scms"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:80]
