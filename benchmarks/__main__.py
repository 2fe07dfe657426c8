"""`python -m benchmarks [lsp]`: run the benchmarks and write their figures into docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import statistics

from benchmarks import lsp_latency
from benchmarks.report import machine, write_section


def lsp(sizes: tuple[int, ...], hovers: int) -> None:
    init_times, figures = asyncio.run(lsp_latency.run(sizes, hovers))
    rows = "\n".join(
        f"| {f.patterns:,} | {f.ingest_per_s:,.0f} | {f.hovers:,} | {f.with_card:.0%} | {f.p50:.2f} | {f.p95:.2f} | "
        f"{f.p99:.2f} | {f.first_useful_hover_ms:,.0f} | {f.rss_mb:,.0f} |"
        for f in figures
    )
    markdown = f"""## Language server: initialize and hover (lexical recall)

Machine: {machine()}. Measured through real LSP round trips: a pygls client spawns `python -m scms serve`
over stdio. Patterns are functions of the standard library (3–80 lines), remembered one by one; hovers land on
random non-blank lines of 40 standard-library files that those patterns came from, after a 20-hover warm-up.

`initialize` answered after process start, {len(init_times)} runs: median **{statistics.median(init_times):.0f} ms**,
min {min(init_times):.0f} ms, max {max(init_times):.0f} ms (goal ≤ 600 ms; importing pygls and lsprotocol alone
takes about 0.5 s here, and nothing else is imported before the answer).

| patterns | ingest (patterns/s) | hovers | with a card | hover p50 (ms) | p95 (ms) | p99 (ms) | first useful hover (ms after spawn) | server RSS (MB) |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}

Goal: hover p95 ≤ 10 ms at 10k patterns.
"""
    path = write_section("lsp", markdown)
    print(markdown)
    print(f"written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("which", nargs="*", default=[], help="benchmarks to run: lsp (default: all)")
    parser.add_argument("--hovers", type=int, default=1000)
    parser.add_argument("--sizes", default="1000,10000", help="pattern counts, comma-separated")
    args = parser.parse_args()
    if not args.which or "lsp" in args.which:
        lsp(tuple(int(s) for s in args.sizes.split(",")), args.hovers)


if __name__ == "__main__":
    main()
