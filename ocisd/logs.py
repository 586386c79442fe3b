"""Structured logs: one line per event, logfmt by default or JSON lines.

Use `get_logger("proxy").info("route added", prefix="/hello")`: the message is
the event, keyword arguments become fields. Quiet at `info`: only lifecycle
events and errors are logged there, and one event repeating is cut to a few
lines per window (`RepeatLimit`).

The root level is the process's; each extension's logger (`ocisd.<name>` and
the loggers below it) has its own, so `<NAME>_LOG_LEVEL` means the same inside
`ocis server` as in the extension's own process.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_FIELDS = "ocisd_fields"

# oCIS's level names (zerolog's); `warning` stays as an alias. Nothing logs at panic or fatal
# (a Python process does not die from a log line), so both keep CRITICAL; trace is below DEBUG.
TRACE = 5
logging.addLevelName(TRACE, "TRACE")
LEVEL_NAMES = ("panic", "fatal", "error", "warn", "info", "debug", "trace")
_LEVELS = {
    "panic": logging.CRITICAL,
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}


def is_level(name: str) -> bool:
    return name.lower() in _LEVELS


def level_of(name: str) -> int:
    """The `logging` level of a configured name, in any case (see `is_level`)."""
    return _LEVELS[name.lower()]


_NEEDS_QUOTES = re.compile(r'[ ="\n\t\\]')  # one regex scan instead of seven `in` scans per value


def _logfmt_value(value: Any) -> str:
    text = str(value)
    if text == "" or _NEEDS_QUOTES.search(text):
        return json.dumps(text, ensure_ascii=False)
    return text


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _base_fields(record)
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in fields.items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_base_fields(record), default=str, ensure_ascii=False)


def _base_fields(record: logging.LogRecord) -> dict[str, Any]:
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    fields: dict[str, Any] = {
        "time": f"{ts}.{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    fields.update(getattr(record, _FIELDS, {}))
    if record.exc_info:
        fields["error"] = logging.Formatter().formatException(record.exc_info)
    return fields


class Logger:
    """A logger bound to a name and fixed fields, taking extra fields as keyword arguments."""

    def __init__(self, name: str, **bound: Any) -> None:
        self._log = logging.getLogger(name)
        self._bound = bound

    def bind(self, **fields: Any) -> Logger:
        return Logger(self._log.name, **{**self._bound, **fields})

    def _emit(self, level: int, msg: str, exc_info: bool, fields: dict[str, Any]) -> None:
        if self._log.isEnabledFor(level):
            self._log.log(level, msg, exc_info=exc_info, extra={_FIELDS: {**self._bound, **fields}})

    def debug(self, msg: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, msg, False, fields)

    def info(self, msg: str, **fields: Any) -> None:
        self._emit(logging.INFO, msg, False, fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self._emit(logging.WARNING, msg, False, fields)

    def error(self, msg: str, exc_info: bool = False, **fields: Any) -> None:
        self._emit(logging.ERROR, msg, exc_info, fields)


@dataclass
class _Burst:
    start: float
    passed: int = 0
    dropped: int = 0


class RepeatLimit(logging.Filter):
    """At most `burst` lines of one event (logger, level, message) per `window` seconds.

    A component failing in a loop would otherwise write the same error many
    times a second and bury everything else. The first line of an event after
    a window that dropped some carries `suppressed=N`. Debug and trace lines
    pass untouched: whoever turns them on asked for every one.
    """

    def __init__(
        self, burst: int = 5, window: float = 10.0, events: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._burst, self._window, self._events, self._clock = burst, window, events, clock
        self._seen: OrderedDict[tuple[str, int, object], _Burst] = OrderedDict()
        self._lock = threading.Lock()  # handlers filter outside their own lock

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True
        key = (record.name, record.levelno, record.msg)
        now = self._clock()
        with self._lock:
            burst = self._seen.get(key)
            if burst is None or now - burst.start >= self._window:
                dropped = burst.dropped if burst else 0
                burst = self._seen[key] = _Burst(now)
                if dropped:
                    setattr(record, _FIELDS, {**getattr(record, _FIELDS, {}), "suppressed": dropped})
            self._seen.move_to_end(key)
            if len(self._seen) > self._events:
                self._seen.popitem(last=False)
            if burst.passed >= self._burst:
                burst.dropped += 1
                return False
            burst.passed += 1
            return True


def get_logger(name: str, **bound: Any) -> Logger:
    return Logger(f"ocisd.{name}" if not name.startswith("ocisd") else name, **bound)


def extension_logger(name: str, level: str) -> Logger:
    """Extension `name`'s logger, at its own level whatever the process's is."""
    logging.getLogger(f"ocisd.{name}").setLevel(level_of(level))
    return get_logger(name, ext=name)


def setup(level: str = "info", fmt: str = "logfmt") -> None:
    """Configure the root logger once per process (stderr)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    handler.addFilter(RepeatLimit())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_of(level))
    # Libraries log their own chatter at info; keep them to warnings.
    for noisy in ("aiohttp.access", "asyncio", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
