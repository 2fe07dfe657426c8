"""Settings for the memory (pydantic): thresholds, decay, recall and notifications, with validated defaults."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

_MODEL = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class RetentionSettings(BaseModel):
    """Factors of the retention score: base by tier × surprise by kind × confidence × rate^days."""

    model_config = _MODEL

    base_session: float = Field(0.6, gt=0, le=10)
    base_validated: float = Field(1.0, gt=0, le=10)
    decay_rate_candidate: float = Field(0.95, gt=0, le=1)
    decay_rate_validated: float = Field(1.0, gt=0, le=1)
    surprise_pattern: float = Field(1.0, gt=0, le=10)
    surprise_convention: float = Field(1.0, gt=0, le=10)
    surprise_anti_pattern: float = Field(1.25, gt=0, le=10)
    surprise_failure: float = Field(1.5, gt=0, le=10)
    archive_below: float = Field(0.1, ge=0, le=10)


class RecallSettings(BaseModel):
    """How much is recalled and shown."""

    model_config = _MODEL

    min_similarity: float = Field(0.3, ge=0, le=1)
    hover_limit: int = Field(2, ge=0, le=10)
    limit: int = Field(10, ge=1, le=100)
    embeddings: bool = True
    embedding_model_path: str = ""
    torch_threads: int = Field(1, ge=1, le=64)


class LearningSettings(BaseModel):
    """The memory-layer model that learns from accepted and rejected uses (defaults from the benchmark)."""

    model_config = _MODEL

    enabled: bool = True
    top_slots: int = Field(64, ge=1, le=4096)
    learning_rate: float = Field(48.0, gt=0, le=1000)
    background_contexts: int = Field(256, ge=16, le=20_000)


ExportTarget = Literal["workspace_rules", "cursor", "copilot", "agents", "claude"]


class ExportSettings(BaseModel):
    """Which rule files an export writes for AI assistants, and whether it follows every change by itself."""

    model_config = _MODEL

    targets: list[ExportTarget] = Field(
        default_factory=lambda: ["workspace_rules", "cursor", "copilot", "agents", "claude"])
    on_change: bool = False


class SuggestionSettings(BaseModel):
    """What the editor suggests by itself, as diagnostics: patterns that recall strongly for the code being
    edited, earlier failures the code matches, and shapes the code keeps repeating (discovery)."""

    model_config = _MODEL

    recalled: bool = True
    failures: bool = True
    recall_threshold: float = Field(0.6, ge=0, le=1)  # the relevance a pattern needs to be suggested unasked
    # lower for earlier failures: their notes (symptom, cause, fix) dilute the match with code, and a missed
    # warning repeats a bug while a needless one costs a glance
    failure_threshold: float = Field(0.45, ge=0, le=1)
    max_hints: int = Field(5, ge=0, le=100)  # per document, strongest first: never a wall of hints


class DiscoverySettings(BaseModel):
    """Candidate patterns mined from code the workspace repeats (`discover/`): its shapes, names abstracted."""

    model_config = _MODEL

    enabled: bool = True
    min_occurrences: int = Field(3, ge=2, le=100)
    max_hints: int = Field(3, ge=0, le=20)  # per file
    max_shapes: int = Field(20, ge=0, le=500)  # suggested in the whole workspace at once, most repeated first
    max_files: int = Field(5000, ge=0, le=200_000)  # files the workspace scan mines at most
    exclude: list[str] = Field(default_factory=lambda: [
        "**/node_modules/**", "**/.venv/**", "**/venv/**", "**/dist/**", "**/build/**", "**/.scms/**",
        "**/.git/**", "**/.tox/**", "**/__pycache__/**"])


class Settings(BaseModel):
    """Everything the memory and its front ends need beyond the workspace path."""

    model_config = _MODEL

    promotion_threshold: int = Field(2, ge=1, le=1000)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    recall: RecallSettings = Field(default_factory=RecallSettings)
    learning: LearningSettings = Field(default_factory=LearningSettings)
    export: ExportSettings = Field(default_factory=ExportSettings)
    suggestions: SuggestionSettings = Field(default_factory=SuggestionSettings)
    discovery: DiscoverySettings = Field(default_factory=DiscoverySettings)
    notifications: Literal["off", "onError", "onWarning", "always"] = "onWarning"
    max_file_bytes: int = Field(5_000_000, ge=1_000)


def settings_from(raw: Any) -> tuple[Settings, list[str]]:
    """Validate raw settings value by value: each bad one is named, and its default kept."""
    if raw is None:
        return Settings(), []
    if not isinstance(raw, dict):
        return Settings(), [f"settings must be an object, not {type(raw).__name__}; defaults used"]
    problems: list[str] = []
    clean = _clean(Settings, raw, "", problems)
    return Settings.model_validate(clean), problems


def settings_from_json(text: str | None, source: str) -> tuple[Settings, list[str]]:
    """Settings given as JSON text, shaped as the language server's initialization options (how the extension
    passes them to `scms mcp`): text that is not JSON keeps every default; each bad value is named, its default kept."""
    if text is None or not text.strip():
        return Settings(), []
    try:
        raw = json.loads(text)
    except ValueError as err:
        return Settings(), [f"{source} is not JSON ({err}); defaults used"]
    settings, problems = settings_from(raw)
    return settings, [f"{source}: {problem}" for problem in problems]


def _clean(model: type[BaseModel], raw: dict[str, Any], prefix: str, problems: list[str]) -> dict[str, Any]:
    by_name = {}
    for name, info in model.model_fields.items():
        by_name[name] = (name, info)
        by_name[info.alias or name] = (name, info)
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in by_name:
            problems.append(f"unknown setting '{prefix}{key}' ignored")
            continue
        name, info = by_name[key]
        nested = info.annotation if isinstance(info.annotation, type) else None
        if nested is not None and issubclass(nested, BaseModel):
            if isinstance(value, dict):
                kept[name] = _clean(nested, value, f"{prefix}{key}.", problems)
            else:
                problems.append(f"setting '{prefix}{key}' must be an object; defaults used")
            continue
        try:
            model.model_validate({name: value})
            kept[name] = value
        except ValidationError as err:
            problems.append(f"setting '{prefix}{key}' = {value!r}: {err.errors()[0]['msg']}; default used")
    return kept
