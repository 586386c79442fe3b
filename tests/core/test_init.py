"""`ocis init`: generated secrets, file modes, refusal and --force-overwrite with backup."""

from __future__ import annotations

import stat
import tomllib

from ocisd.config.shared import INIT_SECRETS
from tests.support.harness import Deployment


def test_init_writes_private_config_with_generated_secrets(bare: Deployment) -> None:
    res = bare.ocis("init")
    assert res.returncode == 0, res.stderr
    path = bare.config_dir / "ocis.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(bare.config_dir.stat().st_mode) == 0o700
    cfg = tomllib.loads(path.read_text())
    for key in INIT_SECRETS:
        assert cfg[key], key
    assert cfg["admin_password"] in res.stdout  # generated and printed once
    other = Deployment(bare.root / "second")
    assert other.ocis("init").returncode == 0
    again = tomllib.loads((other.config_dir / "ocis.toml").read_text())
    assert all(again[k] != cfg[k] for k in ("jwt_secret", "machine_auth_api_key", "transfer_secret"))


def test_given_password_is_used_and_not_printed(bare: Deployment) -> None:
    res = bare.ocis("init", "--admin-password", "s3cret-given", "--insecure")
    assert res.returncode == 0
    assert "s3cret-given" not in res.stdout + res.stderr
    cfg = tomllib.loads((bare.config_dir / "ocis.toml").read_text())
    assert cfg["admin_password"] == "s3cret-given" and cfg["insecure"] is True


def test_config_dir_flag(bare: Deployment) -> None:
    target = bare.root / "etc-ocis"
    assert bare.ocis("init", "--config-dir", str(target)).returncode == 0
    assert (target / "ocis.toml").is_file()
    assert not (bare.config_dir / "ocis.toml").exists()


def test_refuses_to_overwrite_then_force_keeps_backup(dep: Deployment) -> None:
    path = dep.config_dir / "ocis.toml"
    before = path.read_bytes()
    res = dep.ocis("init")
    assert res.returncode == 1
    assert "--force-overwrite" in res.stdout + res.stderr
    assert path.read_bytes() == before
    res = dep.ocis("init", "-f")
    assert res.returncode == 0, res.stderr
    backups = list(dep.config_dir.glob("ocis.toml.*.backup"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    assert path.read_bytes() != before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_secret_has_a_builtin_default() -> None:
    from ocisd.config.schema import settings_of
    from ocisd.config.shared import SharedConfig

    for s in settings_of(SharedConfig):
        if s.secret or s.required:
            assert s.default in ("", []), s.key
