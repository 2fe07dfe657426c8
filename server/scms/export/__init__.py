"""Rule files for AI assistants from the validated tier (Cursor, Copilot / VS Code, Claude Code, AGENTS.md, the
SCMS kit's WORKSPACE_RULES.md): a core package that imports only the model, the leaves and the standard library."""

from scms.export.exporter import TARGETS, export, written_targets
from scms.export.report import ExportReport

__all__ = ["TARGETS", "ExportReport", "export", "written_targets"]
