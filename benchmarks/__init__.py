"""Benchmarks: `python -m benchmarks` measures and writes the figures into docs/benchmarks.md."""
