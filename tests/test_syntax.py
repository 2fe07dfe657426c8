"""Code context with tree-sitter for each language, broken code, and the fallbacks."""

from __future__ import annotations

import pytest

from conftest import STDLIB, line_of
from scms.recall.syntax import Syntax

CASES = {
    "python": ("class Cache:\n    def get(self, key):\n        hit = self.map.get(key)\n        return hit\n", 2,
               (1, 3, "function_definition")),
    "javascript": ("class Cache {\n  get(key) {\n    const hit = this.map.get(key);\n    return hit;\n  }\n}\n", 2,
                   (1, 4, "method_definition")),
    "typescript": ("export const load = async (id: string): Promise<number> => {\n  const r = await fetch(id);\n"
                   "  return r.status;\n};\n", 1, (0, 3, "arrow_function")),
    "typescriptreact": ("function App() {\n  const [n, setN] = useState(0);\n  return <div>{n}</div>;\n}\n", 2,
                        (0, 3, "function_declaration")),
    "go": ("package main\n\nfunc (s *Server) Retry(n int) error {\n\tfor i := 0; i < n; i++ {\n\t}\n"
           "\treturn nil\n}\n", 3, (2, 6, "method_declaration")),
    "rust": ("impl Cache {\n    fn get(&self, key: &str) -> Option<u32> {\n        self.map.get(key).copied()\n"
             "    }\n}\n", 2, (1, 3, "function_item")),
    "java": ("class Cache {\n  Integer get(String key) {\n    return map.get(key);\n  }\n}\n", 2,
             (1, 3, "method_declaration")),
}


@pytest.mark.parametrize("language", sorted(CASES))
def test_the_innermost_definition_in_each_language(language):
    text, line, (start, end, kind) = CASES[language]
    context = Syntax().context(f"x.{language}", text, line, language)
    assert (context.unit.start, context.unit.end, context.unit.kind) == (start, end, kind)
    assert "ID" in context.shape and context.language == language


def test_the_shape_abstracts_identifiers_and_literals():
    text = "def greet(name):\n    return 'hello ' + name * 2\n"
    context = Syntax().context("g.py", text, 1, "python")
    assert context.shape == "def ID ( ID ) : return STR + ID * NUM"


def test_real_code_from_the_standard_library():
    path = STDLIB / "shutil.py"
    text = path.read_text()
    start = line_of(path, "def copyfileobj(")
    context = Syntax().context(str(path), text, start + 7, "python")
    assert context.unit.start == start and context.unit.text.startswith("def copyfileobj(")


@pytest.mark.parametrize("language", ["python", "javascript", "go"])
def test_broken_code_mid_edit_still_gives_a_context(language):
    broken = {"python": "def f(x:\n    return x +\n\ndef g(y):\n    return y\n",
              "javascript": "function f(x {\n  return x +\n}\nfunction g(y) { return y; }\n",
              "go": "func f(x int {\n\treturn x +\n}\n"}[language]
    context = Syntax().context("b", broken, 1, language)
    assert context is not None and context.unit.start <= 1 <= context.unit.end
    assert "return" in context.unit.text


def test_languages_without_a_grammar_fall_back_to_lines():
    text = "\n".join(f"SELECT {i} FROM t;" for i in range(50))
    context = Syntax().context("q.sql", text, 25, "sql")
    assert (context.unit.start, context.unit.end, context.unit.kind, context.shape) == (20, 39, "window", "")


def test_a_minified_5_mb_one_liner_is_not_parsed():
    text = "var a=" + "1+" * 2_500_000 + "1;"
    syntax = Syntax()
    context = syntax.context("min.js", text, 0, "javascript")
    assert context.unit.kind == "window" and context.shape == ""
    assert syntax.context("min.js", text, 5, "javascript") is None  # outside the text


def test_parsed_documents_are_cached_per_text():
    syntax = Syntax(cache_size=2)
    text = CASES["python"][0]
    syntax.context("a.py", text, 2, "python")
    syntax.context("a.py", text, 1, "python")
    assert len(syntax._trees) == 1
    syntax.context("a.py", text + "\nx = 1\n", 1, "python")
    syntax.context("b.py", text, 1, "python")
    assert len(syntax._trees) == 2
