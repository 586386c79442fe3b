"""thumbnails against real processes: bus, storage-users, gateway and thumbnails, called over
loopback gRPC with a user's token."""

from __future__ import annotations

import io
from collections.abc import Iterator

import grpc
import pytest
from PIL import Image

from ocisd import identity
from ocisd.api.thumbnails.v1 import thumbnails_pb2 as tpb
from ocisd.api.thumbnails.v1 import thumbnails_pb2_grpc
from tests.support.harness import metric_value
from tests.support.storage_stack import ALICE, BOB, Stack, reason, ref, running_stack


class Thumbs:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._channel = grpc.insecure_channel(stack.dep.addr("thumbnails", "grpc_addr"))
        self.stub = thumbnails_pb2_grpc.ThumbnailsStub(self._channel)

    def get(
        self, path: str, x: int, y: int, who: identity.Identity = ALICE, **opts: object
    ) -> tpb.GetThumbnailResponse:
        request = tpb.GetThumbnailRequest(ref=ref(path), width=x, height=y, **opts)  # type: ignore[arg-type]
        return self.stub.GetThumbnail(request, metadata=[(identity.GRPC_METADATA, self.stack.token(who))], timeout=60)

    def refused(
        self, path: str, x: int = 32, y: int = 32, who: identity.Identity = ALICE, **opts: object
    ) -> tuple[grpc.StatusCode, str]:
        with pytest.raises(grpc.RpcError) as err:
            self.get(path, x, y, who, **opts)
        return err.value.code(), reason(err.value)

    def metric(self, how: str) -> float:
        return metric_value(self.stack.dep.metrics("thumbnails"), "thumbnails_requests_total", f'how="{how}"')

    def downloads(self) -> float:
        return metric_value(self.stack.dep.metrics("thumbnails"), "thumbnails_source_downloads_total", 'outcome="ok"')


@pytest.fixture(scope="module")
def thumbs() -> Iterator[Thumbs]:
    with running_stack() as stack:
        stack.dep.start_extension("thumbnails")
        t = Thumbs(stack)
        yield t
        t._channel.close()


def picture(fmt: str, size: tuple[int, int], color: str = "red", mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, fmt)
    return buf.getvalue()


def opened(reply: tpb.GetThumbnailResponse) -> Image.Image:
    img = Image.open(io.BytesIO(reply.thumbnail))
    img.load()
    return img


def test_png_keeps_its_type_and_aspect_at_the_closest_size(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/wide.png", picture("PNG", (400, 200), mode="RGBA"))
    reply = thumbs.get("/wide.png", 100, 100)  # closest configured: 128x128
    img = opened(reply)
    assert reply.mime_type == "image/png" and img.format == "PNG"
    assert (reply.width, reply.height) == img.size == (128, 64)
    assert reply.info.path == "/wide.png" and reply.etag


def test_jpeg_becomes_jpeg(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/photo.jpg", picture("JPEG", (3000, 2000), "blue"))
    reply = thumbs.get("/photo.jpg", 1900, 1000)  # closest: 1920x1080
    img = opened(reply)
    assert reply.mime_type == "image/jpeg" and img.format == "JPEG"
    assert img.size == (1620, 1080)
    r, g, b = img.convert("RGB").getpixel((10, 10))
    assert b > 200 and r < 50


def test_another_users_file_is_not_found(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/mine.png", picture("PNG", (20, 20)))
    assert thumbs.refused("/mine.png", who=BOB) == (grpc.StatusCode.NOT_FOUND, "not-found")
