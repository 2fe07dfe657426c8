"""The units of one document that discovery compares: functions and methods, and the compound statements
inside them (loops, conditionals, try, with, switch/match…), each with its normalized shape.

A shape is the unit's token sequence as tree-sitter sees it, with identifiers, strings and numbers
abstracted as `scms.recall.syntax.shape` does them (`ID`, `STR`, `NUM`), comments and Python docstrings
left out. The names of called functions are abstracted too (they are kept in `Unit.calls`, for titles):
keeping them in the shape (`keep_calls=True`) lowered precision on the benchmark's tuning project
(`python -m benchmarks.discovery --tune`), since an idiom's places usually call different things
(`IPv4Address(v)` here, `IPv6Address(v)` there). One walk of the tree emits the tokens of the whole
document; each unit's shape is a slice of it, so nested units cost nothing more.

Trivial units are left out: fewer than `min_tokens` tokens or `min_lines` lines holding code, counted in a
function's body only (a signature is not an idiom). So are huge ones (more than `max_lines` lines), the inner
`if` of an `else if` chain (it is part of its outer `if`) and a unit nested in an occurrence of its own shape.
"""

from __future__ import annotations

import hashlib
import textwrap
import threading
from dataclasses import dataclass

from scms.recall.syntax import GRAMMARS, IDENTIFIERS, MAX_PARSE_BYTES, NUMBERS, STRINGS, Syntax
from scms.text import content_hash

MIN_TOKENS = 20  # tokens of the body (a function) or of the statement; tuned by the benchmark
MIN_LINES = 4  # lines holding code (docstrings and comments do not count)
MAX_LINES = 200
MAX_CALLS = 12  # called names kept per unit (for titles)

_JS_FUNCTIONS = {"function_declaration", "function_expression", "arrow_function", "method_definition",
                 "generator_function_declaration", "generator_function", "function"}
_JS_COMPOUNDS = {"for_statement", "for_in_statement", "while_statement", "do_statement", "if_statement",
                 "try_statement", "switch_statement"}
FUNCTIONS = {
    "python": {"function_definition"},
    "javascript": _JS_FUNCTIONS, "javascriptreact": _JS_FUNCTIONS,
    "typescript": _JS_FUNCTIONS, "typescriptreact": _JS_FUNCTIONS,
    "go": {"function_declaration", "method_declaration", "func_literal"},
    "rust": {"function_item"},
    "java": {"method_declaration", "constructor_declaration"},
}
COMPOUNDS = {
    "python": {"for_statement", "while_statement", "if_statement", "try_statement", "with_statement",
               "match_statement"},
    "javascript": _JS_COMPOUNDS, "javascriptreact": _JS_COMPOUNDS,
    "typescript": _JS_COMPOUNDS, "typescriptreact": _JS_COMPOUNDS,
    "go": {"for_statement", "if_statement", "expression_switch_statement", "type_switch_statement",
           "select_statement"},
    "rust": {"for_expression", "while_expression", "loop_expression", "if_expression", "match_expression"},
    "java": {"for_statement", "enhanced_for_statement", "while_statement", "do_statement", "if_statement",
             "try_statement", "try_with_resources_statement", "switch_expression", "synchronized_statement"},
}
FAMILY = {"javascriptreact": "javascript", "typescriptreact": "typescript"}  # one shape space per grammar family
# A call node type -> the field holding what is called; the callee's own name is then found by `_callee_name`.
CALLS = {"call": "function", "call_expression": "function", "new_expression": "constructor",
         "method_invocation": "name", "object_creation_expression": "type", "macro_invocation": "macro"}
_MEMBER_NAME = {"attribute": "attribute", "member_expression": "property", "selector_expression": "field",
                "field_expression": "field", "scoped_identifier": "name", "generic_function": "function",
                "generic_type": "name"}
_ELSE = {"else_clause", "elif_clause"}
_NAMES = IDENTIFIERS | {"type_identifier"}
_PARSING = threading.Lock()  # a tree-sitter parser is not safe to share between threads (scan and edits)


