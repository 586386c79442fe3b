"""A client of the thumbnails service for the tests (gRPC over loopback with a user token),
and the pictures they upload."""

from __future__ import annotations

import io
import struct
import zlib

import grpc
import pytest
from PIL import Image

from ocisd import identity
from ocisd.api.thumbnails.v1 import thumbnails_pb2 as tpb
from ocisd.api.thumbnails.v1 import thumbnails_pb2_grpc
from tests.support.harness import metric_value
from tests.support.storage_stack import ALICE, Stack, reason, ref


class Thumbs:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.channel = grpc.insecure_channel(stack.dep.addr("thumbnails", "grpc_addr"))
        self.stub = thumbnails_pb2_grpc.ThumbnailsStub(self.channel)

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


def picture(fmt: str, size: tuple[int, int], color: str = "red", mode: str = "RGB") -> bytes:
    return encoded(Image.new(mode, size, color), fmt)


def noise(size: tuple[int, int]) -> bytes:
    """A JPEG that does not compress well (a thumbnail of it stays large)."""
    return encoded(Image.merge("RGB", [Image.effect_noise(size, 80) for _ in range(3)]), "JPEG", quality=95)


def encoded(img: Image.Image, fmt: str, **opts: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **opts)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def opened(reply: tpb.GetThumbnailResponse) -> Image.Image:
    img = Image.open(io.BytesIO(reply.thumbnail))
    img.load()
    return img
