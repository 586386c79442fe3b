"""THUMBNAILS_RESOLUTIONS: parsing it, and the configured size closest to what a request asks."""

from __future__ import annotations

import re

from ocisd.config.schema import ConfigError

_SIZE = re.compile(r"\s*([1-9][0-9]{0,4})x([1-9][0-9]{0,4})\s*")

Resolution = tuple[int, int]


def parse(text: str) -> list[Resolution]:
    """ "16x16,32x32" -> [(16, 16), (32, 32)]; ConfigError for anything else or an empty list."""
    out = []
    for item in text.split(","):
        m = _SIZE.fullmatch(item)
        if m is None:
            raise ConfigError(f"resolutions: expected WIDTHxHEIGHT items like 128x128, found {item.strip()!r}")
        out.append((int(m[1]), int(m[2])))
    return out


def closest(resolutions: list[Resolution], width: int, height: int) -> Resolution:
    """The configured size nearest to width x height (sum of both differences); on a tie the larger."""
    return min(resolutions, key=lambda r: (abs(r[0] - width) + abs(r[1] - height), -r[0] * r[1]))
