"""Running `scms` commands in a terminal: open the memory, call the facade, print tables, cards or JSON."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from scms.errors import InvalidInput, ScmsError
from scms.memory import Memory
from scms.model import Kind, Pattern, Tier
from scms.store.workspace import find_root

_RANGE = re.compile(r"^(?P<file>.+):(?P<start>\d+)(?:-(?P<end>\d+))?$")


def run(args: argparse.Namespace) -> int:
    try:
        root = Path(args.workspace) if args.workspace else find_root(Path.cwd())
        memory = Memory.open(root)
    except ScmsError as err:
        return _fail(err)
    try:
        for warning in memory.last_sync.warnings:
            print(f"scms: warning: {warning}", file=sys.stderr)
        result = COMMANDS[args.command](memory, args)
    except ScmsError as err:
        return _fail(err)
    finally:
        memory.close()
    _print(result, memory, args.command, as_json=args.json)
    return 0


def _fail(err: ScmsError) -> int:
    print(f"scms: error: {err}", file=sys.stderr)
    return 1


def _parse_range(spec: str) -> tuple[str, int, int]:
    match = _RANGE.match(spec)
    if not match:
        raise InvalidInput(f"{spec!r} is not FILE:START-END (for example src/app.py:10-24)")
    start = int(match["start"])
    return match["file"], start, int(match["end"] or start)


def _status(memory: Memory, args: argparse.Namespace) -> Any:
    return memory.status()


def _list(memory: Memory, args: argparse.Namespace) -> Any:
    return memory.list(Tier(args.tier) if args.tier else None)


def _remember(memory: Memory, args: argparse.Namespace) -> Any:
    code = memory.code_from_file(*_parse_range(args.range))
    return memory.remember(code, title=args.title, note=args.note or "", kind=Kind(args.kind), tags=args.tag)


def _accept(memory: Memory, args: argparse.Namespace) -> Any:
    code = memory.code_from_file(*_parse_range(args.range)) if args.range else None
    return memory.accept(args.id, code)


def _reject(memory: Memory, args: argparse.Namespace) -> Any:
    code = memory.code_from_file(*_parse_range(args.range)) if args.range else None
    return memory.reject(args.id, code, args.reason or "")


def _rebuild(memory: Memory, args: argparse.Namespace) -> Any:
    return {"rebuilt": memory.rebuild()}


COMMANDS = {
    "status": _status,
    "list": _list,
    "show": lambda m, a: m.get(a.id),
    "remember": _remember,
    "accept": _accept,
    "reject": _reject,
    "promote": lambda m, a: m.promote(a.id),
    "promote-eligible": lambda m, a: m.promote_eligible(),
    "demote": lambda m, a: m.demote(a.id),
    "forget": lambda m, a: m.forget(a.id),
    "restore": lambda m, a: m.restore(a.id),
    "decay": lambda m, a: m.decay(),
    "rebuild": _rebuild,
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
    elif isinstance(result, dict) and "tiers" in result:
        print(f"workspace  {result['workspace']}\nstore      {result['store']} (schema {result['schema']})")
        print("tiers      " + ", ".join(f"{k} {v}" for k, v in result["tiers"].items()))
        print(f"events     {result['events']}\npromotion  after {result['promotionThreshold']} accepted uses")
    else:
        print(json.dumps(result))


def _jsonable(result: Any, memory: Memory) -> Any:
    if isinstance(result, Pattern):
        return memory.describe(result)
    if isinstance(result, list):
        return [_jsonable(item, memory) for item in result]
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
        f"rejected {d['rejected_uses']}, score {d['score']:.3f}" + ("  — eligible for promotion" if d["eligible"] else ""),
    ]
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
