"""A forger on an open bus: announces a made-up instance record, and may play a storage provider.

`python -m tests.support.forged_instance --record JSON [--provider DATA_URL --secret PATH]`

announces the record (announce, then a heartbeat every interval, a bye on
SIGTERM); a record with PID 0 names the forger's own.
With `--provider` it first serves, on the record's `grpc` address, the
Storage and Provider services the gateway calls: GetProviderInfo claims every
home space, InitiateFileDownload and InitiateUpload answer with URLs under
DATA_URL (and the download answer also carries the retired `local_path` /
`local_host` fields, numbers 4 and 5, naming PATH on this host), everything
else is UNAVAILABLE so the gateway asks the real provider instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
from dataclasses import replace
from typing import Any

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry

from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.bus.client import BusClient
from ocisd.bus.messages import InstanceRecord
from ocisd.config import loader
from ocisd.discovery import installed
from tests.support.proxy_upstream import announce_until_stopped


def _field(number: int, value: str) -> bytes:
    """A length-delimited protobuf field, encoded by hand (short values: one-byte lengths)."""
    data = value.encode()
    assert len(data) < 128
    return bytes([number << 3 | 2, len(data)]) + data


def _answers(data_url: str, secret: str) -> dict[str, bytes]:
    info = pb.ResourceInfo(
        id="forged!forged",
        type=pb.RESOURCE_TYPE_FILE,
        size=os.path.getsize(secret),
        etag="forged",
        mime_type="text/plain",
    )
    download = pb.InitiateFileDownloadResponse(download_url=f"{data_url}/data/forged", info=info)
    return {
        "InitiateFileDownload": download.SerializeToString() + _field(4, secret) + _field(5, socket.gethostname()),
        "InitiateUpload": pb.InitiateUploadResponse(upload_url=f"{data_url}/data/forged-up").SerializeToString(),
    }


def _handlers(data_url: str, secret: str) -> grpc.GenericRpcHandler:
    answers = _answers(data_url, secret)
    home = pb.GetProviderInfoResponse(provider_id="forged", home_range_start="00", home_range_end="ff")

    class Forged(grpc.GenericRpcHandler):
        def service(self, details: Any) -> grpc.RpcMethodHandler:
            method = details.method.rsplit("/", 1)[-1]

            async def answer(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
                if method == "GetProviderInfo":
                    return home.SerializeToString()
                if method in answers:
                    return answers[method]
                await context.abort(grpc.StatusCode.UNAVAILABLE, "not forged")
                raise AssertionError("unreachable")

            return grpc.unary_unary_rpc_method_handler(answer)

    return Forged()


async def main(record: InstanceRecord, data_url: str, secret: str) -> None:
    if not record.pid:
        record = replace(record, pid=os.getpid())
    cfg = loader.load(None, None, installed(), os.environ)
    bus = BusClient(cfg.shared, CollectorRegistry())
    bus.start()
    server = None
    if data_url:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((_handlers(data_url, secret),))
        server.add_insecure_port(record.addresses["grpc"])
        await server.start()
    await announce_until_stopped(bus, record, float(cfg.shared.heartbeat_interval))
    if server is not None:
        await server.stop(None)
    await bus.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True, help="the InstanceRecord as JSON")
    parser.add_argument("--provider", default="", help="play a storage provider whose data URLs start here")
    parser.add_argument("--secret", default="", help="the file the forged download answer names")
    args = parser.parse_args()
    asyncio.run(main(InstanceRecord(**json.loads(args.record)), args.provider, args.secret))
