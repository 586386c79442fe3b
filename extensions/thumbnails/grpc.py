"""The Thumbnails gRPC service: check the request and the file as the caller, answer from the
cache or fetch and render (in worker threads, a bounded number at once)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from concurrent.futures import ThreadPoolExecutor

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry, Counter, Gauge

from ocisd.api.postprocessing.v1.contract import PROCESSING, READY, REASON_BLOCKED, REASON_PROCESSING
from ocisd.api.storage.v1 import storage_pb2 as pb
from ocisd.api.storage.v1 import storage_pb2_grpc
from ocisd.api.thumbnails.v1 import contract, thumbnails_pb2_grpc
from ocisd.api.thumbnails.v1 import thumbnails_pb2 as tpb
from ocisd.rpc.client import RpcClients

from . import render, sizes
from .cache import Cache, Handouts
from .config import ThumbnailsConfig
from .refusal import Refused, handled
from .source import Changed, Sources

_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


class ThumbnailsService(thumbnails_pb2_grpc.ThumbnailsServicer):
    def __init__(
        self,
        cfg: ThumbnailsConfig,
        rpc: RpcClients,
        sources: Sources,
        cache: Cache,
        handouts: Handouts,
        metrics: CollectorRegistry,
    ) -> None:
        self._cfg = cfg
        self._resolutions = sizes.parse(cfg.resolutions)
        self._gateway = rpc.stub("gateway", storage_pb2_grpc.StorageStub)
        self._sources = sources
        self._cache = cache
        self._handouts = handouts
        self._rendering: dict[str, asyncio.Future[render.Rendered]] = {}  # by etag
        self._slots = asyncio.Semaphore(cfg.max_concurrent_requests)  # downloads and renders at once
        self._workers = ThreadPoolExecutor(cfg.max_concurrent_requests, thread_name_prefix="thumbnails")
        self._answers = Counter(
            "thumbnails_requests",
            "GetThumbnail answers, by how: cached, rendered, joined (a render under way), not_modified, refused.",
            ["how"],
            registry=metrics,
        )
        cached = Gauge("thumbnails_cache_bytes", "Bytes of rendered thumbnails held in the cache.", registry=metrics)
        cached.set_function(lambda: float(cache.used))

    def close(self) -> None:
        self._workers.shutdown(wait=False, cancel_futures=True)

    @handled
    async def GetThumbnail(
        self, request: tpb.GetThumbnailRequest, context: grpc.aio.ServicerContext
    ) -> tpb.GetThumbnailResponse:
        try:
            reply = await self._answer(request)
        except Refused:
            self._answers.labels("refused").inc()
            raise
        return reply

    async def _answer(self, request: tpb.GetThumbnailRequest) -> tpb.GetThumbnailResponse:
        if request.width < 1 or request.height < 1:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, contract.REASON_BAD_SIZE, "width and height must be >= 1")
        if request.processor.lower() not in contract.PROCESSORS:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                contract.REASON_BAD_PROCESSOR,
                f"unknown processor {request.processor!r}",
            )
        for attempt in range(2):
            info = await self._stat(request.ref)
            try:
                return await self._thumbnail(request, info)
            except Changed:
                if attempt:
                    raise Refused(grpc.StatusCode.ABORTED, "changed", "the file keeps changing") from None
        raise AssertionError("unreachable")

    async def _stat(self, ref: pb.Reference) -> pb.ResourceInfo:
        try:
            info: pb.ResourceInfo = (await self._gateway.Stat(pb.StatRequest(ref=ref))).info
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.PERMISSION_DENIED:  # a preview never says what others have
                raise Refused(grpc.StatusCode.NOT_FOUND, "not-found", "no such file") from None
            raise Refused.passed_on(exc) from None
        if info.type != pb.RESOURCE_TYPE_FILE:
            raise Refused(_PRECONDITION, contract.REASON_NOT_A_FILE, "only files have previews")
        if info.processing_status == PROCESSING:
            raise Refused(_PRECONDITION, REASON_PROCESSING, "the file is still being processed")
        if info.processing_status not in ("", READY):  # infected, or its postprocessing failed
            raise Refused(_PRECONDITION, REASON_BLOCKED, f"the file is {info.processing_status}")
        if _mime(info) not in contract.PREVIEW_MIME_TYPES:
            raise Refused(
                grpc.StatusCode.UNIMPLEMENTED, contract.REASON_UNSUPPORTED_TYPE, f"no previews of {_mime(info)}"
            )
        if not 0 < info.size <= self._cfg.max_input_image_file_size:
            raise Refused(_PRECONDITION, contract.REASON_BAD_IMAGE, f"{info.size} bytes is outside the input limit")
        return info

    async def _thumbnail(self, request: tpb.GetThumbnailRequest, info: pb.ResourceInfo) -> tpb.GetThumbnailResponse:
        mime = _mime(info)
        width, height = sizes.closest(self._resolutions, request.width, request.height)
        processor = request.processor.lower() or render.DEFAULT_PROCESSOR
        out = render.output_format(mime)
        aspect = request.preserve_aspect and processor == "resize"  # the others keep it by their nature
        parts = (info.id, info.etag, f"{width}x{height}", processor, out, "a" if aspect else "")
        etag = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]
        if etag in _etags(request.if_none_match):
            self._answers.labels("not_modified").inc()
            return tpb.GetThumbnailResponse(etag=etag, mime_type=render.OUTPUT_MIME[out], not_modified=True, info=info)
        item = self._cache.get(etag)
        if item is not None:
            self._answers.labels("cached").inc()
        else:
            limits = (self._cfg.max_input_width, self._cfg.max_input_height)
            item = await self._rendered(
                etag, request.ref, info, render.Job(b"", mime, width, height, processor, aspect, *limits)
            )
        reply = tpb.GetThumbnailResponse(
            etag=etag, mime_type=item.mime, width=item.width, height=item.height, info=info
        )
        if len(item.data) <= contract.INLINE_LIMIT:
            reply.thumbnail = item.data
        else:
            reply.data_url = self._handouts.url(etag, item)
        return reply

    async def _rendered(self, etag: str, ref: pb.Reference, info: pb.ResourceInfo, job: render.Job) -> render.Rendered:
        """One render per thumbnail at a time: whoever asks for it meanwhile waits for the same one.
        It runs on when its first caller gives up (a deadline): the next ask finds it cached."""
        task = self._rendering.get(etag)
        how = "joined" if task else "rendered"
        if task is None:
            task = self._rendering[etag] = asyncio.ensure_future(self._render(ref, info, job))
            task.add_done_callback(lambda done: self._finished(etag, done))
        item = await asyncio.shield(task)
        self._answers.labels(how).inc()
        return item

    def _finished(self, etag: str, task: asyncio.Future[render.Rendered]) -> None:
        del self._rendering[etag]
        if not task.cancelled() and task.exception() is None:
            self._cache.put(etag, task.result())

    async def _render(self, ref: pb.Reference, info: pb.ResourceInfo, job: render.Job) -> render.Rendered:
        first = render.TEXT_BYTES if job.mime == "text/plain" else 0
        async with self._slots:
            data = await self._sources.fetch(ref, info, self._cfg.max_input_image_file_size, first)
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(self._workers, render.render, dataclasses.replace(job, data=data))
            except render.BadImage as exc:
                raise Refused(_PRECONDITION, contract.REASON_BAD_IMAGE, str(exc)) from None


def _etags(header: str) -> set[str]:
    """The entity tags of an If-None-Match value ("a", W/"b", c), unquoted."""
    return {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",") if tag.strip()}


def _mime(info: pb.ResourceInfo) -> str:
    return info.mime_type.split(";", 1)[0].strip().lower()
