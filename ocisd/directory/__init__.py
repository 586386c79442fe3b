"""A directory of named records (users, groups): the backend extension point and the lookups.

A record has an id and a name that is unique case-insensitively (compared by
`contract.key`). Each directory service subclasses `Backend` for what it stores
beyond that and `Directory` for its rules; `load` picks the backend its `driver`
setting names: a built-in (sqlite, postgres), or a third party's `module:Class`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Generic, TypeVar

from ocisd.api.identity.v1.contract import NotFound, key
from ocisd.plugins import load_class

from .worker import Worker

R = TypeVar("R")
B = TypeVar("B", bound="Backend[Any]")


class Backend(ABC, Generic[R]):
    """What every directory backend stores. Names are validated by the caller; `name_key` is their `key`."""

    def __init__(self, config: Any, data_dir: Path, dsn: str = "") -> None:
        """`dsn`: the extension's PostgreSQL DSN (its own or OCIS_POSTGRES_DSN), empty when none is set."""
        self.config = config
        self.data_dir = data_dir

    @abstractmethod
    def add(self, record: R, name_key: str) -> None:
        """Store a new record; NameTaken when its id or name_key exists."""

    @abstractmethod
    def get(self, record_id: str) -> R | None: ...

    @abstractmethod
    def by_name(self, name_key: str) -> R | None: ...

    @abstractmethod
    def find(self, query: str) -> list[R]:
        """Records whose name or another text field contains `query` (all when empty), by name."""

    @abstractmethod
    def delete(self, record_id: str) -> bool:
        """Remove the record and what belongs to it; False when there was none."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


def backend_class(config: Any, base: type, builtin: dict[str, str], noun: str) -> type:
    """The subclass of `base` that `config.driver` names; `noun` ("user") names it in errors.
    Extensions call it from `check`, so a wrong driver stops the start with exit 2."""
    return load_class(config.driver, builtin, base, f"{noun}s.driver", f"a {noun} backend")


def load(config: Any, data_dir: Path, dsn: str, base: type, builtin: dict[str, str], noun: str) -> Any:
    """The backend `config.driver` names, an instance of a subclass of `base`."""
    return backend_class(config, base, builtin, noun)(config, data_dir, dsn)


class Directory(Generic[R, B]):
    """Lookups over a backend that raise NotFound; `noun` names a record in messages.
    Every backend call runs on the backend's own thread (`Worker`), off the event loop."""

    noun = "record"

    def __init__(self, worker: Worker[B]) -> None:
        self._backend = worker.backend
        self._run = worker.run

    def missing(self, record_id: str) -> NotFound:
        return NotFound(f"no {self.noun} with id {record_id!r}")

    async def add(self, record: R, name: str) -> None:
        await self._run(self._backend.add, record, key(name))

    async def get(self, record_id: str) -> R:
        record: R | None = await self._run(self._backend.get, record_id)
        if record is None:
            raise self.missing(record_id)
        return record

    async def by_name(self, name: str) -> R:
        record: R | None = await self._run(self._backend.by_name, key(name))
        if record is None:
            raise NotFound(f"no {self.noun} named {name!r}")
        return record

    async def find(self, query: str) -> list[R]:
        found: list[R] = await self._run(self._backend.find, query)
        return found

    async def delete(self, record_id: str) -> None:
        if not await self._run(self._backend.delete, record_id):
            raise self.missing(record_id)
