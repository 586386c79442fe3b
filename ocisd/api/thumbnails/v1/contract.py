"""What a caller of `ocisd.thumbnails.v1` needs besides the messages: which files have previews.

ocdav answers `oc:has-preview` from this without asking the thumbnails service; the
service refuses anything else with UNIMPLEMENTED unsupported-type. Sources are read
only when their revision is ready (an infected image never becomes a thumbnail).
"""

from __future__ import annotations

from ocisd.api.postprocessing.v1.contract import READY
from ocisd.api.storage.v1 import storage_pb2 as pb

# Source types Pillow renders, and plain text (drawn as an image).
PREVIEW_MIME_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "image/x-ms-bmp",
        "image/tiff",
        "image/webp",
        "text/plain",
    }
)
# oCIS's THUMBNAILS_RESOLUTIONS default.
DEFAULT_RESOLUTIONS = "16x16,32x32,64x64,128x128,1080x1920,1920x1080,2160x3840,3840x2160,4320x7680,7680x4320"
DEFAULT_MAX_INPUT_FILE_SIZE = 50 * 1000 * 1000
INLINE_LIMIT = 1 << 20  # larger thumbnails travel by data_url
PREVIEW_QUERY = "preview"  # ?preview=1 on a WebDAV GET/HEAD asks the webdav (preview) extension

# GetThumbnailRequest.processor values as oCIS names them ("" = the default for the type).
PROCESSORS = ("", "resize", "fit", "fill", "thumbnail")

# `ocisd-reason` of a refused GetThumbnail (status in the proto's header comment); a
# storage reason (not-found, processing, blocked, ...) passes through unchanged.
REASON_BAD_SIZE = "bad-size"  # INVALID_ARGUMENT: width or height < 1
REASON_BAD_PROCESSOR = "bad-processor"  # INVALID_ARGUMENT
REASON_NOT_A_FILE = "not-a-file"  # FAILED_PRECONDITION
REASON_UNSUPPORTED_TYPE = "unsupported-type"  # UNIMPLEMENTED
REASON_BAD_IMAGE = "bad-image"  # FAILED_PRECONDITION: too large, a bomb, truncated or lying


def has_preview(info: pb.ResourceInfo, max_file_size: int = DEFAULT_MAX_INPUT_FILE_SIZE) -> bool:
    """Whether the thumbnails service would render this resource (file, type, size, ready)."""
    mime = info.mime_type.split(";", 1)[0].strip().lower()
    return (
        info.type == pb.RESOURCE_TYPE_FILE
        and mime in PREVIEW_MIME_TYPES
        and 0 < info.size <= max_file_size
        and info.processing_status in ("", READY)
    )
