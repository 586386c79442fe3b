"""`ocis idp rotate-keys`: add a new signing key; the old one stays in the JWKS until its tokens expired.

Works on the data dir; a running idp notices the changed key file within a
second and signs with the new key from then on, so nobody is logged out.
"""

from __future__ import annotations

import argparse

from ocisd.config.loader import EffectiveConfig
from ocisd.extension import ExtensionCommand

from .keys import rotate


def retention(cfg: EffectiveConfig) -> float:
    """How long a retired key is published: the longest lifetime of a token it signed, plus clock skew."""
    return max(float(cfg.own.access_token_ttl), float(cfg.own.id_token_ttl)) + 60.0


def _setup(p: argparse.ArgumentParser) -> None:
    p.set_defaults()


def _run(args: argparse.Namespace, cfg: EffectiveConfig) -> int:
    data_dir = cfg.data_dir()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    kid = rotate(data_dir, cfg.own.signing_alg, retention(cfg))
    print(f"new signing key {kid}; the previous one stays published for {retention(cfg):.0f} s")
    return 0


ROTATE_KEYS = ExtensionCommand(
    "rotate-keys", "add a new token signing key (the old one stays until its tokens expired)", _setup, _run
)
