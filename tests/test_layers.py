"""The layering, read from the source as import-linter would: one door for front ends, SQL only in store/,
core packages that never reach up, and no import cycles between modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import scms

PACKAGE = Path(scms.__file__).parent
FRONT_ENDS = ("scms.lsp", "scms.cli", "scms.terminal", "scms.mcp", "scms.mcp_stdio")
DOOR = ("scms.memory", "scms.model", "scms.config", "scms.errors", "scms")  # `scms` itself: __version__
CORE = ("scms.store", "scms.recall", "scms.learn", "scms.discover", "scms.export", "scms.importing")
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+"
                 r"(TABLE|INDEX|TRIGGER)|PRAGMA\s|BEGIN(\s+IMMEDIATE)?$|COMMIT$|ROLLBACK$)|json_extract", re.S)
RUNS_SQL = {"execute", "executemany", "executescript"}


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def imports(tree: ast.Module, module: str) -> set[str]:
    """The scms modules this module imports anywhere in it (a function's lazy import too), but for names
    imported only for type checking."""
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test) for n in ast.walk(block)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: len(module.split(".")) - node.level + (1 if _is_package(module) else 0)]
                base = ".".join(package + ([node.module] if node.module else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return {n for n in names if n == "scms" or n.startswith("scms.")}


def _is_package(module: str) -> bool:
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _existing(name: str, known: dict[str, ast.Module]) -> str | None:
    """The module an imported name refers to (`scms.lsp.server.server` is the module `scms.lsp.server`)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def test_front_ends_enter_through_the_facade_only():
    known = modules()
    wrong = []
    for module, tree in known.items():
        if not _within(module, FRONT_ENDS):
            continue
        for name in imports(tree, module):
            target = _existing(name, known)
            if target and not _within(target, FRONT_ENDS) and target not in DOOR:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "front ends must import only scms.memory, scms.model, scms.config, scms.errors:\n" + \
        "\n".join(sorted(set(wrong)))


def test_core_packages_never_import_the_facade_or_a_front_end():
    known = modules()
    wrong = [f"{module} imports {target}" for module, tree in known.items() if _within(module, CORE)
             for name in imports(tree, module) if (target := _existing(name, known))
             and (target == "scms.memory" or _within(target, FRONT_ENDS))]
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_only_the_store_runs_sql():
    wrong = []
    for module, tree in modules().items():
        if _within(module, ("scms.store",)):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                wrong.append(f"{module}:{node.lineno}: {node.value.strip()[:60]!r}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNS_SQL:
                wrong.append(f"{module}:{node.lineno}: .{node.func.attr}(…)")
    assert not wrong, "SQL outside scms.store:\n" + "\n".join(wrong)


def test_no_import_cycles_between_modules():
    """Counting lazy imports inside functions too: a cycle hidden in a function is still a cycle."""
    known = modules()
    graph = {module: {t for name in imports(tree, module)
                      if (t := _existing(name, known)) and t != module and not module.startswith(t + ".")}
             for module, tree in known.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checks_see_what_they_look_for():
    """The rules above would catch a breach: each finds one in a made-up module."""
    sample = ast.parse("from scms.store import db\nimport scms.recall.engine\ndef f(c):\n"
                       "    c.execute(\"SELECT id FROM patterns\")\n")
    assert imports(sample, "scms.lsp.sample") >= {"scms.store", "scms.store.db", "scms.recall.engine"}
    assert SQL.search("SELECT id FROM patterns") and SQL.search("json_extract(data, '$.title')")
    assert not SQL.search("select the code to remember first")
