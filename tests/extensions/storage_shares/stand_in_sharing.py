"""A stand-in `sharing` service: its received shares come from a JSON file the test rewrites.

`python -m tests.extensions.storage_shares.stand_in_sharing --record JSON --shares FILE`

Serves, on the record's `grpc` address, ListReceivedShares (every share in the
file is received by whoever asks), UpdateReceivedShare (a decline is written
back) and ListShares (the file's shares whose `created` is true), and announces
the record on the bus until SIGTERM; when the file changes it rings
`event.share-updated` without recipients (as a record naming nobody it can be
read: the gateway forgets what it cached). It lets storage-shares be tested over real
gRPC without the sharing service or the storage grants (shares of one's own
folders need no grant).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc.aio
from prometheus_client import CollectorRegistry

from ocisd.api.sharing.v1 import mounts
from ocisd.api.sharing.v1 import sharing_pb2 as spb
from ocisd.api.sharing.v1 import sharing_pb2_grpc as spb_grpc
from ocisd.bus.client import BusClient
from ocisd.bus.messages import InstanceRecord
from ocisd.config import loader
from ocisd.discovery import installed
from tests.support.proxy_upstream import announce_until_stopped


class StandIn(spb_grpc.SharingServicer):
    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> list[dict[str, Any]]:
        shares: list[dict[str, Any]] = json.loads(self.path.read_text())
        return shares

    def _received(self, item: dict[str, Any]) -> spb.ReceivedShare:
        share = spb.Share(id=item["id"], resource_id=item["resource_id"], permissions=item.get("permissions", 31))
        return spb.ReceivedShare(share=share, state=item.get("state", 1), mount_point=item["mount_point"])

    async def ListReceivedShares(self, request: Any, context: Any) -> spb.ListReceivedSharesResponse:
        found = [self._received(i) for i in self._load()]
        return spb.ListReceivedSharesResponse(
            shares=[s for s in found if not request.states or s.state in request.states]
        )

    async def UpdateReceivedShare(self, request: Any, context: Any) -> spb.UpdateReceivedShareResponse:
        items = self._load()
        for item in items:
            if item["id"] == request.id:
                item["state"] = request.state
        self.path.write_text(json.dumps(items))
        return spb.UpdateReceivedShareResponse()

    async def ListShares(self, request: Any, context: Any) -> spb.ListSharesResponse:
        wanted = set(request.resource_ids)
        return spb.ListSharesResponse(
            shares=[
                spb.Share(id=i["id"], resource_id=i["resource_id"], share_type=t)
                for i in self._load()
                for t in i.get("created", [])
                if not wanted or i["resource_id"] in wanted
            ]
        )


async def ring_on_change(bus: BusClient, shares: Path) -> None:
    seen = os.stat(shares).st_mtime_ns
    while True:
        await asyncio.sleep(0.05)
        now = os.stat(shares).st_mtime_ns
        if now != seen:
            seen = now
            bus.publish_event(f"{mounts.EVENT_PREFIX}updated", {})


async def main(record: InstanceRecord, shares: Path) -> None:
    record = replace(record, pid=os.getpid())
    cfg = loader.load(None, None, installed(), os.environ)
    bus = BusClient(cfg.shared, CollectorRegistry())
    bus.start()
    server = grpc.aio.server()
    spb_grpc.add_SharingServicer_to_server(StandIn(shares), server)
    server.add_insecure_port(record.addresses["grpc"])
    await server.start()
    ringing = asyncio.get_running_loop().create_task(ring_on_change(bus, shares))
    await announce_until_stopped(bus, record, float(cfg.shared.heartbeat_interval))
    ringing.cancel()
    await server.stop(None)
    await bus.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True, help="the InstanceRecord as JSON")
    parser.add_argument("--shares", required=True, help="JSON file: [{id, resource_id, mount_point, state, created}]")
    args = parser.parse_args()
    asyncio.run(main(InstanceRecord(**json.loads(args.record)), Path(args.shares)))
