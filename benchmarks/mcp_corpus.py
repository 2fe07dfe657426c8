"""The MCP search benchmark's data: functions of packages installed from PyPI (not the standard library, on
which the other benchmarks are tuned), as patterns without their docstrings, and each held-out query the first
sentence of a docstring (what an agent says it is about to do). Also the prepared SCMS workspaces, built once
under build/bench-cache/ and keyed by the corpus's hash."""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import random
import re
import shutil
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scms.config import Settings
from scms.errors import ScmsError
from scms.memory import Memory
from scms.text import content_hash, pattern_text, subwords

PACKAGES = ("pydantic", "rich", "jinja2", "click", "anyio", "httpx2", "httpcore2", "requests", "urllib3",
            "networkx", "huggingface_hub", "pygments", "pyparsing", "markdown_it", "attr", "typer", "jsonschema",
            "hypothesis", "starlette", "uvicorn", "yaml")
SKIP_DIRS = {"tests", "test", "testing", "_vendor", "vendor"}
CACHE = Path(__file__).resolve().parent.parent / "build" / "bench-cache"
AGENT = "benchmark"
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NOT_A_TASK = re.compile(r"(Parameters|Params|Args|Arguments|Returns?|Raises|Yields|Notes?|Examples?|Usage|See|"
                         r"Deprecated|Warning|TODO|Internal|Alias|Same as|Equivalent to)\b", re.I)


@dataclass(frozen=True)
class Item:
    package: str
    where: str  # module:line
    title: str  # the function's name in words
    code: str  # the function without its docstring
    query: str  # the docstring's first sentence ("" when it has none fit to be a query)

    @property
    def keyword(self) -> str:
        """The query's longest word (the first of the longest)."""
        return max(_WORD.findall(self.query), key=len, default="")


@dataclass
class Corpus:
    targets: list[Item]  # their queries are held out: stored nowhere
    distractors: list[Item]  # fill the stores up to their size, in this order
    spare: list[Item]  # stored in no store: warm-up queries and the busy run's new candidates
    functions: int  # functions of 3-80 lines found, before dropping duplicates
    versions: dict[str, str]

    def stored(self, size: int) -> list[Item]:
        """The patterns of a store of `size`: the targets and the first distractors, shuffled together."""
        items = self.targets + self.distractors[:size - len(self.targets)]
        random.Random(size).shuffle(items)
        return items


def first_sentence(docstring: str) -> str:
    paragraph = " ".join(docstring.strip().split("\n\n")[0].split())
    match = re.match(r"(.+?[.!?])(\s|$)", paragraph)
    sentence = (match.group(1) if match else paragraph).rstrip(".")
    words = sentence.split()
    if not 4 <= len(words) <= 40 or any(mark in sentence for mark in (">>>", "```", "::")) or sentence[0] in ":.-=" \
            or _NOT_A_TASK.match(sentence):
        return ""
    return sentence


def _title(name: str) -> str:
    return " ".join(subwords(name)) or name


def _items(package: str) -> list[Item]:
    spec = importlib.util.find_spec(package)
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if SKIP_DIRS & set(path.relative_to(root).parts[:-1]):
                continue
            try:
                text = path.read_text(encoding="utf-8")
                tree = ast.parse(text)
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            lines = text.splitlines()
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
                    item = _item(package, f"{path.relative_to(root.parent).as_posix()}:{node.lineno}", node, lines)
                    if item is not None:
                        found.append(item)
    return found


