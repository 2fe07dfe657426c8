"""`python -m benchmarks [lsp] [quality] [learning] [busy] [mcp] [discovery] [idioms] [visible]`: run the benchmarks and write their figures into docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio

from benchmarks import (continual, continual_report, hover_busy, learning_fused, lsp_latency, mcp_search, plots,
                        recall_quality)
from benchmarks.report import machine, quantiles, write_section
from scms.learn.learner import Rule
from scms.learn.memory_layer import Shape


def lsp(sizes: tuple[int, ...], hovers: int, real_count: int) -> None:
    figures, rate = asyncio.run(lsp_latency.run(sizes, hovers, real_count))
    rows = "\n".join(
        f"| {f.patterns:,} | {f.ingest_per_s:,.0f} | {f.cold[0]:.2f} / {f.cold[1]:.2f} / {f.cold[2]:.2f} | "
        f"{f.warm[0]:.2f} / {f.warm[1]:.2f} / {f.warm[2]:.2f} | {f.with_card:.0%} | {f.first_useful_hover_ms:,.0f} / {f.restart_useful_hover_ms:,.0f} | "
        f"{f.embeddings_ready_s:,.1f} | {f.rss_mb:,.0f} / {f.restart_rss_mb:,.0f} |"
        for f in figures
    )
    plot = plots.latency(figures)
    rate_text = (f"computed in this run at {rate:.0f} texts/s with 2 threads" if rate == rate
                 else "cached from an earlier run of this benchmark")
    markdown = f"""## Language server: first useful hover, hovers, memory

Machine: {machine()}. Measured through real LSP round trips: a pygls client spawns `python -m scms serve`
over stdio with default settings (embedding recall on, torch at 1 thread). Patterns are functions of the
standard library (3–80 lines), remembered one by one through the store; past the ~10k such functions the
store repeats them under new ids. {real_count:,} of them have real all-MiniLM-L6-v2 embeddings ({rate_text});
the others reuse one of those with a little noise, so faiss holds as many vectors as there are patterns. Hovers land on random non-blank lines of 40 files the patterns came from, after a
20-hover warm-up: a **cold** pass (a unit's first hover: lexical recall, the unit queued for embedding) and,
once the queue is empty, a **warm** pass over the same positions (fused recall: faiss lookup + lexical).

The **first useful hover** is what a user waits for after the server starts: milliseconds from spawning
the process until a hover on a stored function's own body shows its card (pygls answers `initialize`
itself; nothing else is answered early).

| patterns | store ingest (patterns/s) | cold hover p50 / p95 / p99 (ms) | warm hover p50 / p95 / p99 (ms) | warm hovers with a card | first useful hover, first start / restart (ms after spawn) | embeddings ready (s after spawn) | server RSS, first start / restart (MB) |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}

![hover latency by store size]({plot})

Goals on this 2-core machine: hover p95 ≤ 10 ms at 10k and ≤ 15 ms at 100k; first useful hover ≤ 1.5 s;
RSS ≤ 700 MB at 100k; ingest ≥ 200 patterns/s.
"""
    path = write_section("lsp", markdown)
    print(markdown)
    print(f"written to {path}")


def quality(targets: int, distractors: int) -> None:
    r = recall_quality.run(targets, distractors)
    rows = "\n".join(f"| {mode} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['mrr']:.3f} |"
                     for mode, m in r["results"].items())
    tuning = ", ".join(f"{w}: {mrr:.3f}" for w, mrr in r["tuning"].items())
    plot = plots.quality(r["results"])
    markdown = f"""## Recall quality: lexical, embeddings, fused

Machine: {machine()}. {r['targets']} standard-library functions that are defined once and called from at least
two other functions are the patterns to find; their callers (up to 3 each) are the contexts, so no context is
a pattern's own evidence. {r['patterns'] - r['targets']:,} other functions are stored as distractors
({r['patterns']:,} patterns in all). Each context is recalled against the whole store (rank of the right
pattern in the top 10). The fused weight of the embedding cosine was chosen on a dev half of the patterns
({r['dev_queries']} contexts; MRR by weight: {tuning}) and is reported on the other half
({r['test_queries']} contexts) with weight **{r['weight']}**.

| recall | recall@1 | recall@5 | MRR |
| --- | ---: | ---: | ---: |
{rows}

