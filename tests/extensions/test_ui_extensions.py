"""The UI extensions (extensions/) are built, type-checked and component-tested with npm's toolchain.

They run here too, so the README's one test command covers them: each step is the command `.ci/run`
and a developer run (`npm run typecheck|build|test`), and a failure shows its output. A checkout
without node_modules installs the workspace's locked packages first (`npm ci`).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="Node.js and npm are needed for the extensions")


@pytest.fixture(scope="module")
def workspace() -> Path:
    """The npm workspace, installed from package-lock.json when it is not yet."""
    if not (ROOT / "node_modules" / ".package-lock.json").is_file():
        _run("npm", "ci", "--no-audit", "--no-fund")
    return ROOT


def _run(*command: str) -> str:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_extensions_type_check_against_shopifys_types(workspace):
    _run("npm", "run", "--silent", "typecheck")


def test_every_bundle_builds_within_shopifys_size_limit(workspace):
    printed = _run("node", "extensions/build.mjs")
    built = [line.split()[1] for line in printed.splitlines() if line.startswith("ok ")]
    assert sorted(built) == ["customer-account-loyalty", "order-status-points", "pos-loyalty", "thank-you-points"]


def test_component_tests_pass(workspace):
    printed = _run("node", "--test", "extensions/test/")
    assert "# fail 0" in printed and "# pass 0" not in printed
