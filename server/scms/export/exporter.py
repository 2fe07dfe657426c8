"""`export`: the validated tier written as each chosen assistant's rule files, and stale files of ours removed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scms.errors import InvalidInput
from scms.export import agents, files, formats, rule
from scms.export.naming import unique_stems
from scms.export.report import ExportReport
from scms.model import Pattern

TARGETS = ("workspace_rules", "cursor", "copilot", "agents", "claude")


@dataclass(frozen=True)
class PerPattern:
    """A target with one file per pattern: its folder, the file name's suffix, and how a file is rendered."""

    folder: str
    suffix: str
    render: Callable[[Pattern], str]


PER_PATTERN = {
    "cursor": PerPattern(".cursor/rules", ".mdc", formats.cursor),
    "copilot": PerPattern(".github/instructions", ".instructions.md", formats.copilot),
    "claude": PerPattern(".claude/rules", ".md", formats.claude),
}


def check_targets(targets: Sequence[str]) -> list[str]:
    """The targets in TARGETS order, each once; anything unknown is an InvalidInput on `targets`."""
    if isinstance(targets, str) or not all(isinstance(t, str) for t in targets):
        raise InvalidInput(f"targets must be a list of names, from: {', '.join(TARGETS)}", field="targets")
    unknown = sorted({t for t in targets if t not in TARGETS})
    if unknown:
        raise InvalidInput(f"unknown export target{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
                           f"; the targets are: {', '.join(TARGETS)}", field="targets")
    return [t for t in TARGETS if t in targets]


def export(root: Path, patterns: list[Pattern], targets: Sequence[str]) -> ExportReport:
    """Write the rule files of `targets` under the workspace `root` from the validated tier's `patterns`.

    Idempotent (no timestamps; unchanged bytes are not rewritten), in a fixed order; only files carrying SCMS's
    marker are replaced or removed; whatever cannot be written is reported as skipped and the rest goes on."""
    chosen = check_targets(targets)
    root = Path(root).absolute()
    ordered = rule.ordered(list(patterns))
    report = ExportReport()
    for target in chosen:
        if target in PER_PATTERN:
            _per_pattern(root, PER_PATTERN[target], ordered, report)
        elif target == "workspace_rules":
            _root_file(root, "WORKSPACE_RULES.md", formats.workspace_rules(ordered).encode("utf-8"), report)
        else:
            _agents(root, ordered, report)
    return report.sort()


def written_targets(root: Path) -> list[str]:
    """The targets whose rule files an earlier export left in the workspace (SCMS's marker in them)."""
    root = Path(root).absolute()
    found = []
    for target in TARGETS:
        if target in PER_PATTERN:
            spec = PER_PATTERN[target]
            hit = bool(files.listing(root / spec.folder, "scms-", spec.suffix))
        elif target == "workspace_rules":
            path = root / "WORKSPACE_RULES.md"
            hit = path.is_file() and not path.is_symlink() and files.owned(path.read_bytes()[:4096])
        else:
            path = root / "AGENTS.md"
            hit = path.is_file() and not path.is_symlink() and b"scms:begin" in path.read_bytes()
        if hit:
            found.append(target)
    return found


def _per_pattern(root: Path, target: PerPattern, patterns: list[Pattern], report: ExportReport) -> None:
    folder = root / target.folder
    problem = files.folder_problem(root, folder)
    if problem:
        report.skip(target.folder, problem)
        return
    stems = unique_stems(patterns)
    wanted = {f"{stems[p.id]}{target.suffix}": p for p in patterns}
    for name, pattern in wanted.items():
        files.put(root, folder / name, target.render(pattern).encode("utf-8"), report)
    for path in files.listing(folder, "scms-", target.suffix):
        if path.name not in wanted:
            files.remove(root, path, report)


def _root_file(root: Path, name: str, data: bytes, report: ExportReport) -> None:
    files.put(root, root / name, data, report)


def _agents(root: Path, patterns: list[Pattern], report: ExportReport) -> None:
    path = root / "AGENTS.md"
    problem = files.read_problem(root, path)
    if problem:
        report.skip("AGENTS.md", problem)
        return
    try:
        existing = path.read_bytes() if path.exists() else None
        data = agents.splice(existing, patterns)
    except agents.BrokenMarkers as err:
        report.skip("AGENTS.md", str(err))
        return
    except OSError as err:
        report.skip("AGENTS.md", f"cannot be read ({err.strerror or type(err).__name__}); left as it is")
        return
    files.put(root, path, data, report, owner_check=False)  # the markers are the ownership