![recall quality]({plot})

({r['seconds']:.0f} s, most of it embedding {r['patterns']:,} patterns and the contexts on the CPU.)
"""
    path = write_section("quality", markdown)
    print(markdown)
    print(f"written to {path}")


def learning(patterns: int) -> None:
    r = continual_report.run(patterns)
    speed = continual_report.service_latency()
    rows, extras, stream = r["rows"], r["extras"], r["stream"]
    table = "\n".join(
        f"| {row.name} | {row.setting or '–'} | {row.test.early_after:.3f} → {row.test.early_end:.3f} | "
        f"{_ratio(row.test.early_end, row.test.early_after)} | {_percent(row.test.lift_kept)} | "
        f"{row.test.acquisition:.3f} | {row.test.final:.3f} | {extras[row.name]['fixed']:.0%} | "
        f"{extras[row.name]['broken']:.0%} | {extras[row.name]['low_r1']:.3f} | {_p95(row.run.seconds)} |"
        for row in rows)
    by_name = {row.name: row.test for row in rows}
    shipped, dense, alone = (by_name["exemplars + sparse model"], by_name["dense finetuning alone"],
                             by_name["sparse TF-IDF alone"])
    forgetting = {name: f.early_after - f.early_end for name, f in by_name.items()}
    plot = plots.continual(rows, rows[0].run.checkpoints, rows[0].run.checkpoints[0])
    early_at = rows[0].run.checkpoints[0]
    goals = "\n".join(f"| {goal} | {value} | {'met' if met else '**not met**'} |" for goal, value, met in (
        ("sparse keeps ≥ 98 % of its early-pattern recall@1", _ratio(alone.early_end, alone.early_after),
         alone.early_end >= 0.98 * alone.early_after),
        ("sparse forgetting ≤ 0.2 × dense finetuning's",
         f"{forgetting['sparse TF-IDF alone']:.3f} vs {forgetting['dense finetuning alone']:.3f}",
         forgetting["sparse TF-IDF alone"] <= 0.2 * max(forgetting["dense finetuning alone"], 0)),
        ("sparse acquisition ≥ 90 % of dense finetuning's", f"{alone.acquisition:.3f} vs {dense.acquisition:.3f}",
         alone.acquisition >= 0.9 * dense.acquisition),
        ("shipped combination fixes ≥ 30 % of the misses of no learning",
         f"{extras['exemplars + sparse model']['fixed']:.0%}", extras["exemplars + sparse model"]["fixed"] >= 0.3),
        ("beats embeddings-only where the context's text does not resemble the pattern",
         f"{extras['exemplars + sparse model']['low_r1']:.3f} vs {extras['embeddings only']['low_r1']:.3f}",
         extras["exemplars + sparse model"]["low_r1"] > extras["embeddings only"]["low_r1"]),
        ("exemplars + sparse model beats exemplars alone (final recall@1)",
         f"{shipped.final:.3f} vs {by_name['exemplars only'].final:.3f}", shipped.final > by_name["exemplars only"].final),
    ))
    markdown = f"""## Continual learning: the memory-layer model against exemplars, dense finetuning and LoRA

Machine: {machine()}. A stream of {len(stream.events):,} validations over {len(stream.held_out)} patterns: each
pattern is a standard-library function defined once and called from at least three others; all but one of
its callers (up to 4) are accepted in order, pattern after pattern, and the last caller is held out. The store
also holds {len(stream.patterns) - len(stream.held_out):,} distractor functions; every held-out context is
ranked against all {len(stream.patterns):,} patterns by all-MiniLM-L6-v2 embeddings (no lexical part, so that the
learning is all that differs). Each system's learning rate (and the combination's weight) was chosen on the
even-numbered patterns; figures are for the {r['test_count']} odd-numbered ones. Early patterns are the first
{continual.EARLY} of the stream (learned by validation {early_at}); "after" is measured then, "end" after all
{len(stream.events):,} validations ({len(stream.events) - early_at:,} later ones). Every learner starts from
the same memory layer: {Shape().slots:,} slots ({Shape().sub_keys}² product keys), {Shape().heads} heads reading
k = {Shape().k} slots each, {Shape().value_dim}-d values; one accept is {Rule().steps} SGD steps on the accepted
context plus up to 2 earlier exemplars of its pattern (pulling the model's output towards the pattern's
embedding); sparse updates change the top t = {Rule().top_t} slots.

