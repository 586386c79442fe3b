"""The committed generated modules equal what scripts/gen-proto produces from proto/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generated(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "ocisd" / "api").rglob("*")) if p.is_file()
    }


def test_generated_modules_are_fresh(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-proto"), str(tmp_path)], capture_output=True)
    assert res.returncode == 0, res.stderr.decode()
    fresh = _generated(tmp_path)
    # The hand-written contract modules beside the generated ones (ocisd/api/<api>/v1/contract.py …) are not
    # compared, nor the packages of contracts without messages (ocisd/api/postprocessing/).
    committed = {
        k: v
        for k, v in _generated(ROOT).items()
        if "__pycache__" not in k and ("_pb2" in k or (k.endswith("__init__.py") and k in fresh))
    }
    assert fresh, "gen-proto produced nothing"
    assert sorted(fresh) == sorted(committed), "scripts/gen-proto would add or remove files under ocisd/api"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert stale == [], f"stale generated modules (run scripts/gen-proto): {stale}"
