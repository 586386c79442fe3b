"""docs/settings.md stays generated, the README names its two commands, CI runs the test one; docs stay in the repo."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ocisd.config.docs import render, splice
from ocisd.discovery import installed
from tests.support.harness import BIN, Deployment

ROOT = Path(__file__).resolve().parents[2]


def test_settings_reference_is_fresh() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    assert splice(page, render(installed())) == page, "run scripts/gen-docs"


def test_docs_name_no_path_outside_the_repository() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text()
        assert "../shared" not in text and "/work/" not in text, page.name
    for name in (
        "design",
        "deploy",
        "proxy",
        "auth",
        "storage",
        "webdav-and-sync",
        "benchmarks",
        "settings",
        "security",
    ):
        assert (ROOT / "docs" / f"{name}.md").is_file(), name


def test_readme_names_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "scripts/run" in readme and "scripts/test" in readme
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert any(line.strip().endswith("scripts/test") for line in ci)


def test_help_lists_commands_and_every_extension(bare: Deployment) -> None:
    for prog in ("ocis", "ocisd"):
        res = subprocess.run([str(BIN / prog), "--help"], env=bare.env, capture_output=True, text=True)
        assert res.returncode == 0
        for word in ("init", "server", "list", *installed()):
            assert f"  {word} " in res.stdout, word
    res = bare.ocis("hello", "--help")
    assert all(sub in res.stdout for sub in ("server", "health", "config"))
