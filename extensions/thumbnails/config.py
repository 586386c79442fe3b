from dataclasses import dataclass

from ocisd.api.thumbnails.v1.contract import DEFAULT_MAX_INPUT_FILE_SIZE, DEFAULT_RESOLUTIONS
from ocisd.config.schema import Duration, Size, setting


@dataclass
class ThumbnailsConfig:
    grpc_addr: str = setting("127.0.0.1:9185", "gRPC address of the Thumbnails service.")
    http_addr: str = setting("127.0.0.1:9186", "HTTP address serving large thumbnails by their signed data_url.")
    debug_addr: str = setting("127.0.0.1:9189", "Debug address: /healthz, /readyz, /metrics.")
    resolutions: str = setting(
        DEFAULT_RESOLUTIONS, "Thumbnail sizes, comma-separated WIDTHxHEIGHT; a request gets the closest."
    )
    cache_size: Size = setting(
        Size(128 * 1024 * 1024),
        "Bytes of rendered thumbnails kept in memory, least recently used dropped first (0: none).",
    )
    max_input_width: int = setting(7680, "Widest source image rendered (pixels); wider ones are refused.")
    max_input_height: int = setting(4320, "Tallest source image rendered (pixels); taller ones are refused.")
    max_input_image_file_size: Size = setting(
        Size(DEFAULT_MAX_INPUT_FILE_SIZE), "Largest source file rendered (bytes); larger ones are refused."
    )
    max_concurrent_requests: int = setting(4, "Thumbnails rendered at once by this instance; others wait.")
    data_url_expiry: Duration = setting(Duration(60.0), "Lifetime of a signed data_url for a large thumbnail.")
