"""The idiom benchmark's data: code units of real projects installed from PyPI (into the venv) and npm (into
build/bench-cache/npm/), none of them the standard library the other benchmarks are tuned on, grouped into
idiom clusters.

A unit is a function, method or compound statement as `scms.discover.shapes.units` finds it with tree-sitter.
Units of one project share an idiom when they have the same syntax-tree shape with names, strings and
numbers abstracted (a *shape* cluster), or call the same distinctive functions in the same order, at least two
of them, a name that more than 5 % of the project's units call not counting (a *calls* cluster). Members are
distinct: no two overlap, none holds another of its group, no two are near copies (sharing ≥ 80 % of their
identifiers). Each cluster of at least three members gives one member remembered as the pattern, one or two
held out (the queries) and the rest accepted. Distractors are other units of the same projects that share no
idiom with a chosen cluster and overlap none of its members, half of them from the files the patterns and
queries are in. Clusters are dealt into phases (a fixed order) round robin per project; the projects are split
into those on which every weight and rate is chosen (`tune`) and those reported (`held-out`), never by function.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import random
import re
import shutil
import subprocess
from collections import Counter
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path

from scms.discover.shapes import units as units_of
from scms.recall.syntax import MAX_LINE_CHARS, Syntax

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "bench-cache"
NPM = CACHE / "npm"
SITE = Path(sysconfig.get_paths()["purelib"])
PHASES = 5
MIN_CALLS = 2  # distinctive called names a calls cluster shares, in order
COMMON_CALLS = 0.05  # a name called by more of the project's units (len, isinstance, push…) is no API of an idiom
MAX_MEMBERS = 6  # members used per cluster: 1 pattern, 1-2 held out, the rest accepted
MAX_CLUSTERS = 120  # per project
DISTRACTORS = 110  # per project
NEAR = 0.5  # share of them from the files the patterns and queries are in (code that shares their vocabulary)
SEED = 15
COPY = 0.8  # identifier Jaccard at which two members count as copies of each other
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
SKIP_DIRS = {"tests", "test", "testing", "__tests__", "vendor", "_vendor", "locales", "node_modules", "examples"}


@dataclass(frozen=True)
class Project:
    name: str
    ecosystem: str  # pypi | npm
    split: str  # tune | held-out
    version: str  # npm: the version installed; pypi: read from the venv
    sources: tuple[str, ...] = ()  # npm: folders inside the package holding its readable code
    skip: tuple[str, ...] = ()  # file names left out (bundles, duplicates)

    @property
    def language(self) -> str:
        return "Python" if self.ecosystem == "pypi" else "TypeScript" if self.name in TYPESCRIPT else "JavaScript"


TYPESCRIPT = {"rxjs", "zod", "effect"}
# The split is by project, each side with Python, TypeScript and JavaScript projects; three and eslint were swapped,
# and webpack and effect added, before any weight was chosen, so that each side has about as many clusters.
PROJECTS = (
    Project("rich", "pypi", "tune", ""),
    Project("networkx", "pypi", "tune", ""),
    Project("pydantic", "pypi", "tune", ""),
    Project("rxjs", "npm", "tune", "7.8.2", ("src",)),
    Project("three", "npm", "tune", "0.187.0", ("src",)),
    Project("webpack", "npm", "tune", "5.107.1", ("lib",)),
    Project("jinja2", "pypi", "held-out", ""),
    Project("hypothesis", "pypi", "held-out", ""),
    Project("sympy", "pypi", "held-out", ""),
    Project("zod", "npm", "held-out", "4.6.7", ("src/v4",)),
    Project("effect", "npm", "held-out", "3.19.0", ("src",)),
    Project("eslint", "npm", "held-out", "10.15.0", ("lib",)),
)


@dataclass(frozen=True)
class Unit:
    project: str
    file: str  # relative to the workspace: site-packages/… or node_modules/…
    start: int  # 1-based, inclusive
    end: int
    kind: str
    shape: str  # shape hash
    calls: tuple[str, ...]
    name: str
    digest: str  # content hash of its lines (duplicates dropped)


@dataclass
class Cluster:
    project: str
    split: str
    idiom: str  # shape | calls
    key: str
    phase: int
    pattern: Unit
    accepted: list[Unit]
    held_out: list[Unit]


@dataclass
class Corpus:
    clusters: list[Cluster]
    distractors: list[Unit]
    versions: dict[str, str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # per project: files, units, clusters


def install_npm() -> None:
    """The npm projects at their versions, under build/bench-cache/npm/ (once; npm is asked only when one is
    missing or at another version)."""
    wanted = [p for p in PROJECTS if p.ecosystem == "npm" and _npm_version(p.name) != p.version]
    if wanted:
        NPM.mkdir(parents=True, exist_ok=True)
        print(f"  npm install {' '.join(f'{p.name}@{p.version}' for p in wanted)}")
        subprocess.run(["npm", "install", "--prefix", str(NPM), "--ignore-scripts", "--no-audit", "--no-fund",
                        "--no-save", *[f"{p.name}@{p.version}" for p in PROJECTS if p.ecosystem == "npm"]],
                       check=True, capture_output=True)


def _npm_version(name: str) -> str:
    try:
        return json.loads((NPM / "node_modules" / name / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return ""


def version(project: Project) -> str:
    if project.ecosystem == "npm":
        return _npm_version(project.name)
    return importlib.metadata.version(project.name)


def copy_sources(root: Path, units: list[Unit]) -> None:
    """Copy the units' files into a benchmark workspace: the store takes code only from inside it (a link out
    of it is refused)."""
    tops = {"site-packages": SITE, "node_modules": NPM / "node_modules"}
    for file in sorted({u.file for u in units}):
        top, rest = file.split("/", 1)
        target = root / file
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tops[top] / rest, target)


def read(root: Path, unit: Unit) -> str:
    return (root / unit.file).read_text(encoding="utf-8")


def _files(project: Project) -> list[tuple[Path, str, str]]:
    """(path, workspace-relative name, language) of the project's source files."""
    if project.ecosystem == "pypi":
        spec = importlib.util.find_spec(project.name)
        bases = [(Path(p), "site-packages", SITE, False) for p in (spec.submodule_search_locations or [])]
        patterns = {"*.py": "python"}
    else:
        package = NPM / "node_modules" / project.name
        bases = [(package / s, "node_modules", NPM / "node_modules", s == ".") for s in project.sources]
        patterns = {"*.ts": "typescript", "*.js": "javascript", "*.mjs": "javascript"}
    found = []
    for base, prefix, top, flat in bases:
        for pattern, language in patterns.items():
            for path in sorted(base.glob(pattern) if flat else base.rglob(pattern)):
                parts = path.relative_to(base).parts[:-1]
                if SKIP_DIRS & set(parts) or path.name in project.skip or path.name.endswith((".d.ts", ".min.js")):
                    continue
                if ".test." in path.name or ".spec." in path.name:
                    continue
                found.append((path, f"{prefix}/{path.relative_to(top).as_posix()}", language))
    return found