@dataclass(frozen=True)
class Unit:
    """One function, method or compound statement of a document."""

    start_line: int  # 1-based, inclusive
    end_line: int
    kind: str  # the tree-sitter node type: function_definition, for_statement, try_statement…
    shape: str  # the normalized token sequence
    shape_hash: str  # 12 hex digits of sha1(language family + shape)
    content_hash: str  # scms.text.content_hash of the unit's lines, dedented as the store's evidence is
    tokens: int  # in the body of a function, in the whole of a compound statement
    name: str  # the function's own name, or the enclosing function's for a compound statement ("" if none)
    calls: tuple[str, ...]  # names of the functions and methods it calls, in order of first call


def shape_hash(language: str, shape: str) -> str:
    family = FAMILY.get(language, language)
    return hashlib.sha1(f"{family}\n{shape}".encode("utf-8")).hexdigest()[:12]


def lines_hash(lines: list[str]) -> str:
    """The content hash the store gives these lines as evidence (`store.source.code_of_lines`)."""
    return content_hash(textwrap.dedent("\n".join(line.rstrip() for line in lines)).strip("\n"))


def supported(language: str | None) -> bool:
    return language in GRAMMARS and language in FUNCTIONS


def units(text: str, language: str | None, syntax: Syntax, *, min_tokens: int = MIN_TOKENS,
          min_lines: int = MIN_LINES, max_lines: int = MAX_LINES, keep_calls: bool = False) -> list[Unit]:
    """The document's units in order of their start (outer before inner), trivial ones left out; [] for a
    language tree-sitter does not parse here or text too large to parse."""
    if not supported(language) or not text.strip():
        return []
    parser = syntax.parser(language)
    data = text.encode("utf-8")
    if parser is None or len(data) > MAX_PARSE_BYTES:
        return []
    with _PARSING:
        tree = parser.parse(data)  # type: ignore[attr-defined]
    walk = _Walk(data, language, keep_calls)  # type: ignore[arg-type]
    walk.run(tree.root_node)
    lines = [line.rstrip("\r") for line in text.split("\n")]  # tree-sitter's rows: "\n" alone ends a line
    found: list[Unit] = []
    for node, first, last, name, calls in walk.spans:
        start, end = node.start_point[0], node.end_point[0]
        if node.end_point[1] == 0 and end > start:
            end -= 1
        if end - start + 1 > max_lines:
            continue
        body = walk.bodies.get(node.id, first)  # a function is measured by its body: signatures are not idioms
        if last - body < min_tokens or len(set(walk.rows[body:last])) < min_lines:
            continue
        shape = " ".join(walk.tokens[first:last])
        found.append(Unit(start_line=start + 1, end_line=end + 1, kind=node.type, shape=shape,
                          shape_hash=shape_hash(language, shape),  # type: ignore[arg-type]
                          content_hash=lines_hash(lines[start:end + 1]), tokens=last - body, name=name,
                          calls=calls))
    return _without_self_nesting(found)


def _without_self_nesting(found: list[Unit]) -> list[Unit]:
    """Drop a unit lying inside another unit of the same shape (and a second unit on the same lines)."""
    kept: list[Unit] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    places: set[tuple[int, int]] = set()
    for unit in sorted(found, key=lambda u: (u.start_line, -u.end_line)):
        if (unit.start_line, unit.end_line) in places:
            continue
        if any(s <= unit.start_line and unit.end_line <= e for s, e in spans.get(unit.shape_hash, ())):
            continue
        places.add((unit.start_line, unit.end_line))
        spans.setdefault(unit.shape_hash, []).append((unit.start_line, unit.end_line))
        kept.append(unit)
    return kept