| system | chosen on dev | early recall@1 after → end | kept | early lift kept | acquisition | final recall@1 | misses of no-learning fixed | hits of no-learning lost | recall@1, least-resembling half | update p95 (ms) |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{table}

![retention and acquisition]({plot})

*kept*: early recall@1 at the end over right after; *early lift kept*: of what learning added to the right
pattern's score for early held-out contexts, the share still there at the end (a measure of forgetting that
does not count later patterns outranking early ones); *acquisition*: recall@1 on the held-out contexts of the
patterns learned since the previous checkpoint (every {continual.EVERY} validations), averaged;
*least-resembling half*: the {r['low_count']} test contexts whose terms resemble their pattern least.

| goal | measured | |
| --- | --- | --- |
{goals}

**Accept → update applied**, through the workspace memory as the server runs it (torch at 1 thread), one
accept at a time for {speed['count']} accepts of stdlib patterns in contexts already embedded (as a hover
leaves them): p50 **{speed['p50']:.1f} ms**, p95 **{speed['p95']:.1f} ms**, including the accept's own
commit to SQLite; the learner's part alone (vector lookups, one sparse step, the exemplar) p95
{speed['update_p95']:.1f} ms. Goal: p95 ≤ 30 ms. {speed['learned']} of {speed['count']} accepts were learned.

({r['seconds']:.0f} s in all.)
"""
    path = write_section("learning", markdown)
    print(markdown)
    print(f"written to {path}")


def learning_in_fused_recall(targets: int) -> None:
    r = learning_fused.run(targets)
    rows = [("before any accept", r["before"])] + list(r["results"].items()) + [
        (f"exemplars only (model off), gain × {r['best']:g}", r["exemplars_only"])]
    table = "\n".join(f"| {name} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['mrr']:.3f} |" for name, m in rows)
    tuning = ", ".join(f"{w:g}: {mrr:.3f}" for w, mrr in r["tuning"].items())
    markdown = f"""## Learning inside fused recall, through the memory

Machine: {machine()}. The real memory (lexical + embeddings + learning, as the server runs it): {r['targets']}
standard-library functions called from at least three others are the patterns, with
{r['patterns'] - r['targets']:,} distractors ({r['patterns']:,} patterns in all). Each pattern is accepted in two of
its callers ({r['accepts']} accepts, learned by the background worker), then recalled in fused mode for its third
caller, which it never saw. The weight of the learned gain inside fused relevance was chosen on the
even-numbered patterns (MRR by weight: {tuning}); figures are for the odd-numbered ones.

| fused recall | recall@1 | recall@5 | MRR |
| --- | ---: | ---: | ---: |
{table}

({r['seconds']:.0f} s.)
"""
    path = write_section("learning-fused", markdown)
    print(markdown)
    print(f"written to {path}")


def mcp(new: int) -> None:
    r = mcp_search.run(new=new)
    rows, busy, corpus = r["rows"], r["busy"], r["corpus"]
    fig = {(row.system, row.variant, row.patterns): row for row in rows}
    small, big = min(row.patterns for row in rows), max(row.patterns for row in rows)

    def line(row: mcp_search.Row, bold: bool = False) -> str:
        p50, p95 = row.p50_p95
        system = f"**{row.system}**" if bold else row.system
        return (f"| {system} | {row.variant} | {row.patterns:,} | {row.recall:.3f} | {p50:.1f} | {p95:.1f} | "
                f"{len(row.ms)} |")

    table = "\n".join([line(row) for row in rows] + [line(row, True) for row in busy if row.ms])
    emb, lex, ref = (fig[(s, "sentence", big)] for s in ("SCMS (embeddings)", "SCMS `--lexical`", "server-memory"))
    emb_k, lex_k, ref_k = (fig[(s, "keyword", big)] for s in ("SCMS (embeddings)", "SCMS `--lexical`", "server-memory"))
    ref_small, emb_small, lex_small = (fig[(s, "sentence", small)]
                                       for s in ("server-memory", "SCMS (embeddings)", "SCMS `--lexical`"))
    x, all_busy = busy[0].extra, [ms for row in busy for ms in row.ms]
    b95 = quantiles(all_busy)[1]
    idle95 = max(emb.p50_p95[1], emb_k.p50_p95[1])
    packages = ", ".join(f"{name} {version}" for name, version in corpus.versions.items())
    faster = "faster" if ref_small.p50_p95[1] < emb_small.p50_p95[1] else "slower"
    markdown = f"""## MCP search: SCMS against the reference memory server

