"""What an export did, file by file: written, changed, removed, unchanged, and skipped with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExportReport:
    written: list[str] = field(default_factory=list)  # workspace-relative posix paths created
    changed: list[str] = field(default_factory=list)  # existing files of ours whose bytes changed
    removed: list[str] = field(default_factory=list)  # files of ours removed (their pattern left the validated tier)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"path": ..., "reason": ...}

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append({"path": path, "reason": reason})

    def sort(self) -> "ExportReport":
        for name in ("written", "changed", "removed", "unchanged"):
            getattr(self, name).sort()
        self.skipped.sort(key=lambda s: (s["path"], s["reason"]))
        return self
