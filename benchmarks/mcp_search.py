"""`search_patterns` through `scms mcp` against `@modelcontextprotocol/server-memory` holding the same patterns:
latency (p50/p95, wall clock per call from an MCP client over stdio) and recall@5 of held-out queries, at 1k and
10k patterns; and SCMS at 10k while its background embedding worker is busy with new candidates.

    .venv/bin/python -m benchmarks mcp     (writes its section of docs/benchmarks.md)

The corpus and the prepared workspaces are in `benchmarks/mcp_corpus.py`. Each configuration gets a fresh
server on a fresh copy of its workspace (so no query's vector is cached from an earlier configuration), then
20 warm-up calls with queries of functions stored nowhere, then every held-out query once as a sentence and
once as one keyword.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from benchmarks.mcp_corpus import CACHE, Corpus, Item, build, template
from scms.text import content_hash, pattern_text

WARMUP = 20
SERVER_MEMORY = CACHE / "server-memory"
SERVER_MEMORY_JS = SERVER_MEMORY / "node_modules" / "@modelcontextprotocol" / "server-memory" / "dist" / "index.js"
BATCH = 500  # entities per create_entities call
ADDING = 8  # add_candidate calls in flight at once in the busy run


@dataclass
class Row:
    system: str
    variant: str  # "sentence" or "keyword"
    patterns: int
    hits: list[bool]
    ms: list[float]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        return sum(self.hits) / len(self.hits) if self.hits else float("nan")

    @property
    def p50_p95(self) -> tuple[float, float]:
        if len(self.ms) < 2:
            return float("nan"), float("nan")
        q = statistics.quantiles(self.ms, n=100)
        return q[49], q[94]


VARIANTS = ("sentence", "keyword")


def _query(target: Item, variant: str) -> str:
    return target.query if variant == "sentence" else target.keyword


def _say(message: str) -> None:
    print(f"[mcp {time.strftime('%H:%M:%S')}] {message}", flush=True)


@asynccontextmanager
async def _client(command: str, args: list[str], log: Path, env: dict[str, str] | None = None
                  ) -> AsyncIterator[Client]:
    """An MCP client of a server started over stdio, its stderr in `log`."""
    with log.open("a") as errlog:
        params = StdioServerParameters(command=command, args=args, env=env)
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=300) as client:
            yield client


async def _timed(call: Callable[[str], Awaitable[list[str]]], queries: list[str],
                 expected: list[str]) -> tuple[list[bool], list[float]]:
    """Each query once: whether the expected answer is in the first five, and the call's wall clock (ms)."""
    hits, ms = [], []
    for query, answer in zip(queries, expected):
        t0 = time.perf_counter()
        found = await call(query)
        ms.append((time.perf_counter() - t0) * 1000)
        hits.append(answer in found[:5])
    return hits, ms


async def _search(client: Client, query: str) -> dict[str, Any]:
    result = await client.call_tool("search_patterns", {"query": query, "k": 5})
    if result.is_error:
        raise SystemExit(f"search_patterns failed: {result.content}")
    return result.structured_content


async def _ready(client: Client, log: Path, lexical: bool, timeout: float = 600) -> float:
    """Seconds until recall is what it should be and (with embeddings) the startup catch-up is done."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        recall = (await _search(client, "wait for the model"))["recall"]
        if lexical and recall == "lexical":
            return time.perf_counter() - started
        if recall == "embeddings" and "embedding recall ready" in log.read_text(errors="replace"):
            await asyncio.sleep(2)  # the memory model loads right after
            return time.perf_counter() - started
        await asyncio.sleep(0.25)
    raise SystemExit(f"scms mcp did not become ready; see {log}")


def _scms_args(root: Path, lexical: bool) -> list[str]:
    return ["-m", "scms", "mcp", "--workspace", str(root)] + (["--lexical"] if lexical else [])


def _fresh(source: Path, tmp: Path, name: str) -> Path:
    root = tmp / name
    shutil.copytree(source, root)
    return root


async def scms_rows(source: Path, ids: dict[str, str], corpus: Corpus, size: int, lexical: bool,
                    tmp: Path) -> list[Row]:
    system = "SCMS `--lexical`" if lexical else "SCMS (embeddings)"
    root = _fresh(source, tmp, f"scms-{size}-{'lexical' if lexical else 'embeddings'}")
    log = tmp / f"{root.name}.log"
    targets = [t for t in corpus.targets if content_hash(t.code) in ids]
    answers = [ids[content_hash(t.code)] for t in targets]
    async with _client(sys.executable, _scms_args(root, lexical), log) as client:
        ready = await _ready(client, log, lexical)
        _say(f"{system} at {size:,}: ready after {ready:.1f} s; timing {2 * len(targets)} searches")

        async def call(query: str) -> list[str]:
            return [p["id"] for p in (await _search(client, query))["patterns"]]

        for item in corpus.spare[:WARMUP]:
            await call(item.query or item.title)
        rows = []
        for variant in VARIANTS:
            queries = [_query(t, variant) for t in targets]
            hits, ms = await _timed(call, queries, answers)
            rows.append(Row(system, variant, len(ids), hits, ms, {"ready_s": ready}))
    return rows


def _embedded(db: Path, keys: list[str]) -> int:
    """How many of these content hashes the store's embedding cache holds (the worker writes each batch)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        marks = ",".join("?" * len(keys))
        return conn.execute(f"SELECT COUNT(*) FROM embeddings WHERE content_hash IN ({marks})", keys).fetchone()[0]


