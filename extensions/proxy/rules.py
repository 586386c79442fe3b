"""Firewall rules: the config's limits, overlaid by an optional rules file (TOML or YAML).

A rules file looks like this (YAML takes the same keys)::

    allow = []                      # CIDRs; when non-empty only these may connect
    deny = ["192.0.2.0/24"]
    rate_limit = 50                 # requests per second per client IP, 0: off
    rate_burst = 100
    max_body_size = 1073741824      # bytes, 0: no limit
    max_header_size = 32768
    header_timeout = "30s"

    [routes."/api/v0/greet"]
    deny = ["10.1.0.0/16"]
    max_body_size = 65536

Keys left out keep the config's value. A file that does not parse or holds a
bad value is rejected with its path and line (`RulesError`).
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ocisd.config.schema import parse_duration

from .config import ProxyConfig

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_LIMITS = ("rate_limit", "rate_burst", "max_body_size", "max_header_size", "header_timeout")
_ROUTE_KEYS = ("allow", "deny", "max_body_size")


class RulesError(Exception):
    """A rules file that cannot be used: the message reads `path:line: what is wrong`."""


@dataclass(frozen=True)
class RouteRules:
    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()
    max_body_size: int | None = None  # None: the global limit applies


@dataclass(frozen=True)
class Rules:
    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()
    rate_limit: float = 0.0
    rate_burst: int = 100
    max_body_size: int = 0
    max_header_size: int = 32768
    header_timeout: float = 30.0
    routes: dict[str, RouteRules] = field(default_factory=dict)
    source: str = "config"

    def body_limit(self, prefix: str | None) -> int:
        route = self.routes.get(prefix) if prefix is not None else None
        if route is not None and route.max_body_size is not None:
            return route.max_body_size
        return self.max_body_size


def from_config(cfg: ProxyConfig) -> Rules:
    return Rules(
        rate_limit=float(cfg.rate_limit),
        rate_burst=cfg.rate_burst,
        max_body_size=cfg.max_body_size,
        max_header_size=cfg.max_header_size,
        header_timeout=float(cfg.header_timeout),
    )


def load(cfg: ProxyConfig) -> Rules:
    """The rules in force: the config's limits, overlaid by `cfg.rules_file` when set."""
    base = from_config(cfg)
    if not cfg.rules_file:
        return base
    path = Path(cfg.rules_file).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}:0: cannot read: {exc}") from None
    return _Reader(path, text).rules(base)


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.lines = text.splitlines()

    def fail(self, what: str, *needles: str) -> RulesError:
        return RulesError(f"{self.path}:{self._line_of(needles)}: {what}")

    def _line_of(self, needles: tuple[str, ...]) -> int:
        """The line of the first needle, each later needle searched from the previous one's line."""
        start = 0
        for needle in needles:
            for i in range(start, len(self.lines)):
                if needle in self.lines[i]:
                    start = i
                    break
        return start + 1

    def parse(self) -> dict[str, Any]:
        try:
            if self.path.suffix == ".toml":
                data: Any = tomllib.loads(self.text)
            else:
                data = yaml.safe_load(self.text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
            raise RulesError(f"{self.path}:{m.group(1) if m else 0}: {exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            reason = " ".join(str(getattr(exc, "problem", exc)).split())
            raise RulesError(f"{self.path}:{mark.line + 1 if mark else 0}: {reason}") from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise RulesError(f"{self.path}:1: expected a mapping of rules at top level")
        return data

    def rules(self, base: Rules) -> Rules:
        data = self.parse()
        limits: dict[str, Any] = {k: getattr(base, k) for k in _LIMITS}
        for key, value in data.items():
            if key in ("allow", "deny", "routes"):
                continue
            if key not in _LIMITS:
                raise self.fail(f"unknown key {key!r}", key)
            limits[key] = self._limit(key, value, ())
        routes: dict[str, RouteRules] = {}
        table = data.get("routes", {})
        if not isinstance(table, dict):
            raise self.fail("'routes' must be a table of route prefixes", "routes")
        for prefix, spec in table.items():
            routes[prefix] = self._route(str(prefix), spec)
        return Rules(
            allow=self._cidrs(data, "allow", ()),
            deny=self._cidrs(data, "deny", ()),
            routes=routes,
            source=str(self.path),
            **limits,
        )

    def _route(self, prefix: str, spec: Any) -> RouteRules:
        where = (prefix,)
        if not prefix.startswith("/"):
            raise self.fail(f"route {prefix!r} must start with '/'", prefix)
        if not isinstance(spec, dict):
            raise self.fail(f"route {prefix!r}: expected a table of rules", prefix)
        for key in spec:
            if key not in _ROUTE_KEYS:
                raise self.fail(f"route {prefix!r}: unknown key {key!r}", prefix, key)
        size = spec.get("max_body_size")
        return RouteRules(
            allow=self._cidrs(spec, "allow", where),
            deny=self._cidrs(spec, "deny", where),
            max_body_size=None if size is None else self._limit("max_body_size", size, where),
        )

    def _cidrs(self, data: dict[str, Any], key: str, where: tuple[str, ...]) -> tuple[Network, ...]:
        value = data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{key!r} must be a list of CIDRs", *where, key)
        out = []
        for item in value:
            try:
                out.append(ipaddress.ip_network(str(item), strict=False))
            except ValueError:
                raise self.fail(f"{key!r}: {item!r} is not an IP network (CIDR)", *where, key, str(item)) from None
        return tuple(out)

    def _limit(self, key: str, value: Any, where: tuple[str, ...]) -> Any:
        try:
            if key == "header_timeout":
                seconds = float(parse_duration(value) if isinstance(value, str) else value)
                if seconds <= 0:
                    raise ValueError(value)
                return seconds
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(value)
            return float(value) if key == "rate_limit" else int(value)
        except ValueError:
            raise self.fail(f"{key!r}: expected a non-negative number, found {value!r}", *where, key) from None
