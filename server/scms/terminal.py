"""Running `scms` commands in a terminal: open the memory, call the facade, print tables, cards or JSON."""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scms.config import Settings
from scms.errors import InvalidInput, NotFound, ScmsError
from scms.memory import CodeRange, Memory, find_root, read_code
from scms.model import Kind, Pattern, Tier

_RANGE = re.compile(r"^(?P<file>.+):(?P<start>\d+)(?:-(?P<end>\d+))?$")


ABOUT_A_PATTERN = {"show", "accept", "reject", "promote", "demote", "forget", "restore", "update", "purge"}


def run(args: argparse.Namespace) -> int:
    """Check what can be checked before the store is opened (a fresh folder gets no `.scms/` for a failing
    command), then run the command; every failure is one line on stderr."""
    memory = None
    try:
        root = (Path(args.workspace) if args.workspace else find_root(Path.cwd())).resolve()
        if not root.is_dir():
            raise NotFound(f"workspace {root} does not exist or is not a folder")
        code = _code(root, args.range) if getattr(args, "range", None) else None
        if args.command in ABOUT_A_PATTERN and not (root / ".scms").is_dir():
            raise NotFound(f"no pattern with id {args.id!r}")
        threshold = getattr(args, "promote_threshold", None)
        memory = Memory.open(root, Settings(promotion_threshold=threshold) if threshold else None)
        for warning in memory.problems:
            print(f"scms: warning: {warning}", file=sys.stderr)
        result = COMMANDS[args.command](memory, args, code)
        _print(result, memory, args.command, as_json=args.json)
    except Exception as err:
        print(f"scms: error: {_describe(err)}", file=sys.stderr)
        return 1
    finally:
        if memory is not None:
            memory.close()
    return 0


def _describe(err: Exception) -> str:
    if isinstance(err, ScmsError):
        return str(err)
    if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
        return f"the store is busy ({err}): another SCMS is writing to it; try again"
    if isinstance(err, sqlite3.Error):
        return f"the store failed: {err}"
    if isinstance(err, OSError):
        return f"{err.filename}: {err.strerror}" if err.filename and err.strerror else str(err)
    return f"unexpected {type(err).__name__}: {err}"


def _code(root: Path, spec: str) -> CodeRange:
    match = _RANGE.match(spec)
    if not match:
        raise InvalidInput(f"{spec!r} is not FILE:START-END (for example src/app.py:10-24)")
    start = int(match["start"])
    return read_code(root, match["file"], start, int(match["end"] or start))


def _list(memory: Memory, args: argparse.Namespace, code: None) -> Any:
    return memory.list(Tier(args.tier) if args.tier else None)


def _accept(memory: Memory, pattern_id: str, code: CodeRange | None) -> Any:
    if not memory.counts_as_use(pattern_id, code):
        print("scms: this code is already evidence of the pattern: not counted as a new use", file=sys.stderr)
    return memory.accept(pattern_id, code)


def _purged(result: dict[str, Any]) -> Any:
    if not result["storeRewritten"]:
        print("scms: warning: another SCMS process still reads an old snapshot of the store; its old pages leave "
              "the write-ahead log when that process next writes or closes", file=sys.stderr)
    return result["pattern"]


def _remember(memory: Memory, args: argparse.Namespace, code: CodeRange) -> Any:
    return memory.remember(code, title=args.title, note=args.note or "", kind=Kind(args.kind), tags=args.tag)


COMMANDS: dict[str, Callable[[Memory, argparse.Namespace, CodeRange | None], Any]] = {
    "status": lambda m, a, c: m.status(),
    "list": _list,
    "show": lambda m, a, c: m.get(a.id),
    "remember": _remember,
    "accept": lambda m, a, c: _accept(m, a.id, c),
    "update": lambda m, a, c: m.update(a.id, title=a.title, note=a.note, kind=Kind(a.kind) if a.kind else None,
                                       tags=a.tag),
    "reject": lambda m, a, c: m.reject(a.id, c, a.reason or ""),
    "promote": lambda m, a, c: m.promote(a.id),
    "promote-eligible": lambda m, a, c: m.promote_eligible(),
    "demote": lambda m, a, c: m.demote(a.id),
    "forget": lambda m, a, c: m.forget(a.id),
    "restore": lambda m, a, c: m.restore(a.id),
    "purge": lambda m, a, c: _purged(m.purge(a.id)),
    "decay": lambda m, a, c: m.decay(),
    "rebuild": lambda m, a, c: {"rebuilt": m.rebuild()},
    "export": lambda m, a, c: m.export(a.target),
    "import": lambda m, a, c: m.import_paths([Path(p).resolve() for p in a.paths]),
}