async def busy_rows(source: Path, ids: dict[str, str], corpus: Corpus, size: int, new: int,
                    tmp: Path) -> list[Row]:
    """search_patterns while the server's worker embeds `new` candidates just added through add_candidate:
    only the searches after which some of them were still not embedded count."""
    root = _fresh(source, tmp, f"scms-{size}-busy")
    log, db = tmp / f"{root.name}.log", root / ".scms" / "scms.db"
    targets = [t for t in corpus.targets if content_hash(t.code) in ids]
    answers = [ids[content_hash(t.code)] for t in targets]
    fresh = corpus.spare[WARMUP:WARMUP + new]
    async with _client(sys.executable, _scms_args(root, False), log) as client:
        await _ready(client, log, False)
        for item in corpus.spare[:WARMUP]:
            await _search(client, item.query or item.title)
        keys, add_ms = [], []

        async def add(item: Item) -> None:
            t0 = time.perf_counter()
            result = await client.call_tool("add_candidate", {"title": item.title, "code": item.code,
                                                              "language": "python"})
            add_ms.append((time.perf_counter() - t0) * 1000)
            if not result.is_error:
                keys.append(content_hash(pattern_text(result.structured_content["pattern"]["title"], "", item.code)))

        started = time.perf_counter()
        for i in range(0, len(fresh), ADDING):  # a few at a time, as agents working in parallel would
            await asyncio.gather(*(add(item) for item in fresh[i:i + ADDING]))
        adding_s = time.perf_counter() - started
        left_after_adds = len(keys) - _embedded(db, keys)
        _say(f"busy: added {len(keys)} candidates in {time.perf_counter() - started:.1f} s, "
             f"{left_after_adds} not embedded yet; searching while the worker embeds them")
        left, idle_after = left_after_adds, 0
        rows = [Row("SCMS (embeddings), worker busy", variant, size + len(keys), [], []) for variant in VARIANTS]
        searched_from = time.perf_counter()
        for row in rows:  # every sentence, then keywords while the worker still works
            for target, answer in zip(targets, answers):
                if left == 0 and row.variant != "sentence":
                    break
                t0 = time.perf_counter()
                found = [p["id"] for p in (await _search(client, _query(target, row.variant)))["patterns"]]
                elapsed = (time.perf_counter() - t0) * 1000
                left = len(keys) - _embedded(db, keys)
                row.hits.append(answer in found[:5])
                if left > 0:
                    row.ms.append(elapsed)
                else:
                    idle_after += 1
        searching_s, left_at_end = time.perf_counter() - searched_from, left
        deadline = time.perf_counter() + 300
        while left > 0 and time.perf_counter() < deadline:
            await asyncio.sleep(0.5)
            left = len(keys) - _embedded(db, keys)
        drained_s = time.perf_counter() - started
    busy = sum(len(row.ms) for row in rows)
    _say(f"busy: {busy} searches while the worker was busy; all embedded {drained_s:.1f} s after the first add")
    rows[0].extra = {"added": len(keys), "left_after_adds": left_after_adds, "left_at_end": left_at_end,
                     "idle_after": idle_after, "drained_s": drained_s, "searching_s": searching_s, "busy": busy,
                     "embedded_per_s": (left_after_adds - left_at_end) / searching_s,
                     "add_p50": statistics.median(add_ms), "adding_s": adding_s}
    return rows


