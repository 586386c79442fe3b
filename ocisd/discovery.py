"""Find extensions through the `ocisd.extensions` entry-point group.

Built-ins register themselves the same way a third party does, so the core
never imports an extension package by name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from ocisd.config.schema import ConfigError
from ocisd.extension import Extension

GROUP = "ocisd.extensions"
BUS = "bus"  # every extension starts after the broker when both run in one runtime
# Older names (oCIS's) accepted wherever an extension is named; the registry, logs and
# config sections use the current name.
ALIASES = {"storage-authmachine": "auth-machine"}


def canonical(name: str) -> str:
    """The current name of extension `name` (itself unless it is an older alias)."""
    return ALIASES.get(name, name)


def aliases_of(name: str) -> list[str]:
    """The older names that also mean extension `name`."""
    return [old for old, new in ALIASES.items() if new == name]


def _load(ep: EntryPoint) -> type[Extension]:
    try:
        cls = ep.load()
    except Exception as exc:
        raise ConfigError(f"extension entry point {ep.name!r} ({ep.value}) failed to load: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Extension)) or cls.name != ep.name:
        raise ConfigError(f"entry point {ep.name!r} ({ep.value}) is not an Extension named {ep.name!r}")
    return cls


@cache
def installed() -> dict[str, type[Extension]]:
    """Every installed extension by name."""
    found: dict[str, type[Extension]] = {}
    for ep in entry_points(group=GROUP):
        cls = _load(ep)
        if ep.name in found and found[ep.name] is not cls:
            raise ConfigError(f"two installed extensions are named {ep.name!r}")
        found[ep.name] = cls
    return dict(sorted(found.items()))


def names() -> list[str]:
    """Installed extension names, without importing any extension."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def load_one(name: str) -> type[Extension]:
    """Import just one extension: `ocis <name> server` under a supervisor starts faster."""
    for ep in entry_points(group=GROUP, name=canonical(name)):
        return _load(ep)
    raise ConfigError(f"unknown extension {name!r}; known extensions: {', '.join(names())}")


def dependencies(cls: type[Extension]) -> tuple[str, ...]:
    deps = tuple(cls.depends)
    return deps if cls.name == BUS or BUS in deps else (BUS, *deps)


def split_names(text: str) -> list[str]:
    """`a, b,,c` → its extension names, older aliases replaced by the current names."""
    return [canonical(n.strip()) for n in text.split(",") if n.strip()]


def selection(env: Mapping[str, str] | None = None) -> list[str]:
    """The extensions `ocis server` runs, in dependency order.

    OCIS_RUN_EXTENSIONS (alias OCIS_RUN_SERVICES) names them, when unset all installed ones
    except the optional ones (`Extension.optional`); OCIS_ADD_RUN_EXTENSIONS (alias
    OCIS_ADD_RUN_SERVICES) adds some, OCIS_EXCLUDE_RUN_EXTENSIONS (alias
    OCIS_EXCLUDE_RUN_SERVICES) removes some.
    """
    env = os.environ if env is None else env
    known = installed()

    def listed(key: str) -> list[str]:
        return split_names(env.get(f"OCIS_{key}_EXTENSIONS", env.get(f"OCIS_{key}_SERVICES", "")))

    run = listed("RUN") or [name for name, cls in known.items() if not cls.optional]
    add, exclude = listed("ADD_RUN"), listed("EXCLUDE_RUN")
    for name in run + add + exclude:
        if name not in known:
            raise ConfigError(f"unknown extension {name!r}; known extensions: {', '.join(known)}")
    twice = sorted({n for n in run if run.count(n) > 1})
    if twice:
        raise ConfigError(f"extension {twice[0]!r} is named twice: one runtime runs one instance of each extension")
    run += [n for n in dict.fromkeys(add) if n not in run]
    return order([n for n in run if n not in exclude])


def deployment(extensions: str, env: Mapping[str, str]) -> list[str]:
    """What `ocis supervisor|systemd generate` deploys: the comma list `extensions` (every
    non-optional extension when empty) plus those OCIS_ADD_RUN_EXTENSIONS of `env` adds."""
    added = {k: env[k] for k in (f"OCIS_ADD_RUN_{kind}" for kind in ("EXTENSIONS", "SERVICES")) if k in env}
    return selection({**added, "OCIS_RUN_EXTENSIONS": extensions})


def optional_env(names: list[str]) -> dict[str, str]:
    """The environment that makes `selection()` in every process of a deployment of `names`
    agree on the optional extensions it runs (what `POSTPROCESSING_STEPS=auto` asks)."""
    known = installed()
    optional = [n for n in names if known[n].optional]
    return {"OCIS_ADD_RUN_EXTENSIONS": ",".join(optional)} if optional else {}


def order(names: list[str]) -> list[str]:
    """Topological order of `names` by their dependencies (those outside `names` are ignored)."""
    known = installed()
    chosen = set(names)
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise ConfigError(f"dependency cycle through extension {name!r}")
        visiting.add(name)
        for dep in dependencies(known[name]):
            if dep in chosen and dep in known:
                visit(dep)
        visiting.discard(name)
        done.append(name)

    for name in sorted(names):
        visit(name)
    return done