def _item(package: str, where: str, node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> Item | None:
    if not 3 <= node.end_lineno - node.lineno + 1 <= 80:  # type: ignore[operator]
        return None
    docstring = ast.get_docstring(node)
    keep = list(range(node.lineno - 1, node.end_lineno))  # type: ignore[arg-type]
    if docstring is not None:
        doc = node.body[0]
        if doc.lineno == node.lineno:  # a one-line function with its docstring on the def line
            return None
        keep = [i for i in keep if not doc.lineno - 1 <= i < doc.end_lineno]  # type: ignore[operator]
    code = textwrap.dedent("\n".join(lines[i].rstrip() for i in keep)).strip("\n")
    if len([line for line in code.splitlines() if line.strip()]) < 2:
        return None
    return Item(package, where, _title(node.name), code, first_sentence(docstring) if docstring else "")


def build(targets: int = 300, seed: int = 11) -> Corpus:
    """Targets spread evenly over the packages (round robin), distractors the other functions, all deduplicated
    by code; a target's query is unique among all the docstrings, so that exactly one pattern answers it."""
    rng = random.Random(seed)
    by_package, seen, total = {}, set(), 0
    for package in PACKAGES:
        items = _items(package)
        total += len(items)
        unique = []
        for item in items:
            if content_hash(item.code) not in seen:
                seen.add(content_hash(item.code))
                unique.append(item)
        rng.shuffle(unique)
        by_package[package] = unique
    counts: dict[str, int] = {}
    for items in by_package.values():
        for item in items:
            counts[item.query.lower()] = counts.get(item.query.lower(), 0) + 1
    candidates = {p: [i for i in items if i.query and counts[i.query.lower()] == 1 and i.keyword]
                  for p, items in by_package.items()}
    chosen: list[Item] = []
    while len(chosen) < targets and any(candidates.values()):
        for package in PACKAGES:
            if candidates[package] and len(chosen) < targets:
                chosen.append(candidates[package].pop())
    picked = {id(item) for item in chosen}
    rest = [item for items in by_package.values() for item in items if id(item) not in picked]
    rng.shuffle(rest)
    versions = {}
    for package in PACKAGES:
        names = importlib.metadata.packages_distributions().get(package, [package])
        versions[names[0]] = importlib.metadata.version(names[0])
    return Corpus(chosen, rest[:-1000], rest[-1000:], total, versions)


def template(corpus: Corpus, size: int) -> tuple[Path, dict[str, str]]:
    """A workspace holding the `size` patterns with their embeddings and a saved vector index, built once and
    kept under build/bench-cache/; and a map from each target's code hash to its pattern id."""
    items = corpus.stored(size)
    digest = hashlib.sha256(json.dumps([[i.title, i.code] for i in items]).encode()).hexdigest()[:12]
    root = CACHE / f"mcp-{size}-{digest}"
    manifest = root / "ids.json"
    if manifest.exists():
        return root, json.loads(manifest.read_text())
    for stale in CACHE.glob(f"mcp-{size}-*"):
        shutil.rmtree(stale)
    root.mkdir(parents=True)
    started = time.perf_counter()
    ids, refused = {}, 0
    memory = Memory.open(root, Settings.model_validate({"recall": {"embeddings": False}}))
    try:
        texts = []
        for item in items:
            try:
                pattern = memory.propose(AGENT, title=item.title, code=item.code, languages=["python"])
            except ScmsError:  # e.g. code the secret scanner flags
                refused += 1
                continue
            ids[content_hash(item.code)] = pattern.id
            texts.append(pattern_text(pattern.title, pattern.body, pattern.snippet))
        print(f"  stored {len(ids):,} patterns in {time.perf_counter() - started:.0f} s ({refused} refused)")
        from benchmarks.lsp_latency import MODEL, real_embeddings  # the shared cache of real vectors

        vectors, rate = real_embeddings(texts)
        if rate == rate:
            print(f"  embedded the missing texts at {rate:.0f} texts/s")
        with memory._ws.db.write() as conn:
            conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                             [(content_hash(t), MODEL, np.asarray(vectors[content_hash(t)], dtype=np.float32).tobytes()) for t in texts])
    finally:
        memory.close()
    memory = Memory.open(root, Settings.model_validate({"recall": {"torch_threads": 2}}))
    try:  # builds and saves the vector index (and a memory model) from the cached vectors
        memory.start_model()
        memory.wait_idle()
    finally:
        memory.close()
    manifest.write_text(json.dumps(ids))
    print(f"  prepared {root.name} in {time.perf_counter() - started:.0f} s")
    return root, ids