Machine: {machine()}; 1-minute load average {r['load']:.1f} when the run began. `python -m benchmarks mcp`:
`scms mcp` (default settings, torch at 1 thread; and with `--lexical`) and `@modelcontextprotocol/server-memory`
{r['server_memory']} (node, its JSONL file in a temp folder) hold the same patterns. Each server is a subprocess
driven over stdio by the MCP Python SDK's client, one call at a time, on a fresh copy of its store. Latency is
the wall clock of each `call_tool` in the client (request, search, the result's JSON and its parsing), after
{mcp_search.WARMUP} warm-up calls; each held-out query is asked once.

**Corpus**: functions of 3–80 lines from {len(corpus.versions)} packages installed from PyPI, not the standard
library the other benchmarks are tuned on ({packages}): {corpus.functions:,} functions, deduplicated by code.
A pattern is a function's code without its docstring, titled with its name in words, with no note. The
{len(corpus.targets)} targets (spread evenly over the packages) each have a docstring whose first sentence is
unique among all the docstrings. That sentence is the held-out query and is stored nowhere (the **sentence**
rows). The **keyword** rows ask for the sentence's longest word alone, because server-memory's `search_nodes`
is a case-insensitive substring match. Distractors are other functions from the same packages. A query counts
as found when its function is among the first 5 results: SCMS's top 5 (`search_patterns`, `k=5`), or the
first 5 entities `search_nodes` returns, in its order, which is the order they were stored in (name = title +
id, observations = title and code, loaded with `create_entities`).

| system | query | patterns | recall@5 | p50 (ms) | p95 (ms) | timed calls |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
{table}

**Worker busy** (bold rows): a fresh server on the {big:,}-pattern store received {x['added']} new candidates
(functions stored nowhere else) through `add_candidate`, {mcp_search.ADDING} calls in flight at a time
({x['adding_s']:.1f} s, p50 {x['add_p50']:.0f} ms a call). {x['left_after_adds']} of them were not embedded yet when
the searches began. The rows time only searches after which some candidates were still unembedded: the
benchmark reads the store's embedding cache, which the worker writes batch by batch. {x['busy']} searches ran
that way over {x['searching_s']:.1f} s, while the worker embedded {x['embedded_per_s']:.0f} candidates a second
({x['left_at_end']} were still left when the searches ended; recall@5 counts every query asked). Goal: p95 ≤
50 ms at {big:,} patterns while background work runs: {'met' if b95 <= 50 else '**not met**'} ({b95:.1f} ms
over all busy searches; idle {idle95:.1f} ms at most).

Reading: at {big:,} patterns SCMS with embeddings finds {emb.recall:.0%} of the sentence queries in its top 5,
`--lexical` finds {lex.recall:.0%} and server-memory {ref.recall:.0%}. For {ref.extra['returned_none']:.0%} of the
sentences server-memory stores no entity that contains the whole sentence, so it returns nothing. Given one
keyword, server-memory finds {ref_k.recall:.0%} (SCMS: {emb_k.recall:.0%} with embeddings, {lex_k.recall:.0%}
lexical). It returns every entity containing the word (median {ref_k.extra['returned_median']:,.0f}) in storage
order, so its first five are whichever came first, not the best. server-memory re-reads its whole file on every
call: at {small:,} patterns its sentence p95 is {ref_small.p50_p95[1]:.1f} ms ({faster} than SCMS with embeddings,
{emb_small.p50_p95[1]:.1f} ms; `--lexical` {lex_small.p50_p95[1]:.1f} ms), at {big:,} it is {ref.p50_p95[1]:.0f} ms.
SCMS's embeddings p95 at {big:,} is {emb.p50_p95[1]:.1f} ms against {lex.p50_p95[1]:.1f} ms lexical; the difference is
the query's own embedding (one torch thread) and the vector lookup. With the worker busy, p50 rises from
{emb.p50_p95[0]:.1f} to {busy[0].p50_p95[0]:.1f} ms for sentences.

({r['seconds']:.0f} s in all.)
"""
    path = write_section("mcp", markdown)
    print(markdown)
    print(f"written to {path}")


def _ratio(end: float, after: float) -> str:
    return f"{end / after:.0%}" if after else "–"


def _percent(value: float) -> str:
    return "–" if value != value else f"{value:.0%}"


def _p95(seconds: list[float]) -> str:
    return f"{sorted(seconds)[int(0.95 * (len(seconds) - 1))] * 1000:.1f}" if seconds else "–"


def busy(patterns: int, seconds: float) -> None:
    results, background = hover_busy.run(patterns, seconds=seconds)
    rows = "\n".join(f"| {phase} | {len(ms):,} | " + " / ".join(f"{q:.2f}" for q in quantiles(ms)) + f" | {max(ms):.1f} |"
                      for phase, ms in results.items())
    idle = quantiles(results["idle"])[1]
    worst = max(quantiles(ms)[1] for ms in results.values())
    markdown = f"""## Hovers while the background works

Machine: {machine()}. `python -m benchmarks busy`: the facade's recall for known contexts (what a hover
asks, `limit=2`) at {patterns:,} patterns with embeddings, one every 4 ms from one thread, in four phases of
about {seconds:.0f} s: idle; while the embedding worker embeds 1,500 patterns another process remembers (as the
CLI or a second window would); while it embeds more with the session tier's IVF index made due for
retraining every second; and while the vector indexes, the lexical snapshot and the memory model are saved
over and over. {background}.

