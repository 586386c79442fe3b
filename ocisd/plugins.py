"""Extension points pick their implementation by a config value: a built-in name or `module:Class`."""

from __future__ import annotations

import importlib

from ocisd.config.schema import ConfigError


def load_class(value: str, builtin: dict[str, str], base: type, key: str, what: str) -> type:
    """Resolve `value` to a subclass of `base`; `key` names the setting and `what` the kind in errors."""
    spec = builtin.get(value, value)
    module_name, sep, attr = spec.partition(":")
    if not sep:
        raise ConfigError(f"{key}: unknown driver {value!r} (built-in: {', '.join(builtin)}; or module:Class)")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{key}: cannot load {spec!r}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(f"{key}: {spec!r} is not {what} (subclass of {base.__module__}.{base.__name__})")
    return cls
