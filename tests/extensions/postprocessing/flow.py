"""What the postprocessing tests share: a real bus listener, the provider's queue, file states.

The listener is a `BusClient` in its own thread and event loop, as any extension hears
the bus; the queue is read with storage-users' Processing service and postprocessing's
service token (`tests.support.processing`), as `ocis postprocessing list` reads it.
"""

from __future__ import annotations

import asyncio
import threading
import xml.etree.ElementTree as ET
from typing import Any

from prometheus_client import CollectorRegistry

from ocisd.api.postprocessing.v1 import contract
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.bus.client import BusClient
from ocisd.config import loader
from ocisd.discovery import installed
from tests.support import sets, webdav_stack
from tests.support.harness import Deployment, metric_value, wait_until
from tests.support.processing import Worker

EVENTS = (contract.POSTPROCESSING_FINISHED, contract.FILE_READY, contract.SCAN_FINISHED)
STACK = sets.join(sets.PROCESSING)


class Listener:
    """Every postprocessing event heard on the bus, as (event, payload), in arrival order."""

    def __init__(self, dep: Deployment) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._heard = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        shared = loader.load(None, None, installed(), dep.env).shared
        self._client = asyncio.run_coroutine_threadsafe(self._start(shared), self._loop).result(30)
        # Its own ping came back through the broker: the subscriptions made before are active.
        wait_until(self._heard.is_set, 30, what="the listener hearing the bus")

    async def _start(self, shared: Any) -> BusClient:
        client = BusClient(shared, CollectorRegistry(), heard=self._heard.set)
        for event in EVENTS:
            client.subscribe(f"event.{event}", lambda m: self.events.append((m.event, m.data)))
        client.start()
        return client

    def of(self, event: str, resource_id: str) -> list[dict[str, Any]]:
        return [data for name, data in list(self.events) if name == event and data.get("resource_id") == resource_id]

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._client.close(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()


def list_jobs(dep: Deployment, failed_only: bool = False) -> list[pb.Job]:
    """The queue of the deployment's storage-users instance."""
    return list(Worker(dep).call("ListJobs", pb.ListJobsRequest(failed_only=failed_only)).jobs)


def status(dav: webdav_stack.DavStack, path: str) -> dict[str, str]:
    """The file's oc:* properties (processing-status, scan-status, id ...)."""
    reply = dav.request("PROPFIND", path, b"", {"Depth": "0"})
    assert reply.status == 207, reply
    prop = ET.fromstring(reply.body).find(".//{DAV:}propstat/{DAV:}prop")
    assert prop is not None
    oc = "{http://owncloud.org/ns}"
    return {el.tag.replace(oc, ""): el.text or "" for el in prop if el.tag.startswith(oc)}


def wait_processing_status(dav: webdav_stack.DavStack, path: str, wanted: str, timeout: float = 60) -> None:
    wait_until(lambda: status(dav, path)["processing-status"] == wanted, timeout, 0.2, f"{path} {wanted}")


def step_runs(dep: Deployment, env: dict[str, str] | None = None, step: str = contract.STEP_DELAY) -> float:
    """How often this postprocessing instance ran `step` (its metrics)."""
    return metric_value(dep.metrics("postprocessing", env), "postprocessing_step_seconds_count", f'step="{step}"')


def admin_id(dep: Deployment) -> str:
    return webdav_stack.secrets(dep)["admin_user_id"]
