from dataclasses import dataclass

from ocisd.config.schema import setting


@dataclass
class FrontendConfig:
    http_addr: str = setting("127.0.0.1:9140", "HTTP address: OCS capabilities and user endpoints.")
    debug_addr: str = setting("127.0.0.1:9141", "Debug address: /healthz, /readyz, /metrics.")
    poll_interval: int = setting(60, "Seconds between a sync client's polls (core.pollinterval).")
    tus_support: bool = setting(False, "Advertise TUS uploads to clients (files.tus_support).")
    tus_max_chunk_size: int = setting(100_000_000, "Largest TUS chunk a client should send, in bytes.")
    checksums_preferred_upload_type: str = setting(
        "SHA1", "Checksum clients compute and send with uploads: SHA1, MD5 or ADLER32 (the server stores all three)."
    )
    default_language: str = setting("en", "Language reported for users in cloud/user.")
    default_permissions: int = setting(31, "Permissions clients preselect for a new user or group share (1..31).")
    search_min_length: int = setting(2, "Characters clients type before they ask for sharees.")
