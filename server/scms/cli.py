"""The `scms` command: the memory's operations from a terminal, as tables or `--json`.

Only the standard library is imported up front: each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys

from scms import __version__

TIERS = ("session", "validated", "archive")
KINDS = ("pattern", "convention", "anti_pattern", "failure")
TARGETS = ("workspace_rules", "cursor", "copilot", "agents", "claude")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    args.json = getattr(args, "json", False)
    args.workspace = getattr(args, "workspace", None)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "serve":
        from scms.lsp.main import serve  # pygls stays off every other command

        return serve(tcp=args.tcp)
    if args.command == "mcp":
        from scms.mcp import main_root, serve as serve_mcp  # the MCP SDK stays off every other command

        root = main_root(args.workspace)
        if not root.is_dir():
            print(f"scms mcp: {root} is not a folder", file=sys.stderr)
            return 2
        return serve_mcp(root, embeddings=not args.lexical)
    from scms.terminal import run

    return run(args)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    common.add_argument("--workspace", metavar="DIR", default=argparse.SUPPRESS,
                        help="the workspace (default: the nearest folder up from here with .scms/ or .git)")
    parser = argparse.ArgumentParser(prog="scms", description="SCMS pattern memory", parents=[common])
    parser.add_argument("--version", action="version", version=f"scms {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    add("status", "counts per tier, store path and schema")
    add("list", "patterns with counts and scores").add_argument("--tier", choices=TIERS)
    add("show", "one pattern in full").add_argument("id")
    p = add("remember", "a new session candidate from FILE:START-END")
    p.add_argument("range", metavar="FILE:START-END")
    p.add_argument("--title")
    p.add_argument("--note", help="why it matters (the pattern's body)")
    p.add_argument("--kind", choices=KINDS, default="pattern")
    p.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    p = add("accept", "one accepted use, optionally in the context FILE:START-END")
    p.add_argument("id")
    p.add_argument("range", nargs="?", metavar="FILE:START-END")
    p = add("reject", "one rejection, optionally in the context FILE:START-END")
    p.add_argument("id")
    p.add_argument("range", nargs="?", metavar="FILE:START-END")
    p.add_argument("--reason")
    add("purge", "remove a pattern remembered by mistake (a secret in it) from the whole store, for good").add_argument(
        "id")
    p = add("update", "edit a pattern's title, note, kind or tags (its file follows)")
    p.add_argument("id")
    p.add_argument("--title")
    p.add_argument("--note", help="the new note (the pattern's body)")
    p.add_argument("--kind", choices=KINDS)
    p.add_argument("--tag", action="append", default=None, help="a tag (repeatable; replaces the tags)")
    for name, text in (("promote", "to the validated tier (writes .scms/patterns/…md)"),
                       ("demote", "back to the session tier"), ("forget", "to the archive (restorable)"),
                       ("restore", "from the archive to the session tier")):
        add(name, text).add_argument("id")
    add("promote-eligible", "promote every candidate with enough accepted uses").add_argument(
        "--promote-threshold", type=_threshold, metavar="N", help="accepted uses needed (default 2)")
    add("decay", "archive candidates whose retention fell below the threshold")
    add("rebuild", "recompute every pattern from the event log")
    add("import", "import the SCMS kit's memories and rules, and rule files people wrote for assistants").add_argument(
        "paths", nargs="+", metavar="PATH", help="a file or a folder (searched for files SCMS can read)")
    add("export", "write the validated patterns as rule files for AI assistants").add_argument(
        "--target", action="append", choices=TARGETS, help="one format (repeatable; default: all five)")
    add("mcp", "run the MCP server for AI agents (stdio) on the workspace").add_argument(
        "--lexical", action="store_true", help="recall by words only: no embedding model (saves ~350 MB)")
    p = add("serve", "run the language server (stdio unless --tcp)")
    p.add_argument("--tcp", metavar="HOST:PORT")
    return parser


def _threshold(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 1000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 1000, got {value!r}")
    return int(value)
