"""Discovery: repeated shapes in real code and in made-up files, suggestions and their limits, dismissals that
last (also in a dismissed file edited by hand), and the latest text of a document winning."""

from __future__ import annotations

import threading
from pathlib import Path

from conftest import STDLIB, stdlib_project
from scms.discover.discovery import Discovery
from scms.discover.dismissed import Dismissed
from scms.discover.index import Occurrence, ShapeIndex
from scms.discover.shapes import units
from scms.recall.syntax import Syntax
from scms.text import content_hash

CLOSING = '''def {name}(path):
    """Read and parse {name}."""
    handle = open(path)
    try:
        data = handle.read()
        return parse(data, strict=True)
    finally:
        handle.close()
'''
RETRY = '''def {name}(client, request):
    for attempt in range(5):
        try:
            return client.send(request)
        except TimeoutError:
            time.sleep(2 ** attempt)
    raise RuntimeError("gave up")
'''


def write(root: Path, file: str, text: str) -> Path:
    path = root / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def closing_project(root: Path, places: int = 3) -> Path:
    """`places` functions of the same resource-closing shape, one per file, under other names."""
    for number in range(places):
        write(root, f"pkg/mod{number}.py", "import json\n\n\n" + CLOSING.format(name=f"load_{number}_config"))
    return root


def test_a_shape_repeated_in_the_standard_library_is_suggested_with_every_place_as_evidence(tmp_path):
    root = stdlib_project(tmp_path / "project")
    discovery = Discovery(root)
    summary = discovery.scan_workspace()
    assert summary.mined == 6 and summary.units > 500 and summary.via == "walk"
    candidates = discovery.candidates()
    total_ordering = next(c for c in candidates if c.occurrences[0].file == "src/functools.py"
                          and c.occurrences[0].name.startswith("_"))  # functools' total_ordering helpers
    assert len(total_ordering.occurrences) >= 3
    source = (STDLIB / "functools.py").read_text().split("\n")
    for place in total_ordering.occurrences:
        assert source[place.start_line - 1].startswith("def _")
        lines = source[place.start_line - 1:place.end_line]
        assert place.content_hash == content_hash("\n".join(lines))
    suggestion = discovery.suggestions(root / "src" / "functools.py")[0]
    assert suggestion.occurrences == discovery.occurrences(suggestion.shape_hash)
    assert suggestion.occurrence in suggestion.occurrences


def test_units_have_lines_kinds_and_shapes_without_names_and_trivial_ones_are_left_out():
    text = CLOSING.format(name="load") + "\n\ndef tiny(x):\n    if x:\n        return 1\n    return 2\n"
    found = units(text, "python", Syntax())
    assert [(u.kind, u.start_line, u.end_line, u.name) for u in found] == [
        ("function_definition", 1, 8, "load"), ("try_statement", 4, 8, "load")]
    function, block = found
    assert "load" not in function.shape and "handle" not in function.shape and "STR" not in function.shape
    assert function.calls == ("open", "read", "parse", "close")  # kept for the title, abstracted in the shape
    assert block.shape in function.shape and len(function.shape_hash) == 12
    renamed = units(CLOSING.format(name="other").replace("handle", "stream"), "python", Syntax())
    assert [u.shape_hash for u in renamed] == [u.shape_hash for u in found]  # names do not matter


def test_units_in_the_other_languages():
    syntax = Syntax()
    cases = {
        "javascript": ("function load(path) {\n  const h = open(path);\n  try {\n    const d = h.read(1, 2);\n"
                       "    return parse(d, true);\n  } finally {\n    h.close();\n  }\n}\n", "try_statement"),
        "go": ("package p\n\nfunc Load(path string) error {\n\tfor i := 0; i < 5; i++ {\n"
               "\t\terr := send(path, i)\n\t\tif err == nil {\n\t\t\treturn nil\n\t\t}\n"
               "\t\ttime.Sleep(time.Second)\n\t}\n\treturn errors.New(\"x\")\n}\n", "for_statement"),
        "rust": ("fn load(path: &str) -> u32 {\n    let mut n = 0;\n    for line in read(path).lines() {\n"
                 "        if line.is_empty() {\n            continue;\n        }\n        n += parse(line, 10);\n"
                 "    }\n    n\n}\n", "for_expression"),
        "java": ("class A {\n  int load(String path) {\n    try (var r = open(path)) {\n      int n = r.read(1);\n"
                 "      return parse(n, 2);\n    } catch (IOException e) {\n      throw new RuntimeException(e);\n"
                 "    }\n  }\n}\n", "try_with_resources_statement"),
        "typescript": ("export const load = async (path: string): Promise<number> => {\n  while (true) {\n"
                       "    const r = await fetch(path, { retry: 1 });\n    if (r.ok) { return r.status; }\n"
                       "    await sleep(100);\n  }\n};\n", "while_statement"),
    }
    for language, (text, inner) in cases.items():
        kinds = [u.kind for u in units(text, language, syntax)]
        assert inner in kinds, (language, kinds)
        assert units(text, language, syntax)[0].name in ("load", "Load"), language


