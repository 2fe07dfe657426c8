"""Settings: each bad value is named and its default kept; the extension's manifest cannot drift from them."""

from __future__ import annotations

import json
from pathlib import Path

from scms.config import Settings, settings_from

MANIFEST = json.loads((Path(__file__).resolve().parent.parent / "package.json").read_text())
PROPERTIES = MANIFEST["contributes"]["configuration"]["properties"]
CLIENT_ONLY = ("server.", "mcp.")  # read by the extension only (launch.ts CLIENT_ONLY)


def client_options(flat: dict) -> dict:
    """What the extension sends (extension/src/launch.ts initializationOptions): dotted keys nested, client-only kept."""
    options: dict = {}
    for key, value in flat.items():
        if key.startswith(CLIENT_ONLY):
            continue
        *parents, last = key.split(".")
        target = options
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return options


def test_the_manifest_defaults_are_valid_server_settings_and_equal_the_servers_defaults():
    flat = {key.removeprefix("scms."): spec["default"] for key, spec in PROPERTIES.items()}
    settings, problems = settings_from(client_options(flat))
    assert problems == []
    defaults = Settings().model_dump(by_alias=True)
    for key, value in flat.items():
        if key.startswith(CLIENT_ONLY):
            continue
        node = defaults
        for part in key.split("."):
            node = node[part]
        assert node == value, f"package.json says scms.{key} = {value!r}, the server's default is {node!r}"


def test_manifest_limits_match_the_server():
    settings, problems = settings_from({"promotionThreshold": PROPERTIES["scms.promotionThreshold"]["maximum"] + 1})
    assert problems and settings.promotion_threshold == 2
    assert PROPERTIES["scms.notifications"]["enum"] == ["off", "onError", "onWarning", "always"]


def test_each_bad_value_is_named_and_the_rest_apply():
    settings, problems = settings_from({
        "promotionThreshold": "many", "recall": {"minSimilarity": 7, "hoverLimit": 1}, "bogus": 1,
        "retention": 5, "notifications": "loud", "export": {"targets": ["emacs"]},
    })
    assert settings.recall.hover_limit == 1 and settings.promotion_threshold == 2
    assert settings.notifications == "onWarning"
    assert settings.export.targets == ["workspace_rules", "cursor", "copilot", "agents", "claude"]
    joined = "\n".join(problems)
    for name in ("'promotionThreshold' = 'many'", "'recall.minSimilarity' = 7", "unknown setting 'bogus'",
                 "'retention' must be an object", "'notifications' = 'loud'", "'export.targets'"):
        assert name in joined
    assert len(problems) == 6
    assert settings_from("not an object")[1] == ["settings must be an object, not str; defaults used"]
