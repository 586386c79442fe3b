"""A Graph client of a running deployment: HTTPS through the proxy with Basic auth, as clients call it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.support.identity import basic
from tests.support.proxy import request


@dataclass
class Graph:
    addr: str  # the proxy's host:port
    username: str
    password: str

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """(status, decoded JSON, else the raw body or None); `path` under /graph/ unless it starts with "/"."""
        target = path if path.startswith("/") else f"/graph/{path}"
        all_headers = {"Authorization": basic(self.username, self.password), **(headers or {})}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        status, _, raw = request(self.addr, method, target, data, all_headers)
        return status, json.loads(raw) if raw.startswith(b"{") else raw or None

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **kw: Any) -> Any:
        got, answer = self.call(method, path, body, **kw)
        assert got == status, (method, path, got, answer)
        return answer

    def as_user(self, username: str, password: str) -> Graph:
        return Graph(self.addr, username, password)
