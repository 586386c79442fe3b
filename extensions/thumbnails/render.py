"""Pillow rendering of one thumbnail from a source's bytes: a pure function run in a worker thread.

Nothing here trusts the bytes: the format must be the one the file's type names
(a .png that is really text is refused), the header's size is checked against
the limits before a pixel is decoded (decompression bombs), and a truncated or
broken image raises `BadImage`, as does anything else Pillow raises.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageOps

# mime type -> (formats Pillow may find in the bytes, output format); "TEXT" is drawn.
SOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    "image/png": (("PNG",), "PNG"),
    "image/jpeg": (("JPEG", "MPO"), "JPEG"),
    "image/gif": (("GIF",), "GIF"),
    "image/bmp": (("BMP", "DIB"), "JPEG"),
    "image/x-ms-bmp": (("BMP", "DIB"), "JPEG"),
    "image/tiff": (("TIFF",), "JPEG"),
    "image/webp": (("WEBP",), "JPEG"),
    "text/plain": (("TEXT",), "JPEG"),
}
OUTPUT_MIME = {"PNG": "image/png", "GIF": "image/gif", "JPEG": "image/jpeg"}
DEFAULT_PROCESSOR = "fit"  # oCIS without a processor: scaled into the frame, aspect kept, never enlarged
JPEG_QUALITY = 85
TEXT_BYTES = 64 * 1024  # what a text preview reads of its source
TEXT_LINES = 40  # lines a text preview page holds
_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


class BadImage(Exception):
    """The bytes are not a renderable image of their type, or exceed the limits."""


@dataclass(frozen=True)
class Job:
    data: bytes
    mime: str  # a key of SOURCES
    width: int  # the resolution chosen
    height: int
    processor: str  # resize | fit | fill | thumbnail
    preserve_aspect: bool
    max_width: int
    max_height: int


@dataclass(frozen=True)
class Rendered:
    data: bytes
    mime: str
    width: int
    height: int


def output_format(mime: str) -> str:
    return SOURCES[mime][1]


def render(job: Job) -> Rendered:
    formats, out = SOURCES[job.mime]
    try:
        img = _text_page(job) if formats == ("TEXT",) else _image(job, formats)
        return _encode(img, out)
    except BadImage:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a broken file makes Pillow raise is the file's fault
        raise BadImage(f"{type(exc).__name__}: {exc}") from None


def _image(job: Job, formats: tuple[str, ...]) -> Image.Image:
    img: Image.Image = Image.open(io.BytesIO(job.data), formats=list(formats))  # reads the header only
    width, height = img.size
    if width > job.max_width or height > job.max_height:
        raise BadImage(f"{width}x{height} exceeds the input limit {job.max_width}x{job.max_height}")
    box = (job.width, job.height)
    if img.getexif().get(0x0112) in _ROTATED:  # shown turned: fit the turned image into the box
        box = (job.height, job.width)
    if job.processor == "fit":
        img = _resample_ready(img)  # a no-op for RGB or grey JPEG: it stays lazy and decodes scaled down
        img.thumbnail(box, Image.Resampling.LANCZOS, reducing_gap=3.0)
    elif job.processor == "resize":
        img.load()
        if job.preserve_aspect:
            box = (box[0], max(1, round(height * box[0] / width)))
        img = _resample_ready(img).resize(box, Image.Resampling.LANCZOS)
    else:  # fill, thumbnail: cover the box, crop the centre
        scale = max(box[0] / width, box[1] / height)
        img.draft(None, (max(1, int(width * scale)), max(1, int(height * scale))))
        img = ImageOps.fit(_resample_ready(img), box, Image.Resampling.LANCZOS)
    return ImageOps.exif_transpose(img)


def _resample_ready(img: Image.Image) -> Image.Image:
    """Palette and odd modes resample badly (or not at all): to RGB(A) first."""
    if img.mode in ("RGB", "RGBA", "L", "LA"):
        return img
    alpha = img.mode in ("PA", "La") or (img.mode == "P" and "transparency" in img.info)
    return img.convert("RGBA" if alpha else "RGB")


def _text_page(job: Job) -> Image.Image:
    """The first lines of a text file drawn on a white page of the chosen size."""
    text = job.data[:TEXT_BYTES].decode("utf-8", errors="replace")
    lines = [line.expandtabs(4) for line in text.splitlines()[:TEXT_LINES]]
    page = Image.new("RGB", (job.width, job.height), "white")
    font_size = max(4, job.height // (TEXT_LINES + 2))
    font = ImageFont.load_default(size=font_size)
    draw = ImageDraw.Draw(page)
    margin = max(1, job.width // 50)
    for n, line in enumerate(lines):
        draw.text((margin, margin + n * font_size), line, fill="black", font=font)
    return page


def _encode(img: Image.Image, out: str) -> Rendered:
    if out == "JPEG":
        img = _flatten(img)
    elif out == "PNG" and img.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        img = img.convert("RGBA")
    buf = io.BytesIO()
    img.save(buf, out, **({"quality": JPEG_QUALITY} if out == "JPEG" else {}))
    return Rendered(buf.getvalue(), OUTPUT_MIME[out], img.width, img.height)


def _flatten(img: Image.Image) -> Image.Image:
    """JPEG has no alpha: transparent parts become white."""
    img = _resample_ready(img)
    if img.mode in ("RGBA", "LA"):
        page = Image.new("RGB", img.size, "white")
        page.paste(img.convert("RGBA"), mask=img.getchannel("A"))
        return page
    return img.convert("RGB") if img.mode != "RGB" else img
