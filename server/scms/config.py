"""Settings for the memory (pydantic): thresholds, decay and retention factors, with validated defaults."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class RetentionSettings(BaseModel):
    """Factors of the retention score: base by tier × surprise by kind × confidence × rate^days."""

    model_config = ConfigDict(extra="forbid")

    base_session: float = Field(0.6, gt=0, le=10)
    base_validated: float = Field(1.0, gt=0, le=10)
    decay_rate_candidate: float = Field(0.95, gt=0, le=1)
    decay_rate_validated: float = Field(1.0, gt=0, le=1)
    surprise_pattern: float = Field(1.0, gt=0, le=10)
    surprise_convention: float = Field(1.0, gt=0, le=10)
    surprise_anti_pattern: float = Field(1.25, gt=0, le=10)
    surprise_failure: float = Field(1.5, gt=0, le=10)
    archive_below: float = Field(0.1, ge=0, le=10)


class Settings(BaseModel):
    """Everything the memory facade needs to know beyond the workspace path."""

    model_config = ConfigDict(extra="forbid")

    promotion_threshold: int = Field(2, ge=1, le=1000)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    max_file_bytes: int = Field(5_000_000, ge=1_000)


def settings_from(raw: dict[str, Any] | None) -> tuple[Settings, list[str]]:
    """Validate raw settings field by field: each bad value is reported by name and its default kept."""
    if not raw:
        return Settings(), []
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in Settings.model_fields:
            problems.append(f"unknown setting '{name}' ignored")
            continue
        if name == "retention" and isinstance(value, dict):
            kept: dict[str, Any] = {}
            for sub, sub_value in value.items():
                try:
                    RetentionSettings.model_validate({sub: sub_value})
                    kept[sub] = sub_value
                except ValidationError as err:
                    problems.append(f"setting 'retention.{sub}' = {sub_value!r}: {_reason(err)}; default used")
            clean[name] = kept
            continue
        try:
            Settings.model_validate({name: value})
            clean[name] = value
        except ValidationError as err:
            problems.append(f"setting '{name}' = {value!r}: {_reason(err)}; default used")
    return Settings.model_validate(clean), problems


def _reason(err: ValidationError) -> str:
    first = err.errors()[0]
    return str(first.get("msg", "invalid value"))