class _Walk:
    """One depth-first walk of a tree: every token of the document, and each unit's slice of them."""

    def __init__(self, data: bytes, language: str, keep_calls: bool) -> None:
        self.data = data
        self.functions = FUNCTIONS[language]
        self.compounds = COMPOUNDS[language]
        self.python = language == "python"
        self.keep_calls = keep_calls
        self.tokens: list[str] = []
        self.rows: list[int] = []  # the row of each token
        self.bodies: dict[int, int] = {}  # node id of a function -> index of its body's first token
        self._body_of: dict[int, int] = {}  # node id of a function's body -> the function's node id
        self.spans: list[tuple[object, int, int, str, tuple[str, ...]]] = []
        self._callees: dict[int, str] = {}  # node id of a callee's name -> that name
        self._calls: list[list[str]] = []  # called names, one list per open unit

    def run(self, root: object) -> None:
        # Each stack entry is a node to visit, or a closing marker (unit node, first token, name) to record.
        stack: list[tuple[object, int, str, bool]] = [(root, 0, "", False)]
        names: list[str] = [""]  # the enclosing function's name, innermost last
        while stack:
            node, first, name, closing = stack.pop()
            if closing:
                calls = self._calls.pop()
                self.spans.append((node, first, len(self.tokens), name, tuple(dict.fromkeys(calls))[:MAX_CALLS]))
                if node.type in self.functions:  # type: ignore[attr-defined]
                    names.pop()
                continue
            kind = node.type  # type: ignore[attr-defined]
            if kind == "comment" or kind.endswith("_comment"):
                continue
            function = self._body_of.pop(node.id, None)  # type: ignore[attr-defined]
            if function is not None:
                self.bodies[function] = len(self.tokens)
            if kind in STRINGS:
                self._emit("STR", node)
                continue
            if kind in NUMBERS:
                self._emit("NUM", node)
                continue
            if kind in _NAMES or node.child_count == 0:  # type: ignore[attr-defined]
                called = self._callees.pop(node.id, None)  # type: ignore[attr-defined]
                if called is not None:
                    for calls in self._calls:
                        calls.append(called)
                if kind in _NAMES:
                    self._emit(called if called is not None and self.keep_calls else "ID", node)
                else:
                    self._emit(kind, node)
                continue
            if kind in CALLS:
                self._mark_callee(node)
            unit = kind in self.functions or (kind in self.compounds and len(names) > 1 and not self._else_if(node))
            if unit:
                if kind in self.functions:
                    names.append(self._function_name(node))
                    body = node.child_by_field_name("body")  # type: ignore[attr-defined]
                    if body is not None:
                        self._body_of[body.id] = node.id  # type: ignore[attr-defined]
                self._calls.append([])
                stack.append((node, len(self.tokens), names[-1], True))
            children = node.children  # type: ignore[attr-defined]
            if self.python and kind == "block" and children and self._docstring(node):
                children = children[1:]
            stack.extend((child, 0, "", False) for child in reversed(children))

    def _emit(self, token: str, node: object) -> None:
        self.tokens.append(token)
        self.rows.append(node.start_point[0])  # type: ignore[attr-defined]

    def _else_if(self, node: object) -> bool:
        parent = node.parent  # type: ignore[attr-defined]
        return parent is not None and (parent.type in _ELSE or parent.type == node.type)  # type: ignore

    def _docstring(self, block: object) -> bool:
        parent = block.parent  # type: ignore[attr-defined]
        if parent is None or parent.type not in ("function_definition", "class_definition"):
            return False
        first = block.children[0]  # type: ignore[attr-defined]
        return first.type == "expression_statement" and first.child_count == 1 and first.children[0].type == "string"

    def _mark_callee(self, call: object) -> None:
        target = call.child_by_field_name(CALLS[call.type])  # type: ignore[attr-defined]
        for _ in range(4):
            if target is None or target.type in _NAMES:
                break
            field = _MEMBER_NAME.get(target.type)
            target = target.child_by_field_name(field) if field else None
        if target is not None and target.type in _NAMES:
            self._callees[target.id] = self.data[target.start_byte:target.end_byte].decode("utf-8", "replace")

    def _function_name(self, node: object) -> str:
        named = node.child_by_field_name("name")  # type: ignore[attr-defined]
        if named is None:  # `const load = () => …`, `x.y = function () …`: the name it is bound to
            parent = node.parent  # type: ignore[attr-defined]
            if parent is not None:
                named = parent.child_by_field_name("name") or parent.child_by_field_name("left")
                if named is not None and named.type not in _NAMES:
                    named = named.child_by_field_name("property") or named.child_by_field_name("field")
        if named is None:
            return ""
        return self.data[named.start_byte:named.end_byte].decode("utf-8", "replace")
