"""`ocis storage-users trash-bin purge-expired`: purge trash items older than the retention, now.

Each running storage-users instance purges by its own `trash_retention` (what the
hourly purge inside it does), called over gRPC as the admin.
"""

from __future__ import annotations

import argparse

from ocisd.api.storage.v1 import storage_pb2, storage_pb2_grpc
from ocisd.cli import remote
from ocisd.config.loader import EffectiveConfig
from ocisd.extension import ExtensionCommand
from ocisd.rpc.client import RpcClients

NAME = "storage-users"


async def _purge_expired(rpc: RpcClients) -> int:
    request = storage_pb2.PurgeExpiredTrashRequest()
    for target in rpc.targets(NAME):
        reply = await rpc.call(NAME, storage_pb2_grpc.StorageStub, "PurgeExpiredTrash", request, targets=[target])
        print(f"{target[0]}: {reply.purged} expired trash items purged")
    return 0


def _setup(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="trash_action", metavar="ACTION", required=True)
    sub.add_parser("purge-expired", help="purge the items older than each instance's trash_retention now")


def _run(args: argparse.Namespace, cfg: EffectiveConfig) -> int:
    return remote.run((NAME,), _purge_expired)


TRASH_BIN = ExtensionCommand("trash-bin", "manage the trash bins of the personal spaces", _setup, _run)
