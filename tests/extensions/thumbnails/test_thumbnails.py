"""thumbnails against real processes: bus, storage-users, gateway and thumbnails, called over
loopback gRPC with a user's token."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from PIL import Image

from ocisd import identity
from ocisd.api.thumbnails.v1 import thumbnails_pb2 as tpb
from ocisd.api.thumbnails.v1.contract import INLINE_LIMIT
from tests.support.storage_stack import BOB, http, reason, ref, running_stack

from .client import Thumbs, noise, opened, picture, png_claiming


@pytest.fixture(scope="module")
def thumbs() -> Iterator[Thumbs]:
    with running_stack() as stack:
        stack.dep.start_extension("thumbnails")
        t = Thumbs(stack)
        yield t
        t.channel.close()


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


@pytest.mark.parametrize(
    ("name", "fmt", "mime", "out"),
    [
        ("anim.gif", "GIF", "image/gif", "GIF"),
        ("old.bmp", "BMP", "image/bmp", "JPEG"),
        ("scan.tif", "TIFF", "image/tiff", "JPEG"),
        ("web.webp", "WEBP", "image/webp", "JPEG"),
    ],
)
def test_every_image_format(thumbs: Thumbs, name: str, fmt: str, mime: str, out: str) -> None:
    thumbs.stack.upload(f"/{name}", picture(fmt, (90, 300), "green"))
    reply = thumbs.get(f"/{name}", 60, 70)  # closest: 64x64
    img = opened(reply)
    assert reply.info.mime_type == mime
    assert img.format == out and reply.mime_type == f"image/{out.lower()}"
    assert img.size == (19, 64)  # tall stays tall
    r, g, b = img.convert("RGB").getpixel((9, 32))
    assert g > 100 and r < 60 and b < 60


def test_text_is_drawn_as_an_image(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/notes.txt", b"".join(b"line %d of some notes\n" % n for n in range(200)))
    reply = thumbs.get("/notes.txt", 128, 128)
    img = opened(reply).convert("L")
    assert reply.mime_type == "image/jpeg" and img.size == (128, 128)
    darkest, lightest = img.getextrema()
    assert darkest < 100 and lightest > 200  # dark letters on a white page


@pytest.mark.parametrize(
    ("processor", "aspect", "size"),
    [
        ("", False, (128, 64)),
        ("fit", False, (128, 64)),
        ("fill", False, (128, 128)),
        ("thumbnail", False, (128, 128)),
        ("resize", False, (128, 128)),
        ("resize", True, (128, 64)),
    ],
)
def test_processors(thumbs: Thumbs, processor: str, aspect: bool, size: tuple[int, int]) -> None:
    thumbs.stack.upload("/proc.png", picture("PNG", (400, 200)))
    reply = thumbs.get("/proc.png", 128, 128, processor=processor, preserve_aspect=aspect)
    assert opened(reply).size == size


def test_second_call_is_answered_from_the_cache(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/cached.png", picture("PNG", (300, 300)))
    first = thumbs.get("/cached.png", 32, 32)
    downloads, cached = thumbs.downloads(), thumbs.metric("cached")
    second = thumbs.get("/cached.png", 30, 34)  # the same resolution, 32x32
    assert second.thumbnail == first.thumbnail and second.etag == first.etag
    assert thumbs.downloads() == downloads and thumbs.metric("cached") == cached + 1
    assert thumbs.get("/cached.png", 64, 64).etag != first.etag  # another size is another thumbnail


def test_if_none_match_answers_not_modified(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/same.png", picture("PNG", (50, 50)))
    etag = thumbs.get("/same.png", 16, 16).etag
    reply = thumbs.get("/same.png", 16, 16, if_none_match=f'"{etag}"')
    assert reply.not_modified and reply.etag == etag and not reply.thumbnail


def test_a_changed_file_gets_a_new_preview(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/changing.png", picture("PNG", (100, 100), "red"))
    before = thumbs.get("/changing.png", 64, 64)
    thumbs.stack.upload("/changing.png", picture("PNG", (100, 100), "blue"))
    after = thumbs.get("/changing.png", 64, 64, if_none_match=before.etag)
    assert not after.not_modified and after.etag != before.etag
    assert opened(before).convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    assert opened(after).convert("RGB").getpixel((5, 5)) == (0, 0, 255)


def test_bad_images_are_refused(thumbs: Thumbs) -> None:
    bad = grpc.StatusCode.FAILED_PRECONDITION, "bad-image"
    thumbs.stack.upload("/bomb.png", png_claiming(100_000, 100_000))
    assert thumbs.refused("/bomb.png") == bad
    thumbs.stack.upload("/wide-bomb.png", png_claiming(7681, 10))  # over THUMBNAILS_MAX_INPUT_WIDTH
    assert thumbs.refused("/wide-bomb.png") == bad
    whole = noise((600, 400))
    thumbs.stack.upload("/cut.jpg", whole[: len(whole) // 2])
    assert thumbs.refused("/cut.jpg") == bad
    thumbs.stack.upload("/liar.png", b"just some text, not a PNG\n")
    assert thumbs.refused("/liar.png") == bad
    thumbs.stack.upload("/fine.png", picture("PNG", (10, 10)))  # and the service is still there
    assert opened(thumbs.get("/fine.png", 16, 16)).size == (10, 10)  # never enlarged


def test_requests_refused_before_any_download(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/doc.pdf", b"%PDF-1.4\n")
    thumbs.stack.upload("/ok.png", picture("PNG", (10, 10)))
    thumbs.stack.mkdir("/folder")
    downloads = thumbs.downloads()
    assert thumbs.refused("/doc.pdf") == (grpc.StatusCode.UNIMPLEMENTED, "unsupported-type")
    assert thumbs.refused("/ok.png", 0, 32) == (grpc.StatusCode.INVALID_ARGUMENT, "bad-size")
    assert thumbs.refused("/ok.png", processor="sharpen") == (grpc.StatusCode.INVALID_ARGUMENT, "bad-processor")
    assert thumbs.refused("/folder") == (grpc.StatusCode.FAILED_PRECONDITION, "not-a-file")
    assert thumbs.refused("/nothing.png") == (grpc.StatusCode.NOT_FOUND, "not-found")
    assert thumbs.downloads() == downloads


def test_another_users_file_is_not_found(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/mine.png", picture("PNG", (20, 20)))
    mine = ref("/mine.png", space=thumbs.stack.stat("/mine.png").space_id)
    with pytest.raises(grpc.RpcError) as err:
        thumbs.stub.GetThumbnail(
            tpb.GetThumbnailRequest(ref=mine, width=32, height=32),
            metadata=[(identity.GRPC_METADATA, thumbs.stack.token(BOB))],
            timeout=30,
        )
    assert (err.value.code(), reason(err.value)) == (grpc.StatusCode.NOT_FOUND, "not-found")


def test_a_large_thumbnail_travels_by_signed_data_url(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/big.jpg", noise((4000, 2250)))
    reply = thumbs.get("/big.jpg", 3840, 2160)
    assert not reply.thumbnail and reply.data_url and (reply.width, reply.height) == (3840, 2160)
    fetched = http("GET", reply.data_url)
    assert fetched.status == 200 and fetched.headers["Content-Type"] == "image/jpeg"
    assert len(fetched.body) > INLINE_LIMIT and Image.open(io.BytesIO(fetched.body)).size == (3840, 2160)
    base, _, token = reply.data_url.rpartition("/")
    assert http("GET", f"{base}/{token[:-2]}xx").status == 404  # only what it signed


def test_parallel_asks_share_one_render(thumbs: Thumbs) -> None:
    thumbs.stack.upload("/busy.jpg", noise((2000, 1500)))
    downloads = thumbs.downloads()
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda _: thumbs.get("/busy.jpg", 1920, 1080), range(6)))
    assert len({r.etag for r in replies}) == 1 and all(r.width == 1440 for r in replies)
    assert thumbs.downloads() == downloads + 1
