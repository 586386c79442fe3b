"""Rendered thumbnails kept in memory: the cache (least recently used out first, a byte cap)
and the large ones handed out by signed data_url until their URL expires.

In memory, not on disk: a key names an exact revision and size (a changed file has a
new etag, so a new key), so losing the cache on restart costs a re-render and never a
stale preview, and nothing half-written can ever be served or need cleaning up.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from ocisd.api.storage.v1 import errors
from ocisd.storage.service import transfer

from .render import Rendered

DATA_PATH = "/data/"
_KIND = "thumbnail"  # the signed claim that says a token is ours


class Cache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._items: OrderedDict[str, Rendered] = OrderedDict()

    def get(self, key: str) -> Rendered | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: str, item: Rendered) -> None:
        if len(item.data) > self.capacity:
            return
        old = self._items.pop(key, None)
        self.used += len(item.data) - (len(old.data) if old else 0)
        self._items[key] = item
        while self.used > self.capacity:
            _, dropped = self._items.popitem(last=False)
            self.used -= len(dropped.data)


class Handouts:
    """Large thumbnails behind a signed URL: the data server serves exactly what was signed."""

    def __init__(self, secret: str, base_url: str, ttl: float, capacity: int) -> None:
        self._secret = secret
        self._base_url = base_url
        self._ttl = ttl
        self._capacity = capacity
        self._items: OrderedDict[str, tuple[Rendered, float]] = OrderedDict()  # by key, oldest first
        self._used = 0

    def url(self, key: str, item: Rendered) -> str:
        now = time.time()
        old = self._items.pop(key, None)
        self._used += len(item.data) - (len(old[0].data) if old else 0)
        self._items[key] = (item, now + self._ttl)
        # Expired first, then the oldest (never the one just signed): a URL may be asked for again.
        while len(self._items) > 1 and (self._used > self._capacity or next(iter(self._items.values()))[1] < now):
            _, (dropped, _) = self._items.popitem(last=False)
            self._used -= len(dropped.data)
        token, _ = transfer.sign(self._secret, {"kind": _KIND, "key": key}, self._ttl)
        return f"{self._base_url}{DATA_PATH}{token}"

    def get(self, token: str) -> Rendered | None:
        """The thumbnail a valid, unexpired token names (None when forged, expired or dropped)."""
        try:
            claims: dict[str, Any] = transfer.verify(self._secret, token, _KIND)
        except errors.StorageError:
            return None
        held = self._items.get(str(claims.get("key", "")))
        return held[0] if held is not None and held[1] >= time.time() else None
