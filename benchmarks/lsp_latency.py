"""LSP round-trip benchmark: first useful hover, hover latency and RSS at N stored patterns."""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

import numpy as np

from benchmarks.corpus import Function, functions, inside, link_stdlib
from benchmarks.report import quantiles
from scms.memory import Memory
from scms.text import pattern_text
from scms.text import content_hash

CACHE = Path(__file__).resolve().parent.parent / "build" / "bench-cache" / "embeddings.npz"
MODEL = "all-MiniLM-L6-v2"

SERVER = [sys.executable, "-m", "scms", "serve"]
CAPABILITIES = types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=False))


@dataclass
class HoverFigures:
    patterns: int
    ingest_per_s: float
    cold: tuple[float, float, float]  # p50, p95, p99 of first hovers on a unit: lexical, unit queued
    warm: tuple[float, float, float]  # the same hovers once their units are embedded: fused
    with_card: float
    first_useful_hover_ms: float  # a workspace's first start: the lexical index is built from the store
    restart_useful_hover_ms: float  # a later start: the saved lexical index is loaded
    embeddings_ready_s: float
    rss_mb: float  # after the hover passes of a first start (which created the memory model)
    restart_rss_mb: float  # after a later start has loaded everything


def real_embeddings(texts: list[str]) -> tuple[dict[str, np.ndarray], float]:
    """Embeddings of these texts by the real model, cached on disk between runs; and texts per second."""
    cached: dict[str, np.ndarray] = {}
    if CACHE.exists():
        with np.load(CACHE) as data:
            cached = dict(zip(data["keys"].tolist(), data["vectors"]))
    missing = [t for t in texts if content_hash(t) not in cached]
    rate = float("nan")
    if missing:
        from scms.recall.embeddings import Embedder

        embedder = Embedder("", threads=2)
        embedder.load()
        started = time.perf_counter()
        vectors = embedder.encode(missing, batch_size=32)
        rate = len(missing) / (time.perf_counter() - started)
        cached.update({content_hash(t): v for t, v in zip(missing, vectors)})
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        np.savez(CACHE, keys=np.array(list(cached)), vectors=np.stack(list(cached.values())))
    return cached, rate


def build_store(root: Path, corpus: list[Function], count: int, real: dict[str, np.ndarray]) -> float:
    """Remember `count` stdlib functions as patterns (patterns per second into the store), then fill the
    embedding cache: real vectors where the cache has them, else a real one reused with a little noise."""
    memory = Memory.open(root)
    link_stdlib(memory.root)
    try:
        started = time.perf_counter()
        keys = []
        for function in corpus[:count]:
            code = memory.code_from_text(inside(root, function), function.text, function.start, function.end)
            pattern = memory.remember(code, title=f"{function.path.stem}.{function.name}")
            keys.append(content_hash(pattern_text(pattern.title, pattern.body, pattern.snippet)))
        rate = count / (time.perf_counter() - started)
        pool = list(real.values())
        rng = np.random.default_rng(3)
        rows = []
        for i, key in enumerate(keys):
            vector = real.get(key)
            if vector is None:
                vector = pool[i % len(pool)] + rng.normal(0, 0.03, len(pool[0])).astype(np.float32)
                vector /= np.linalg.norm(vector)
            rows.append((key, MODEL, np.asarray(vector, dtype=np.float32).tobytes()))
        with memory._ws.db.write() as conn:
            conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)
        return rate
    finally:
        memory.close()


OPTIONS: dict | None = None  # the server's settings (initializationOptions); None: the defaults


async def _start(root: Path, capabilities: types.ClientCapabilities = CAPABILITIES) -> tuple[LanguageClient, float]:
    client = LanguageClient("scms-bench", "1")
    started = time.perf_counter()
    await client.start_io(*SERVER)
    await client.initialize_async(types.InitializeParams(
        capabilities=capabilities, root_uri=root.as_uri(), initialization_options=OPTIONS,
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")]))
    client.initialized(types.InitializedParams())
    return client, (time.perf_counter() - started) * 1000


async def _stop(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


async def _hover(client: LanguageClient, uri: str, line: int, character: int) -> types.Hover | None:
    return await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character)))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _wait_for_embeddings(client: LanguageClient, timeout: float = 900) -> None:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        status = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="scms.status", arguments=[{}]))
        if status["recall"] == "embeddings":
            return
        if status["recall"] != "loading model" and status["recall"] != "lexical":
            raise SystemExit(f"recall did not come up: {status['recall']}")
        await asyncio.sleep(0.5)
    raise SystemExit("the embedding model did not load in time")


