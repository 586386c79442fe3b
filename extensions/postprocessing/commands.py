"""`ocis postprocessing list [--failed]` and `ocis postprocessing retry ID...|--all-failed`.

Every running storage-users instance keeps its own queue: the CLI finds them on the
bus and asks each with postprocessing's service token, as the running extension does.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ocisd import authz, identity
from ocisd.api.postprocessing.v1 import contract
from ocisd.api.storage.v1 import storage_pb2, storage_pb2_grpc
from ocisd.cli import remote
from ocisd.cli.command import print_json, print_table
from ocisd.config.loader import EffectiveConfig
from ocisd.extension import ExtensionCommand
from ocisd.rpc.client import RpcClients, Target

PROVIDERS = "storage-users"
COLUMNS = ["id", "provider", "kind", "state", "attempts", "path", "last_error"]


async def _each_provider(cfg: EffectiveConfig, rpc: RpcClients, method: str, request: Any) -> list[tuple[Target, Any]]:
    token = identity.mint(cfg.shared.jwt_secret, identity.service_identity(contract.NAME))
    answers = []
    with authz.acting_as(token):
        for target in rpc.targets(PROVIDERS):
            answers.append(
                (target, await rpc.call(PROVIDERS, storage_pb2_grpc.ProcessingStub, method, request, targets=[target]))
            )
    return answers


def _row(target: Target, job: storage_pb2.Job) -> dict[str, Any]:
    return {"provider": target[0], **{f.name: getattr(job, f.name) for f in job.DESCRIPTOR.fields}}


def _setup_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--failed", action="store_true", help="only the jobs whose attempts are exhausted (state failed)")
    p.add_argument("--json", action="store_true", help="print the jobs as JSON (every field, with its provider)")


def _list(args: argparse.Namespace, cfg: EffectiveConfig) -> int:
    async def action(rpc: RpcClients) -> int:
        request = storage_pb2.ListJobsRequest(failed_only=args.failed)
        rows = [_row(t, job) for t, reply in await _each_provider(cfg, rpc, "ListJobs", request) for job in reply.jobs]
        if args.json:
            print_json(rows)
        else:
            print_table(rows, COLUMNS)
        return 0

    return remote.run((PROVIDERS,), action)


def _setup_retry(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="*", metavar="ID", help="failed job ids (as `ocis postprocessing list` shows)")
    p.add_argument("--all-failed", action="store_true", help="re-queue every failed job")
    p.add_argument("--json", action="store_true", help='print {"requeued": [ids]}')


def _retry(args: argparse.Namespace, cfg: EffectiveConfig) -> int:
    if bool(args.ids) == args.all_failed:
        print("ocis: name the job ids to retry, or --all-failed (not both)", file=sys.stderr)
        return 2

    async def action(rpc: RpcClients) -> int:
        request = storage_pb2.RetryJobsRequest(job_ids=args.ids, all_failed=args.all_failed)
        done = [i for _, reply in await _each_provider(cfg, rpc, "RetryJobs", request) for i in reply.job_ids]
        missing = [i for i in args.ids if i not in done]
        if args.json:
            print_json({"requeued": done, "not_failed": missing})
        else:
            print(f"re-queued {len(done)} job(s){': ' + ', '.join(done) if done else ''}")
            for job_id in missing:
                print(f"ocis: no failed job {job_id}", file=sys.stderr)
        return 1 if missing else 0

    return remote.run((PROVIDERS,), action)


LIST = ExtensionCommand("list", "list the postprocessing jobs of every storage-users instance", _setup_list, _list)
RETRY = ExtensionCommand("retry", "re-queue failed postprocessing jobs", _setup_retry, _retry)
