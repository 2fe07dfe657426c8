"""Plots for docs/benchmarks.md (matplotlib, written as PNG under docs/images/)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.report import DOCS  # noqa: E402


def latency(figures) -> str:
    fig, ax = plt.subplots(figsize=(7, 4))
    sizes = [f.patterns for f in figures]
    for label, attr, style in (("cold", "cold", "--"), ("warm (fused)", "warm", "-")):
        for index, quantile in ((1, "p95"), (0, "p50")):
            ax.plot(sizes, [getattr(f, attr)[index] for f in figures], style, marker="o",
                    label=f"{label} {quantile}")
    ax.axhline(10, color="grey", linewidth=0.8, linestyle=":")
    ax.axhline(15, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_xlabel("patterns in the store")
    ax.set_ylabel("hover round trip (ms)")
    ax.set_title("SCMS hover latency over LSP")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, "bench-hover-latency.png")


def quality(results: dict) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    modes = list(results)
    metrics = ["recall@1", "recall@5", "mrr"]
    width = 0.25
    for i, metric in enumerate(metrics):
        ax.bar([m + (i - 1) * width for m in range(len(modes))], [results[mode][metric] for mode in modes],
               width, label=metric)
    ax.set_xticks(range(len(modes)), modes)
    ax.set_ylim(0, 1)
    ax.set_title("Recall quality on standard-library call sites")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, "bench-recall-quality.png")


def _save(fig, name: str) -> str:
    (DOCS / "images").mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(DOCS / "images" / name, dpi=110)
    plt.close(fig)
    return f"images/{name}"


def continual(rows, checkpoints: list[int], early_learned_at: int) -> str:
    """Early-pattern recall@1 over the stream (retention) and acquisition against final recall, per system."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for row in rows:
        left.plot(checkpoints, row.test.retention_curve, marker=".", label=row.name)
    left.axvline(early_learned_at, color="grey", linewidth=0.8, linestyle=":")
    left.set_xlabel("validations seen")
    left.set_ylabel("recall@1, held-out contexts of the first patterns")
    left.set_title("Retention of early patterns")
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    for row in rows:
        right.scatter(row.test.acquisition, row.test.final, s=40)
        right.annotate(row.name, (row.test.acquisition, row.test.final), fontsize=7, xytext=(4, 3),
                       textcoords="offset points")
    right.set_xlabel("acquisition: recall@1 on patterns just learned")
    right.set_ylabel("recall@1 on every pattern at the end")
    right.set_title("Learning new patterns vs. keeping all of them")
    right.grid(alpha=0.3)
    return _save(fig, "bench-continual.png")