| phase | hovers | p50 / p95 / p99 (ms) | max (ms) |
| --- | ---: | ---: | ---: |
{rows}

Busy p95 is {worst / idle:.1f}× idle p95 (goal ≤ 2×): no lock a hover takes is held across embedding, index
training or a save (see the engine's module docstring).
"""
    path = write_section("busy", markdown)
    print(markdown)
    print(f"written to {path}")


def discovery() -> None:
    """Discovery's precision on real projects (labels in benchmarks/labels/) and the full-workspace scan time."""
    from benchmarks import discovery as mined

    markdown = mined.section()
    path = write_section("discovery", markdown)
    print(markdown)
    print(f"written to {path}")


def idioms() -> None:
    """Idiom recall and learning on projects from PyPI and npm, beside mem0 (needs the `bench` extra)."""
    from benchmarks import idiom_report

    idiom_report.run()


def visible() -> None:
    """How soon an accept shows in the next hover, under a hover load."""
    from benchmarks import learning_visible

    markdown = learning_visible.section(learning_visible.run())
    path = write_section("visible", markdown)
    print(markdown)
    print(f"written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("which", nargs="*", default=[], help="lsp, busy, quality, learning, mcp, discovery, idioms, visible (default: all)")
    parser.add_argument("--busy-patterns", type=int, default=10_000, help="patterns in the busy-hover run")
    parser.add_argument("--busy-seconds", type=float, default=20.0)
    parser.add_argument("--hovers", type=int, default=1000)
    parser.add_argument("--sizes", default="1000,10000,100000", help="pattern counts, comma-separated")
    parser.add_argument("--real", type=int, default=5000, help="patterns with real embeddings in the latency run")
    parser.add_argument("--targets", type=int, default=300)
    parser.add_argument("--distractors", type=int, default=1000)
    parser.add_argument("--mcp-new", type=int, default=800, help="candidates added in the MCP busy-worker run")
    parser.add_argument("--stream-patterns", type=int, default=520, help="patterns in the learning benchmark")
    args = parser.parse_args()
    if not args.which or "quality" in args.which:
        quality(args.targets, args.distractors)
    if not args.which or "learning" in args.which:
        learning(args.stream_patterns)
        learning_in_fused_recall(args.targets)
    if not args.which or "busy" in args.which:
        busy(args.busy_patterns, args.busy_seconds)
    if not args.which or "mcp" in args.which:
        mcp(args.mcp_new)
    if not args.which or "discovery" in args.which:
        discovery()
    if not args.which or "idioms" in args.which:
        idioms()
    if not args.which or "visible" in args.which:
        visible()
    if not args.which or "lsp" in args.which:
        lsp(tuple(int(s) for s in args.sizes.split(",")), args.hovers, args.real)


if __name__ == "__main__":
    main()
