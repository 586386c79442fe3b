from dataclasses import dataclass

from ocisd.config.schema import Duration, Size, setting

HANDLINGS = ("delete", "abort", "continue")


@dataclass
class AntivirusConfig:
    grpc_addr: str = setting(
        "127.0.0.1:9275", "gRPC address of the Antivirus service (postprocessing's virusscan step)."
    )
    http_addr: str = setting(
        "127.0.0.1:9276", "HTTP address of the manual scans API /api/v0/antivirus/ (routed by the proxy)."
    )
    debug_addr: str = setting("127.0.0.1:9277", "Debug address: /healthz, /readyz, /metrics.")
    clamav_socket: str = setting(
        "/run/clamav/clamd.ctl",
        "Where clamd listens: a unix socket path, or tcp://host:port (e.g. tcp://127.0.0.1:3310).",
    )
    clamav_timeout: Duration = setting(
        Duration(60.0),
        "How long clamd may stay silent (connect, a chunk, the answer) before the scan counts as unavailable.",
    )
    infected_file_handling: str = setting(
        "delete",
        "What happens to an infected new revision: delete (removed, the user is told why), abort (kept, never "
        "downloadable) or continue (marked infected, downloadable).",
    )
    max_scan_size: Size = setting(
        Size(100_000_000),
        "Bytes of a file that are scanned; a bigger file is scanned up to this and marked partial (none = all). "
        "clamd's StreamMaxLength must be at least this, or bigger files end in a scan error.",
    )
