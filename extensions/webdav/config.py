from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class WebdavConfig:
    http_addr: str = setting(
        "127.0.0.1:9115", "HTTP address of the preview endpoint (`?preview=1`, routed by the proxy)."
    )
    debug_addr: str = setting("127.0.0.1:9119", "Debug address: /healthz, /readyz, /metrics.")
    preview_max_age: int = setting(
        3600,
        "Seconds a client may reuse a preview without asking again (`Cache-Control: private, max-age`); "
        "a changed file gets a new ETag, and the web UI adds the file's etag to the URL (`c=`).",
    )