def test_made_up_repeats_are_suggested_and_the_inner_block_of_a_repeated_function_is_not(tmp_path):
    root = closing_project(tmp_path / "ws")
    write(root, "pkg/other.py", "def unrelated(a, b):\n    return a + b\n")
    discovery = Discovery(root)
    discovery.scan_workspace()
    [candidate] = discovery.candidates()  # the try block is inside the function at all three places
    assert candidate.occurrences[0].kind == "function_definition"
    assert [o.file for o in candidate.occurrences] == ["pkg/mod0.py", "pkg/mod1.py", "pkg/mod2.py"]
    assert "`open`" in candidate.title and "`close`" in candidate.title and "config" in candidate.title
    [suggestion] = discovery.suggestions("pkg/mod1.py")
    assert (suggestion.occurrence.file, suggestion.occurrence.start_line) == ("pkg/mod1.py", 4)
    assert discovery.suggestions("pkg/other.py") == []


def test_two_places_are_not_enough_by_default(tmp_path):
    discovery = Discovery(closing_project(tmp_path / "ws", places=2))
    discovery.scan_workspace()
    assert discovery.candidates() == []
    assert Discovery(tmp_path / "ws", min_occurrences=2).scan_workspace().mined == 2


def test_a_dismissed_shape_is_never_suggested_again_even_after_a_rescan_and_a_restart(tmp_path):
    root = closing_project(tmp_path / "ws")
    discovery = Discovery(root)
    discovery.scan_workspace()
    [candidate] = discovery.candidates()
    assert discovery.dismiss(candidate.shape_hash) is True
    assert discovery.dismiss(candidate.shape_hash) is False
    assert discovery.suggestions("pkg/mod0.py") == [] and discovery.candidates() == []
    discovery.scan_workspace()
    write(root, "pkg/mod9.py", CLOSING.format(name="yet_another"))
    discovery.document_changed("pkg/mod9.py", CLOSING.format(name="yet_another"))
    assert discovery.candidates() == []
    restarted = Discovery(root)
    restarted.scan_workspace()
    assert restarted.candidates() == [] and restarted.suggestions(root / "pkg" / "mod9.py") == []
    saved = (root / ".scms" / "discovery" / "dismissed.txt").read_text()
    assert f"{candidate.shape_hash}  # {candidate.title}" in saved
    assert restarted.occurrences(candidate.shape_hash)  # the evidence is still there for "Save as pattern"


def test_a_hand_edited_dismissed_file_is_read_tolerantly_and_kept(tmp_path, caplog):
    root = closing_project(tmp_path / "ws")
    discovery = Discovery(root)
    discovery.scan_workspace()
    [candidate] = discovery.candidates()
    path = root / ".scms" / "discovery" / "dismissed.txt"
    path.parent.mkdir(parents=True)
    hand = (f"# my notes\r\n\r\n{candidate.shape_hash.upper()}   # too common here   \r\nnot a hash at all\r\n"
            "abc123\r\n\xff\xfe")
    path.write_bytes(hand.encode("latin-1"))
    assert discovery.candidates() == []  # the upper-case hash counts, the junk is skipped
    assert any("dismissed.txt:4: not a shape hash" in w for w in discovery.dismissed.warnings)
    assert any(":5:" in w for w in discovery.dismissed.warnings) and "dismissed.txt:4" in caplog.text
    discovery.dismiss("0123456789ab", "another")
    written = path.read_bytes()
    assert written.startswith(b"# my notes\n\n" + candidate.shape_hash.encode() + b"   # too common here\n"
                              b"not a hash at all\nabc123\n\xff\xfe\n0123456789ab  # another\n")
    path.write_text("", encoding="utf-8")  # emptied by hand: the shape is suggested again
    assert [c.shape_hash for c in discovery.candidates()] == [candidate.shape_hash]
    path.unlink()
    assert Dismissed(path).shapes() == {}


def test_a_dismissal_that_cannot_be_written_lasts_for_the_session(tmp_path):
    root = closing_project(tmp_path / "ws")
    (root / ".scms").write_text("not a folder")  # .scms/discovery cannot be created
    discovery = Discovery(root)
    discovery.scan_workspace()
    [candidate] = discovery.candidates()
    assert discovery.dismiss(candidate.shape_hash)
    assert discovery.candidates() == []


