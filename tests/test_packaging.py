"""The .vsix holds what the extension needs and nothing it should not (in the spirit of black's test_packaging)."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VERSION = json.loads((ROOT / "package.json").read_text())["version"]
VSIX = ROOT / "build" / f"scms-{VERSION}.vsix"


@pytest.fixture(scope="module")
def vsix() -> zipfile.ZipFile:
    if not VSIX.exists():  # `make test` builds it first; a bare `pytest` builds it here
        subprocess.run(["npm", "run", "--silent", "package"], cwd=ROOT, check=True, capture_output=True, timeout=600)
    with zipfile.ZipFile(VSIX) as archive:
        yield archive


def test_the_vsix_holds_the_bundle_manifest_media_and_server_wheel(vsix: zipfile.ZipFile):
    names = set(vsix.namelist())
    for needed in ("extension/package.json", "extension/out/extension.js", "extension/media/scms.svg",
                   "extension/media/scms.png", "extension/readme.md", "extension/LICENSE.txt",
                   "extension/media/walkthrough/remember.md"):
        assert needed in names, needed
    wheels = [n for n in names if n.startswith("extension/dist/") and n.endswith(".whl")]
    assert wheels == [f"extension/dist/scms-{VERSION}-py3-none-any.whl"]


def test_nothing_it_should_not(vsix: zipfile.ZipFile):
    forbidden = (".venv/", "node_modules/", "tests/", "server/", ".scms/", "build/", "extension/src/",
                 "benchmarks/", ".git/", "extension.js.map")
    leaked = [n for n in vsix.namelist() if any(part in n for part in forbidden)]
    assert leaked == []
    assert sum(info.file_size for info in vsix.infolist()) < 2_000_000


def test_the_manifest_inside_matches_and_depends_on_no_other_extension(vsix: zipfile.ZipFile):
    manifest = json.loads(vsix.read("extension/package.json"))
    assert manifest["main"] == "./out/extension.js" and manifest["version"] == VERSION
    assert "extensionDependencies" not in manifest and "extensionPack" not in manifest
    assert manifest["engines"]["vscode"] == "^1.82.0"


def test_the_bundled_extension_does_not_need_node_modules(vsix: zipfile.ZipFile):
    bundle = vsix.read("extension/out/extension.js").decode()
    assert 'require("vscode")' in bundle
    assert 'require("vscode-languageclient' not in bundle


def test_the_wheel_holds_the_server_package(vsix: zipfile.ZipFile, tmp_path: Path):
    wheel = tmp_path / "scms.whl"
    wheel.write_bytes(vsix.read(f"extension/dist/scms-{VERSION}-py3-none-any.whl"))
    with zipfile.ZipFile(wheel) as inner:
        names = set(inner.namelist())
    for module in ("scms/memory.py", "scms/lsp/server.py", "scms/store/lifecycle.py", "scms/cli.py",
                   "scms/learn/service.py", "scms/lsp/features.py"):
        assert module in names, module
    assert not any(n.startswith("tests/") or n.startswith("benchmarks/") for n in names)
