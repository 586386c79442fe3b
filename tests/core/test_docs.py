"""The README's generated tables, its two commands and CI's single call stay true."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ocisd.config.docs import render, splice
from ocisd.discovery import installed
from tests.support.harness import BIN, Deployment

ROOT = Path(__file__).resolve().parents[2]


def test_readme_settings_tables_are_fresh() -> None:
    readme = (ROOT / "README.md").read_text()
    assert splice(readme, render(installed())) == readme, "run scripts/gen-docs"


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
