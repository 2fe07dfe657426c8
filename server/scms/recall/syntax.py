"""Code context with tree-sitter: the enclosing function, method or class at a position, and its shape.

Grammars come from the per-language wheels (tree-sitter-python, -javascript, -typescript, -go, -rust,
-java); they are imported on first use. Files in other languages, huge or minified files, and code the
grammar cannot place fall back to the indentation heuristic in `context.py`.
"""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from scms.recall.context import MAX_UNIT_LINES, Unit, enclosing_unit
from scms.text import lines_of

GRAMMARS = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "javascriptreact": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
}
_JS_UNITS = {"function_declaration", "function_expression", "arrow_function", "method_definition",
             "generator_function_declaration", "class_declaration", "function"}
UNITS = {
    "python": {"function_definition", "class_definition"},
    "javascript": _JS_UNITS, "javascriptreact": _JS_UNITS,
    "typescript": _JS_UNITS | {"interface_declaration", "abstract_class_declaration"},
    "typescriptreact": _JS_UNITS | {"interface_declaration", "abstract_class_declaration"},
    "go": {"function_declaration", "method_declaration", "func_literal", "type_declaration"},
    "rust": {"function_item", "impl_item", "trait_item", "struct_item", "enum_item", "mod_item"},
    "java": {"method_declaration", "constructor_declaration", "class_declaration", "interface_declaration",
             "enum_declaration", "record_declaration"},
}
IDENTIFIERS = {"identifier", "property_identifier", "field_identifier", "type_identifier",
               "shorthand_property_identifier", "shorthand_property_identifier_pattern", "package_identifier"}
STRINGS = {"string", "string_literal", "template_string", "raw_string_literal", "interpreted_string_literal",
           "char_literal", "character_literal", "string_fragment", "text_block"}
NUMBERS = {"integer", "float", "number", "integer_literal", "float_literal", "int_literal",
           "decimal_integer_literal", "decimal_floating_point_literal", "hex_integer_literal"}
MAX_PARSE_BYTES = 1_000_000
MAX_LINE_CHARS = 5_000  # minified code: no parse, a window of lines instead
MAX_SHAPE_TOKENS = 400


@dataclass(frozen=True)
class Context:
    unit: Unit
    node: object | None  # the tree-sitter node, when the unit was found by parsing
    language: str | None

    @property
    def shape(self) -> str:
        """Computed on demand: a hover never needs it."""
        return shape(self.node) if self.node is not None else ""


class Syntax:
    """Parsers per language and a small cache of parsed documents (a hover parses a file once per version)."""

    def __init__(self, cache_size: int = 64) -> None:
        self._parsers: dict[str, object | None] = {}
        self._trees: OrderedDict[tuple[str, int, int], object | None] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def parser(self, language: str | None) -> object | None:
        if language not in GRAMMARS:
            return None
        if language not in self._parsers:
            try:
                import tree_sitter

                module, function = GRAMMARS[language]
                grammar = tree_sitter.Language(getattr(importlib.import_module(module), function)())
                self._parsers[language] = tree_sitter.Parser(grammar)
            except (ImportError, AttributeError, ValueError):
                self._parsers[language] = None  # the wheel is missing or too old: indentation fallback
        return self._parsers[language]

    def context(self, key: str, text: str, line: int, language: str | None) -> Context | None:
        """The unit around a 0-based line, with its shape; None when the line is outside the text."""
        lines = lines_of(text)
        if not 0 <= line < len(lines):
            return None
        tree = self._tree(key, text, language, lines)
        if tree is not None:
            node = _unit_node(tree.root_node, line, UNITS[language])  # type: ignore[index, attr-defined]
            if node is not None:
                start, end = node.start_point[0], node.end_point[0]
                if node.end_point[1] == 0 and end > start:
                    end -= 1
                unit = Unit(start, end, "\n".join(lines[start:end + 1]), node.type)
                return Context(unit, node, language)
        unit = enclosing_unit(lines, line)
        return Context(unit, None, language) if unit else None

    def _tree(self, key: str, text: str, language: str | None, lines: list[str]) -> object | None:
        """The parsed document, cached by path and text (None, cached too, for text not worth parsing)."""
        parser = self.parser(language)
        if parser is None:
            return None
        cache_key = (key, len(text), hash(text))
        with self._lock:
            if cache_key in self._trees:
                self._trees.move_to_end(cache_key)
                return self._trees[cache_key]
            parseable = len(text) <= MAX_PARSE_BYTES and all(len(row) <= MAX_LINE_CHARS for row in lines)
            tree = parser.parse(text.encode("utf-8")) if parseable else None  # type: ignore[attr-defined]
            self._trees[cache_key] = tree
            while len(self._trees) > self._cache_size:
                self._trees.popitem(last=False)
            return tree


def _unit_node(root: object, line: int, types: set[str]) -> object | None:
    """The innermost unit node spanning `line` and at most MAX_UNIT_LINES long."""
    best = None
    node = root
    while node is not None:
        if node.type in types and node.end_point[0] - node.start_point[0] < MAX_UNIT_LINES:  # type: ignore
            best = node
        child = next((c for c in node.children if c.start_point[0] <= line <= c.end_point[0]), None)  # type: ignore
        node = child
    return best


def shape(node: object) -> str:
    """The unit's token sequence with identifiers, strings and numbers abstracted: `def ID ( ID ) : return ID`."""
    tokens: list[str] = []
    stack = [node]
    while stack and len(tokens) < MAX_SHAPE_TOKENS:
        current = stack.pop()
        kind = current.type  # type: ignore[attr-defined]
        if kind in STRINGS:
            tokens.append("STR")
        elif kind in NUMBERS:
            tokens.append("NUM")
        elif kind in IDENTIFIERS:
            tokens.append("ID")
        elif kind == "comment":
            continue
        elif current.child_count == 0:  # type: ignore[attr-defined]
            tokens.append(kind)
        else:
            stack.extend(reversed(current.children))  # type: ignore[attr-defined]
    return " ".join(tokens)