async def _settle(client: LanguageClient, timeout: float = 600) -> None:
    """Wait until the server's embedding queue is empty (the hovered units are embedded)."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        status = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="scms.status", arguments=[{}]))
        if status["embeddingQueue"] == 0:
            return
        await asyncio.sleep(0.25)
    raise SystemExit("the embedding queue did not drain in time")


async def measure_hovers(root: Path, corpus: list[Function], count: int, hovers: int, real: dict,
                         seed: int = 7) -> HoverFigures:
    ingest = build_store(root, corpus, count, real)
    rng = random.Random(seed)
    started = time.perf_counter()
    client, first_useful = await _start_until_useful(root, corpus[0])
    await _wait_for_embeddings(client)
    embeddings_ready = time.perf_counter() - started
    # hovers on random non-blank lines of files the patterns came from (and their neighbours)
    files = sorted({inside(root, f) for f in corpus[: max(count, 200)]})  # the server reads only its workspace
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
    passes = []
    for _ in ("cold", "warm"):
        latencies, cards = [], 0
        for uri, line, character in targets:
            t0 = time.perf_counter()
            result = await _hover(client, uri, line, character)
            latencies.append((time.perf_counter() - t0) * 1000)
            cards += result is not None
        passes.append((quantiles(latencies), cards / hovers))
        await _settle(client)
    rss = _rss_mb(client._server.pid)  # type: ignore[union-attr]
    await _stop(client)
    client, restart_useful = await _start_until_useful(root, corpus[0])
    await _wait_for_embeddings(client)
    await _settle(client)
    await asyncio.sleep(3)  # the saved memory model loads right after the embeddings (~0.1 s)
    restart_rss = _rss_mb(client._server.pid)  # type: ignore[union-attr]
    await _stop(client)
    return HoverFigures(count, ingest, passes[0][0], passes[1][0], passes[1][1], first_useful, restart_useful,
                        embeddings_ready, rss, restart_rss)


USEFUL_TIMEOUT_S = 120


async def _start_until_useful(root: Path, known: Function) -> tuple[LanguageClient, float]:
    """A started server, and the milliseconds from its spawn to its first useful hover: a stored function's
    own body shows that function's card once the memory is open."""
    started = time.perf_counter()
    client, _ = await _start(root)
    uri = inside(root, known).as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="python", version=1, text=known.text)))
    while await _hover(client, uri, known.start, 8) is None:
        if time.perf_counter() - started > USEFUL_TIMEOUT_S:
            raise SystemExit(f"no card on a stored function's own body ({uri}) after {USEFUL_TIMEOUT_S} s")
        await asyncio.sleep(0.005)
    return client, (time.perf_counter() - started) * 1000


async def run(sizes: tuple[int, ...] = (1_000, 10_000, 100_000), hovers: int = 1_000,
              real_count: int = 5_000) -> tuple[list[HoverFigures], float]:
    corpus = list(functions(min_lines=3, max_lines=80))
    random.Random(1).shuffle(corpus)
    while len(corpus) < max(sizes):  # beyond the standard library's functions, reuse them under new ids
        corpus += corpus[: max(sizes) - len(corpus)]
    texts = [pattern_text(f"{f.path.stem}.{f.name}", "", _snippet(f)) for f in corpus[:real_count]]
    real, rate = real_embeddings(texts)
    with tempfile.TemporaryDirectory(prefix="scms-bench-") as tmp:
        figures = []
        for size in sizes:
            root = Path(tmp) / f"n{size}"
            root.mkdir()
            figures.append(await measure_hovers(root, corpus, size, hovers, real))
    return figures, rate


def _snippet(f: Function) -> str:
    import textwrap

    lines = f.text.splitlines()[f.start - 1:f.end]
    return textwrap.dedent("\n".join(line.rstrip() for line in lines)).strip("\n")
