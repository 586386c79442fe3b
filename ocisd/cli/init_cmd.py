"""`ocis init`: write a first `ocis.toml` with generated secrets and an admin password."""

from __future__ import annotations

import argparse
import os
import secrets
import time
import uuid
from pathlib import Path

import tomli_w
import zmq

from ocisd.cli.command import Command
from ocisd.config.loader import config_dir


def _setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config-dir", help="where to write ocis.toml (default: $OCIS_CONFIG_DIR or ~/.ocis/config)")
    p.add_argument("--admin-password", help="admin password (generated and printed once when not given)")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates of outgoing connections")
    p.add_argument("-f", "--force-overwrite", action="store_true", help="replace an existing config, keeping a backup")


def generate(admin_password: str, insecure: bool) -> dict[str, object]:
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    return {
        "jwt_secret": secrets.token_urlsafe(32),
        "machine_auth_api_key": secrets.token_urlsafe(32),
        "transfer_secret": secrets.token_urlsafe(32),
        "system_user_id": str(uuid.uuid4()),
        "system_user_api_key": secrets.token_urlsafe(32),
        "admin_user_id": str(uuid.uuid4()),
        "admin_password": admin_password,
        "insecure": insecure,
        "bus_server_public_key": server_public.decode(),
        "bus_server_secret_key": server_secret.decode(),
        "bus_client_public_key": client_public.decode(),
        "bus_client_secret_key": client_secret.decode(),
    }


def _run(args: argparse.Namespace) -> int:
    directory = Path(args.config_dir).expanduser() if args.config_dir else config_dir()
    existing = [directory / n for n in ("ocis.toml", "ocis.yaml", "ocis.yml") if (directory / n).exists()]
    if existing and not args.force_overwrite:
        print(f"ocis: config {existing[0]} already exists; use --force-overwrite to replace it (a backup is kept)")
        return 1
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in existing:
        backup = path.with_name(f"{path.name}.{stamp}.backup")
        path.rename(backup)
        print(f"backup of the old config: {backup}")
    password = args.admin_password or secrets.token_urlsafe(12)
    target = directory / "ocis.toml"
    tmp = target.with_name(".ocis.toml.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(generate(password, args.insecure), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    print(f"config written to {target}")
    if not args.admin_password:
        print("=========================================")
        print(" generated admin user: admin")
        print(f" password: {password}")
        print("=========================================")
    return 0


COMMAND = Command("init", "write a first config with generated secrets", _setup, _run)
