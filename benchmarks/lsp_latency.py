"""LSP round-trip benchmark: `initialize` time, first useful hover, hover latency and RSS at N stored patterns."""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from benchmarks.corpus import Function, functions
from scms.memory import Memory

SERVER = [sys.executable, "-m", "scms", "serve"]
CAPABILITIES = types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=False))


@dataclass
class HoverFigures:
    patterns: int
    ingest_per_s: float
    hovers: int
    with_card: float
    p50: float
    p95: float
    p99: float
    first_useful_hover_ms: float
    rss_mb: float


def build_store(root: Path, corpus: list[Function], count: int) -> float:
    """Remember `count` stdlib functions as patterns; returns patterns per second."""
    memory = Memory.open(root)
    try:
        started = time.perf_counter()
        for function in corpus[:count]:
            code = memory.code_from_text(function.path, function.text, function.start, function.end)
            memory.remember(code, title=f"{function.path.stem}.{function.name}")
        return count / (time.perf_counter() - started)
    finally:
        memory.close()


async def _start(root: Path) -> tuple[LanguageClient, float]:
    client = LanguageClient("scms-bench", "1")
    started = time.perf_counter()
    await client.start_io(*SERVER)
    await client.initialize_async(types.InitializeParams(
        capabilities=CAPABILITIES, root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")]))
    client.initialized(types.InitializedParams())
    return client, (time.perf_counter() - started) * 1000


async def _stop(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


async def measure_initialize(root: Path, runs: int = 7) -> list[float]:
    """Milliseconds from spawning the server process to the `initialize` answer."""
    times = []
    for _ in range(runs):
        client, elapsed = await _start(root)
        times.append(elapsed)
        await _stop(client)
    return times


async def _hover(client: LanguageClient, uri: str, line: int, character: int) -> types.Hover | None:
    return await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character)))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure_hovers(root: Path, corpus: list[Function], count: int, hovers: int, seed: int = 7) -> HoverFigures:
    ingest = build_store(root, corpus, count)
    rng = random.Random(seed)
    started = time.perf_counter()
    client, _ = await _start(root)
    # first useful hover: a stored function's own body shows its card once the memory is open
    known = corpus[0]
    known_uri = known.path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=known_uri, language_id="python", version=1, text=known.text)))
    while await _hover(client, known_uri, known.start, 8) is None:
        await asyncio.sleep(0.005)
    first_useful = (time.perf_counter() - started) * 1000
    # hovers on random non-blank lines of files the patterns came from (and their neighbours)
    files = sorted({f.path for f in corpus[: max(count, 200)]})
    opened: dict[Path, list[str]] = {}
    for path in rng.sample(files, min(40, len(files))):
        text = path.read_text(encoding="utf-8")
        opened[path] = text.splitlines()
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=path.as_uri(), language_id="python", version=1, text=text)))
    targets = []
    paths = list(opened)
    while len(targets) < hovers:
        path = rng.choice(paths)
        lines = opened[path]
        line = rng.randrange(len(lines))
        if lines[line].strip():
            indent = len(lines[line]) - len(lines[line].lstrip())
            targets.append((path.as_uri(), line, indent + 1))
    for uri, line, character in targets[:20]:  # warm-up
        await _hover(client, uri, line, character)
    latencies, cards = [], 0
    for uri, line, character in targets:
        t0 = time.perf_counter()
        result = await _hover(client, uri, line, character)
        latencies.append((time.perf_counter() - t0) * 1000)
        cards += result is not None
    rss = _rss_mb(client._server.pid)  # type: ignore[union-attr]
    await _stop(client)
    q = statistics.quantiles(latencies, n=100)
    return HoverFigures(count, ingest, hovers, cards / hovers, q[49], q[94], q[98], first_useful, rss)


async def run(sizes: tuple[int, ...] = (1_000, 10_000), hovers: int = 1_000) -> tuple[list[float], list[HoverFigures]]:
    corpus = list(functions(min_lines=3, max_lines=80))
    random.Random(1).shuffle(corpus)
    if len(corpus) < max(sizes):
        raise SystemExit(f"only {len(corpus)} stdlib functions found; need {max(sizes)}")
    with tempfile.TemporaryDirectory(prefix="scms-bench-") as tmp:
        init_root = Path(tmp) / "empty"
        init_root.mkdir()
        init_times = await measure_initialize(init_root)
        figures = []
        for size in sizes:
            root = Path(tmp) / f"n{size}"
            root.mkdir()
            figures.append(await measure_hovers(root, corpus, size, hovers))
    return init_times, figures