def _print(result: Any, memory: Memory, command: str, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_jsonable(result, memory), indent=2))
    elif isinstance(result, Pattern) and command in ("show", "remember"):
        print(_details(memory.describe(result)))
    elif isinstance(result, Pattern):
        print(_summary(memory.describe(result)))
    elif isinstance(result, list):
        print(_table([memory.describe(p) for p in result]))
    elif command == "export":
        print(_exported(result))
    elif command == "import":
        print(_imported(result, memory))
    elif isinstance(result, dict) and "tiers" in result:
        print(f"workspace  {result['workspace']}\nstore      {result['store']} (schema {result['schema']})")
        print("tiers      " + ", ".join(f"{k} {v}" for k, v in result["tiers"].items()))
        print(f"events     {result['events']}\npromotion  after {result['promotionThreshold']} accepted uses")
    else:
        print(json.dumps(result))


def _exported(report: dict[str, Any]) -> str:
    lines = [f"{verb:9s}  {path}" for verb in ("written", "changed", "removed") for path in report[verb]]
    lines += [f"skipped    {item['path']}: {item['reason']}" for item in report["skipped"]]
    lines.append(f"{len(report['unchanged'])} file(s) already up to date")
    return "\n".join(lines)


def _imported(report: dict[str, Any], memory: Memory) -> str:
    lines = [f"imported  {p.id}  {p.tier.value:9s}  {p.title[:60]}" for p in report["imported"]]
    lines += [f"skipped   {item['path']}" + (f" ({item['title']})" if item.get("title") else "") + f": {item['reason']}"
              for item in report["skipped"]]
    return "\n".join(lines) or "nothing to import"


def _jsonable(result: Any, memory: Memory) -> Any:
    if isinstance(result, Pattern):
        return memory.describe(result)
    if isinstance(result, list):
        return [_jsonable(item, memory) for item in result]
    if isinstance(result, dict):
        return {key: _jsonable(value, memory) for key, value in result.items()}
    return result


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no patterns)"
    header = ("ID", "TIER", "STATUS", "USES", "REJ", "SCORE", "TITLE")
    lines = [header] + [
        (r["id"], r["tier"], r["status"], str(r["accepted_uses"]), str(r["rejected_uses"]), f"{r['score']:.3f}",
         r["title"][:60]) for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)) + "  " + line[-1] for line in lines)


def _summary(d: dict[str, Any]) -> str:
    note = "; eligible for promotion" if d["eligible"] else ""
    return (f"{d['id']}  {d['title'][:60]}: {d['tier']} ({d['status']}), accepted {d['accepted_uses']}, "
            f"rejected {d['rejected_uses']}, score {d['score']:.3f}{note}")


def _details(d: dict[str, Any]) -> str:
    lines = [
        f"{d['title']}  [{d['id']}]",
        f"tier {d['tier']} ({d['status']}), kind {d['kind']}, accepted {d['accepted_uses']}, "
        f"rejected {d['rejected_uses']}" + ("  — eligible for promotion" if d["eligible"] else ""),
        _factors(d["retention"]),
    ]
    if d.get("proposed_by"):
        lines.append(f"proposed by {d['proposed_by']} (an AI agent, through scms mcp)")
    if d["languages"] or d["tags"]:
        lines.append("languages " + ", ".join(d["languages"] or ["-"]) + "; tags " + ", ".join(d["tags"] or ["-"]))
    for e in d["evidence"][:5]:
        lines.append(f"seen at {e['file']}:{e['start_line']}-{e['end_line']}" + (f" @ {e['commit'][:10]}" if e.get("commit") else ""))
    if len(d["evidence"]) > 5:
        lines.append(f"… and {len(d['evidence']) - 5} more places")
    if d["body"]:
        lines += ["", d["body"]]
    lines += ["", d["snippet"]]
    return "\n".join(lines)


def _factors(r: dict[str, Any]) -> str:
    return (f"score {r['score']:.3f} = base {r['base']:g} × surprise {r['surprise']:g} × confidence "
            f"{r['confidence']:.2f} × decay {r['decay_rate']:g}^{r['days']:.1f} days")