def ensure_server_memory() -> Path:
    if not SERVER_MEMORY_JS.exists():
        _say("installing @modelcontextprotocol/server-memory from npm")
        SERVER_MEMORY.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(SERVER_MEMORY),
                        "@modelcontextprotocol/server-memory"], check=True)
    return SERVER_MEMORY_JS


def server_memory_version() -> str:
    import json

    return json.loads((SERVER_MEMORY_JS.parent.parent / "package.json").read_text())["version"]


async def server_memory_rows(corpus: Corpus, size: int, ids: dict[str, str], tmp: Path) -> list[Row]:
    script = ensure_server_memory()
    stored = [item for item in corpus.stored(size) if content_hash(item.code) in ids]
    name = {content_hash(i.code): f"{i.title} [{ids[content_hash(i.code)]}]" for i in stored}
    env = {**os.environ, "MEMORY_FILE_PATH": str(tmp / f"server-memory-{size}.jsonl")}
    targets = [t for t in corpus.targets if content_hash(t.code) in ids]
    answers = [name[content_hash(t.code)] for t in targets]
    async with _client("node", [str(script)], tmp / f"server-memory-{size}.log", env) as client:
        started = time.perf_counter()
        for i in range(0, len(stored), BATCH):
            entities = [{"name": name[content_hash(item.code)], "entityType": "pattern",
                         "observations": [item.title, item.code]} for item in stored[i:i + BATCH]]
            result = await client.call_tool("create_entities", {"entities": entities})
            if result.is_error:
                raise SystemExit(f"create_entities failed: {result.content}")
        loaded = time.perf_counter() - started
        _say(f"server-memory at {size:,}: loaded {len(stored):,} entities in {loaded:.1f} s; "
             f"timing {2 * len(targets)} searches")
        returned: list[int] = []

        async def call(query: str) -> list[str]:
            result = await client.call_tool("search_nodes", {"query": query})
            if result.is_error:
                raise SystemExit(f"search_nodes failed: {result.content}")
            entities = result.structured_content["entities"]
            returned.append(len(entities))
            return [e["name"] for e in entities[:5]]  # in the order it returns them (the file's)

        for item in corpus.spare[:WARMUP]:
            await call(item.query or item.title)
        rows = []
        for variant in VARIANTS:
            returned.clear()
            queries = [_query(t, variant) for t in targets]
            hits, ms = await _timed(call, queries, answers)
            rows.append(Row("server-memory", variant, len(stored), hits, ms,
                            {"load_s": loaded, "returned_median": statistics.median(returned),
                             "returned_none": sum(r == 0 for r in returned) / len(returned)}))
    return rows


async def _run(sizes: tuple[int, ...], new: int) -> dict[str, Any]:
    started, load = time.perf_counter(), os.getloadavg()[0]
    _say(f"reading the corpus (1-minute load average {load:.1f})")
    corpus = build()
    ensure_server_memory()
    rows: list[Row] = []
    templates = {}
    for size in sizes:
        _say(f"preparing the {size:,}-pattern workspace")
        templates[size] = template(corpus, size)
    with tempfile.TemporaryDirectory(prefix="scms-bench-mcp-") as name:
        tmp = Path(name)
        for size in sizes:
            source, ids = templates[size]
            rows += await scms_rows(source, ids, corpus, size, False, tmp)
            rows += await scms_rows(source, ids, corpus, size, True, tmp)
            rows += await server_memory_rows(corpus, size, ids, tmp)
        big = max(sizes)
        busy = await busy_rows(*templates[big], corpus, len(templates[big][1]), new, tmp)
    for row in rows + busy:
        p50, p95 = row.p50_p95
        _say(f"{row.system:32s} {row.variant:22s} {row.patterns:6,d}  recall@5 {row.recall:.3f}  "
             f"p50 {p50:7.1f}  p95 {p95:7.1f} ms  n={len(row.ms)}")
    return {"rows": rows, "busy": busy, "corpus": corpus, "seconds": time.perf_counter() - started, "load": load,
            "server_memory": server_memory_version()}


def run(sizes: tuple[int, ...] = (1_000, 10_000), new: int = 800) -> dict[str, Any]:
    return asyncio.run(_run(sizes, new))


if __name__ == "__main__":
    run()
