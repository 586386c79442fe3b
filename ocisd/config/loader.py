"""Configuration arithmetic: defaults < ocis.{yaml,toml} < <name>.{yaml,toml} < environment.

Within `ocis.*`, top-level keys are shared ones and each table named after an
extension holds that extension's keys (shared keys may be overridden there).
Environment: `OCIS_<KEY>` for shared keys, `<NAME>_<KEY>` for any key of one
extension (the more specific name wins).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ocisd import logs
from ocisd.config.schema import (
    ConfigError,
    Setting,
    coerce_file_value,
    describe,
    env_name,
    env_prefix,
    parse_env,
    settings_of,
    type_name,
)
from ocisd.config.shared import PROCESS_WIDE, SharedConfig

DEFAULT_SOURCE = "default"
_LOG_FORMATS = ("logfmt", "json")
# What the str type lets through but these keys refuse: the names an error lists, and the test.
_CHOICES = {
    "log_level": (logs.LEVEL_NAMES, logs.is_level),  # any case, and the alias `warning`
    "log_format": (_LOG_FORMATS, _LOG_FORMATS.__contains__),
}


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("OCIS_CONFIG_DIR") or "~/.ocis/config").expanduser()


@dataclass
class EffectiveConfig:
    """The resolved config of one extension (or of the runtime when `name` is None)."""

    name: str | None
    shared: SharedConfig
    own: Any
    sources: dict[str, str] = field(default_factory=dict)
    settings: list[Setting] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # where each value was set, as errors name it

    def value(self, key: str) -> Any:
        if self.own is not None and hasattr(self.own, key):
            return getattr(self.own, key)
        return getattr(self.shared, key)

    def require_secrets(self) -> None:
        """Refuse to start without the secrets `ocis init` generates."""
        for s in self.settings:
            if s.required and not self.value(s.key):
                raise ConfigError(
                    f"missing required secret {s.key!r} (env {env_name('OCIS', s.key)}): "
                    "run `ocis init` to generate a config"
                )

    def require_process_wide(self, process: SharedConfig) -> None:
        """Refuse an own value of a setting the process holds once (`PROCESS_WIDE`)."""
        secret = {s.key for s in self.settings if s.secret}
        for key in PROCESS_WIDE:
            mine, shared = getattr(self.shared, key), getattr(process, key)
            if mine == shared:
                continue
            values = "" if key in secret else f" ({mine!r} here, {shared!r} shared)"
            raise ConfigError(
                f"{self.origins[key]}: {key} is one per process and must not differ between extensions{values}; "
                f"set {env_name('OCIS', key)} or the top level of ocis.* instead"
            )

    def data_dir(self) -> Path:
        base = Path(self.shared.base_data_path).expanduser()
        return base / self.name if self.name else base


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(f"{path}: cannot parse: {reason}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at top level, found {describe(data)}")
    return data


def _find_file(directory: Path, stem: str) -> Path | None:
    found = [
        p for p in (directory / f"{stem}.yaml", directory / f"{stem}.yml", directory / f"{stem}.toml") if p.is_file()
    ]
    if len(found) > 1:
        raise ConfigError(f"{directory}: both {' and '.join(p.name for p in found)} exist; keep only one")
    return found[0] if found else None


class _Layers:
    """Applies one layer after another onto a dict of values, recording sources."""

    def __init__(self, settings: list[Setting]) -> None:
        self.by_key = {s.key: s for s in settings}
        self.values: dict[str, Any] = {s.key: s.default for s in settings}
        self.sources: dict[str, str] = {s.key: DEFAULT_SOURCE for s in settings}
        self.origins = dict(self.sources)

    def apply_file(self, data: Mapping[str, Any], where: str, keys: Iterable[str], prefix: str = "") -> None:
        allowed = set(keys)
        for key, raw in data.items():
            if key not in allowed:
                raise ConfigError(f"{where}: unknown key {prefix + key!r}")
            s = self.by_key[key]
            try:
                self.values[key] = coerce_file_value(s.type, raw)
            except ValueError:
                raise ConfigError(
                    f"{where}: key {prefix + key!r}: expected {type_name(s.type)}, found {describe(raw)}"
                ) from None
            self.sources[key] = where
            self.origins[key] = f"{where}: key {prefix + key!r}"

    def apply_env(self, env: Mapping[str, str], prefix: str, keys: Iterable[str]) -> None:
        for key in keys:
            name = env_name(prefix, key)
            if name not in env:
                continue
            s = self.by_key[key]
            try:
                self.values[key] = parse_env(s.type, env[name])
            except ValueError:
                raise ConfigError(f"env {name}: expected {type_name(s.type)}, found {env[name]!r}") from None
            self.sources[key] = name
            self.origins[key] = f"env {name}"


def load(
    name: str | None,
    own_cls: type | None,
    known_extensions: Iterable[str],
    env: Mapping[str, str] | None = None,
) -> EffectiveConfig:
    """Resolve the effective config of extension `name` (or the runtime's shared config)."""
    env = os.environ if env is None else env
    directory = config_dir(env)
    shared_settings = settings_of(SharedConfig)
    own_settings = settings_of(own_cls) if own_cls is not None else []
    shared_keys = [s.key for s in shared_settings]
    clash = set(shared_keys) & {s.key for s in own_settings}
    if clash:
        raise TypeError(f"{own_cls}: fields {sorted(clash)} shadow shared keys")
    all_keys = shared_keys + [s.key for s in own_settings]
    layers = _Layers(shared_settings + own_settings)
    sections = set(known_extensions)

    main = _find_file(directory, "ocis")
    if main is not None:
        data = _read_file(main)
        for key in sections & data.keys():
            if not isinstance(data[key], dict):
                raise ConfigError(
                    f"{main}: key {key!r}: expected a table of {key}'s settings, found {describe(data[key])}"
                )
        layers.apply_file({k: v for k, v in data.items() if k not in sections}, str(main), shared_keys)
        if name is not None and name in data:
            layers.apply_file(data[name], str(main), all_keys, prefix=f"{name}.")
    if name is not None:
        own_file = _find_file(directory, name)
        if own_file is not None:
            layers.apply_file(_read_file(own_file), str(own_file), all_keys)

    layers.apply_env(env, "OCIS", shared_keys)
    if name is not None:
        layers.apply_env(env, env_prefix(name), all_keys)

    for key, (allowed, ok) in _CHOICES.items():
        if not ok(layers.values[key]):
            raise ConfigError(
                f"{layers.origins[key]}: expected one of {', '.join(allowed)}, found {layers.values[key]!r}"
            )
    shared = SharedConfig(**{k: layers.values[k] for k in shared_keys})
    shared.bus_brokers()  # refuses malformed or unpaired bus address lists at start-up
    own = own_cls(**{s.key: layers.values[s.key] for s in own_settings}) if own_cls is not None else None
    return EffectiveConfig(
        name=name,
        shared=shared,
        own=own,
        sources=layers.sources,
        settings=shared_settings + own_settings,
        origins=layers.origins,
    )