def mine(project: Project, syntax: Syntax) -> tuple[list[Unit], int]:
    """Every unit of the project (duplicates by content dropped), cached by project and version."""
    path = CACHE / "idioms" / f"units-{project.name}-{version(project)}.json"
    if path.exists():
        data = json.loads(path.read_text())
        return [Unit(**{**u, "calls": tuple(u["calls"])}) for u in data["units"]], data["files"]
    found, seen, files = [], set(), 0
    for file, name, language in _files(project):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if any(len(line) > MAX_LINE_CHARS for line in text.splitlines()):
            continue  # minified
        files += 1
        for u in units_of(text, language, syntax):
            if u.content_hash not in seen:
                seen.add(u.content_hash)
                found.append(Unit(project.name, name, u.start_line, u.end_line, u.kind, u.shape_hash, u.calls,
                                  u.name, u.content_hash))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"files": files, "units": [asdict(u) for u in found]}))
    return found, files


class _Names:
    """Identifiers of units, read from the installed files (each file read once)."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}
        self._names: dict[Unit, set[str]] = {}

    def of(self, unit: Unit) -> set[str]:
        if unit not in self._names:
            if unit.file not in self._lines:
                top, rest = unit.file.split("/", 1)
                base = SITE if top == "site-packages" else NPM / "node_modules"
                self._lines[unit.file] = (base / rest).read_text(encoding="utf-8").split("\n")
            code = "\n".join(self._lines[unit.file][unit.start - 1:unit.end])
            self._names[unit] = {w for w in _IDENT.findall(code) if len(w) >= 2}
        return self._names[unit]


def _keys(unit: Unit, common: set[str]) -> list[str]:
    keys = [f"shape:{unit.shape}"]
    apis = [name for name in unit.calls if name not in common]
    if len(apis) >= MIN_CALLS:
        keys.append("calls:" + ",".join(apis))
    return keys


def _overlaps(unit: Unit, spans: dict[str, list[tuple[int, int]]]) -> bool:
    return any(unit.start <= e and s <= unit.end for s, e in spans.get(unit.file, ()))


def _copy(a: set[str], b: set[str]) -> bool:
    """Near copies (most identifiers shared): finding one from the other is not recalling an idiom."""
    return len(a & b) >= COPY * max(1, len(a | b))


def clusters_of(project: Project, units: list[Unit], rng: random.Random,
                names=lambda unit: set()) -> tuple[list[Cluster], list[Unit]]:
    """`names(unit)`: the unit's identifiers (members that are near copies of each other are not both used)."""
    called = Counter(name for unit in units for name in set(unit.calls))
    common = {name for name, n in called.items() if n > COMMON_CALLS * len(units)}
    groups: dict[str, list[Unit]] = {}
    for unit in units:
        for key in _keys(unit, common):
            groups.setdefault(key, []).append(unit)
    for key, members in groups.items():  # a unit holding another of its group (a function and its loop): the inner
        groups[key] = [u for u in members if not any(o is not u and o.file == u.file and u.start <= o.start
                                                       and o.end <= u.end for o in members)]
    candidates = sorted(key for key, members in groups.items() if len(members) >= 3)
    rng.shuffle(candidates)
    spans: dict[str, list[tuple[int, int]]] = {}
    chosen: list[Cluster] = []
    for key in candidates:
        if len(chosen) >= MAX_CLUSTERS:
            break
        members: list[Unit] = []
        for unit in rng.sample(groups[key], len(groups[key])):
            if not _overlaps(unit, spans) and not any(
                    unit.file == m.file and unit.start <= m.end and m.start <= unit.end or _copy(names(unit), names(m))
                    for m in members):
                members.append(unit)
            if len(members) == MAX_MEMBERS:
                break
        if len(members) < 3:
            continue
        for unit in members:
            spans.setdefault(unit.file, []).append((unit.start, unit.end))
        held = 1 if len(members) <= 4 else 2
        chosen.append(Cluster(project.name, project.split, key.split(":", 1)[0], key, 0, members[0],
                              members[1 + held:], members[1:1 + held]))
    used = {c.key for c in chosen}
    free = [u for u in units if not used & set(_keys(u, common)) and not _overlaps(u, spans)]
    near = [u for u in free if u.file in {m.file for c in chosen for m in (c.pattern, *c.held_out)}]
    distractors: list[Unit] = []
    for pool, wanted in ((near, int(NEAR * DISTRACTORS)), (free, DISTRACTORS)):
        for unit in rng.sample(pool, len(pool)):
            if len(distractors) >= wanted:
                break
            if not _overlaps(unit, spans):
                distractors.append(unit)
                spans.setdefault(unit.file, []).append((unit.start, unit.end))
    for i, cluster in enumerate(chosen):
        cluster.phase = i % PHASES
    return chosen, distractors


def build(log=print) -> Corpus:
    install_npm()
    syntax = Syntax()
    clusters, distractors, versions, counts = [], [], {}, {}
    for project in PROJECTS:
        units, files = mine(project, syntax)
        found, others = clusters_of(project, units, random.Random(f"{SEED}:{project.name}"), _Names().of)
        versions[project.name] = version(project)
        counts[project.name] = {"files": files, "units": len(units), "clusters": len(found),
                                "queries": sum(len(c.held_out) for c in found),
                                "accepts": sum(len(c.accepted) for c in found), "distractors": len(others)}
        clusters += found
        distractors += others
        log(f"  {project.name} {versions[project.name]}: {files} files, {len(units):,} units, {len(found)} clusters, "
            f"{len(others)} distractors")
    return Corpus(clusters, distractors, versions, counts)


def digest(corpus: Corpus) -> str:
    """A short hash of what the store will hold and in which order."""
    items = [[u.file, u.start, u.end] for c in corpus.clusters for u in [c.pattern, *c.accepted, *c.held_out]]
    items += [[u.file, u.start, u.end] for u in corpus.distractors]
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:12]