def test_re_analysing_a_document_replaces_its_places_and_the_latest_text_wins(tmp_path):
    root = closing_project(tmp_path / "ws")
    discovery = Discovery(root)
    discovery.scan_workspace()
    [candidate] = discovery.candidates()
    same = (root / "pkg" / "mod2.py").read_text(encoding="utf-8")
    assert discovery.document_changed(root / "pkg" / "mod2.py", same) == {"pkg/mod2.py"}  # nothing moved elsewhere
    changed = discovery.document_changed(root / "pkg" / "mod2.py", "def gone():\n    return 1\n")
    assert changed == {"pkg/mod0.py", "pkg/mod1.py", "pkg/mod2.py"}  # the other places lose their hint
    assert discovery.candidates() == [] and discovery.index.in_file("pkg/mod2.py") == []
    discovery.scan_workspace()  # the disk still has the old text; the editor's wins
    assert discovery.candidates() == []
    discovery.document_changed("pkg/mod2.py", CLOSING.format(name="back"))
    assert [c.shape_hash for c in discovery.candidates()] == [candidate.shape_hash]
    discovery.document_closed("pkg/mod2.py")
    (root / "pkg" / "mod2.py").write_text("x = 1\n")
    discovery.scan_workspace()  # closed: the disk is the truth again
    assert discovery.candidates() == []


def test_an_older_analysis_finishing_late_is_dropped():
    index = ShapeIndex()
    older, newer = index.ticket(), index.ticket()
    unit = units(CLOSING.format(name="a"), "python", Syntax())[0]
    assert index.replace("a.py", [Occurrence.of("a.py", unit, "python")], newer, editor=True)
    assert not index.replace("a.py", [], older, editor=True)
    assert not index.replace("a.py", [], index.ticket(), editor=False)  # disk never replaces the editor's
    assert len(index.in_file("a.py")) == 1


def test_a_document_changing_faster_than_analysis_leaves_no_backlog(tmp_path):
    root = closing_project(tmp_path / "ws")
    discovery = Discovery(root)
    discovery.scan_workspace()
    started, release, analysed = threading.Event(), threading.Event(), []
    real = discovery._analyse

    def slow(relative, text):
        analysed.append(text)
        started.set()
        release.wait(5)
        return real(relative, text)

    discovery._analyse = slow
    first = threading.Thread(target=discovery.document_changed, args=("pkg/mod0.py", "v = 1\n"))
    first.start()
    assert started.wait(5)
    for version in range(2, 20):  # while the first analysis runs: each newer text replaces the last
        assert discovery.document_changed("pkg/mod0.py", f"v = {version}\n") == set()
    discovery.document_changed("pkg/mod0.py", CLOSING.format(name="latest"))
    release.set()
    first.join(5)
    assert analysed == ["v = 1\n", CLOSING.format(name="latest")]
    assert len(discovery.candidates()[0].occurrences) == 3


def test_suggestions_are_rate_limited_per_file_and_across_the_workspace(tmp_path):
    root = tmp_path / "ws"
    shapes = [CLOSING, RETRY] + [RETRY.replace("range(5)", "range(5, " + "1 + " * n + "1)") for n in range(1, 5)]
    for copy in range(3):
        write(root, f"m{copy}.py", "\n\n".join(s.format(name=f"f{n}_{copy}") for n, s in enumerate(shapes)))
    assert len(Discovery(root, max_hints=10).scan_workspace().skipped) == 0
    discovery = Discovery(root, max_hints=2, max_shapes=4)
    discovery.scan_workspace()
    assert len(discovery.candidates()) == 4
    hints = discovery.suggestions("m1.py")
    assert len(hints) == 2 and hints == sorted(hints, key=lambda h: h.occurrence.start_line)
    assert Discovery(root, max_hints=0).suggestions("m1.py") == []


def test_a_shape_repeated_inside_one_file_shows_one_hint_there(tmp_path):
    root = tmp_path / "ws"
    write(root, "one.py", "\n\n".join(RETRY.format(name=f"send_{n}") for n in range(4)))
    discovery = Discovery(root)
    discovery.scan_workspace()
    [suggestion] = discovery.suggestions("one.py")
    assert len(suggestion.occurrences) == 4 and suggestion.files == 1
    assert suggestion.title == "`range` … `send` … `RuntimeError` function (send)"


def test_documents_outside_the_workspace_or_in_other_languages_are_not_mined(tmp_path):
    root = closing_project(tmp_path / "ws")
    discovery = Discovery(root)
    assert discovery.document_changed(tmp_path / "elsewhere.py", CLOSING.format(name="x")) == set()
    assert discovery.document_changed("../elsewhere.py", CLOSING.format(name="x")) == set()
    discovery.document_changed("notes.md", CLOSING.format(name="x"))
    assert discovery.index.in_file("notes.md") == []
    assert discovery.suggestions(tmp_path / "elsewhere.py") == []
