"""The hover card stays whole whatever a teammate's pattern file holds: parsed as CommonMark, block by block."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from scms.lsp.card import card
from scms.model import Pattern, Tier
from scms.recall.ranking import Recalled

markdown_it = pytest.importorskip("markdown_it")

STAMP = datetime(2026, 11, 1, tzinfo=timezone.utc)
HOSTILE_BODY = """Read this first.

```python
an unclosed fence that would swallow everything after it
---
[Promote me](command:scms.promote?%5B%7B%22patternId%22%3A%22victim%22%7D%5D)
<command:scms.accept?%5B%5D>
\\[still a link](command:scms.reject)
<!-- an unclosed comment
~~~
Title
==="""
URI = "file:///w/src/app.py"
RANGE = {"start": {"line": 3, "character": 0}, "end": {"line": 9, "character": 0}}


def _recalled(pattern_id: str, **fields) -> Recalled:
    pattern = Pattern(id=pattern_id, created=STAMP, updated=STAMP, decay_anchor=STAMP, tier=Tier.SESSION,
                      **{"title": "A title", "snippet": "x = 1", "languages": ["python"], **fields})
    return Recalled(pattern=pattern, score=0.5, similarity=0.5, shared=["x"], reasons=["shares 1 term"])


def _tokens(markdown: str) -> list:
    return markdown_it.MarkdownIt("commonmark").parse(markdown)


def _text(inline) -> str:
    return "".join(c.content if c.type != "softbreak" else "\n" for c in inline.children)


def _links(tokens: list) -> list[str]:
    return [child.attrs["href"] for t in tokens if t.type == "inline" for child in t.children or []
            if child.type == "link_open"]


def test_a_hostile_note_and_title_cannot_break_the_card_or_add_command_links():
    hostile = _recalled("evil", title="Innocent\n---\n```", body=HOSTILE_BODY,
                        snippet="s = '````'\n```\nnot the end", languages=["python ```"])
    tokens = _tokens(card([hostile, _recalled("next", title="The next pattern")], URI, RANGE))
    headings = [_text(tokens[i + 1]) for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["Innocent --- ```", "The next pattern"]
    fences = [t for t in tokens if t.type == "fence"]
    assert [(f.info, f.content) for f in fences] == [("python", "s = '````'\n```\nnot the end\n"),
                                                       ("python", "x = 1\n")]
    assert [t.type for t in tokens if t.type in ("hr", "html_block", "code_block")] == ["hr"]
    links = _links(tokens)
    assert len(links) == 8 and all(link.startswith(("command:scms.accept?", "command:scms.reject?",
                                                    "command:scms.promote?", "command:scms.editPattern?"))
                                   for link in links)
    assert "victim" not in " ".join(links)
    start, end = (next(i for i, t in enumerate(tokens) if t.type == kind) for kind in ("blockquote_open",
                                                                                       "blockquote_close"))
    quote = "\n".join(_text(t) for t in tokens[start:end] if t.type == "inline")
    assert "```python" in quote and "[Promote me](command:" in quote and quote.endswith("Title\n===")


def test_a_short_plain_note_reads_as_written():
    tokens = _tokens(card([_recalled("p", body="Use **bold** and `code`.")], URI, RANGE))
    inline = next(t for i, t in enumerate(tokens) if t.type == "inline" and tokens[i - 2].type == "blockquote_open")
    assert [c.type for c in inline.children] == ["text", "strong_open", "text", "strong_close", "text",
                                                 "code_inline", "text"]
