"""The settings every storage service has, with storage-users' defaults; a service overrides its own."""

from dataclasses import dataclass

from ocisd.config.schema import ConfigError, Duration, Size, setting


def parse_range(text: str) -> tuple[str, str]:
    """`home_range` ("00-7f") as its two ends; refused (exit 2) unless two ordered hex bytes."""
    lo, sep, hi = text.lower().partition("-")
    ok = sep and all(len(x) == 2 and all(c in "0123456789abcdef" for c in x) for x in (lo, hi)) and lo <= hi
    if not ok:
        raise ConfigError(f"home_range: expected two hex bytes like 00-7f, found {text!r}")
    return lo, hi


def instance_key(extension: str, home_range: str) -> str:
    """The name an instance's metadata schema and blob prefix carry: `storage_users` for all shards,
    `storage_users_00_7f` for a part of them, so instances that split the homes never share rows."""
    base = extension.replace("-", "_")
    return base if home_range in ("00-ff", "00-00") else f"{base}_{home_range.replace('-', '_')}"


@dataclass
class StorageConfig:
    grpc_addr: str = setting("127.0.0.1:9157", "gRPC address of the storage API (ocisd.storage.v1).")
    http_addr: str = setting("127.0.0.1:9158", "Data HTTP address: signed upload and download URLs.")
    debug_addr: str = setting("127.0.0.1:9159", "Debug address: /healthz, /readyz, /metrics.")
    driver: str = setting(
        "local", "Storage driver: `local` (metadata and blobs as `metadata` and `blobs` say) or `module:Class`."
    )
    metadata: str = setting(
        "sqlite",
        "Where the local driver keeps metadata (tree, etags, locks, grants, upload sessions): `sqlite` (a file in"
        " the data dir) or `postgres` (`<EXTENSION>_POSTGRES_DSN`, else OCIS_POSTGRES_DSN).",
    )
    blobs: str = setting("local", "Where file contents go: `local` (the data dir) or `s3` (the s3_* settings).")
    s3_endpoint: str = setting("", "S3 endpoint URL (http(s)://host:port); empty = AWS for `s3_region`.")
    s3_bucket: str = setting("ocisd", "S3 bucket of the blobs; created when missing.")
    s3_region: str = setting("us-east-1", "S3 region.")
    s3_access_key: str = setting("", "S3 access key id.", secret=True)
    s3_secret_key: str = setting("", "S3 secret access key.", secret=True)
    s3_path_style: bool = setting(True, "Address the bucket in the path (http://host/bucket/key), not the host name.")
    quota: Size = setting(
        Size(0),
        "Quota a new space gets (`10GB`, `500MiB`, bytes; `none` or 0 = unlimited). A space keeps the quota it was"
        " made with; `ocis users set-quota` changes one. Spaces made before per-space quotas follow this value.",
    )
    data_url: str = setting("", "Base URL peers use for the data server; empty = http://<http_addr>.")
    transfer_expiry: Duration = setting(Duration(300.0), "How long a signed upload/download URL stays valid.")
    upload_expiration: Duration = setting(
        Duration(86400.0),
        "How long a resumable upload session (TUS, chunking NG, legacy chunking) lives; then its bytes are deleted.",
    )
    trash_bin: bool = setting(
        True,
        "Keep deleted files and folders in their space's trash bin until restored or purged; false deletes at once.",
    )
    trash_retention: Duration = setting(
        Duration(30 * 86400.0),
        "How long a deleted item stays in the trash bin; then the hourly purge (or"
        " `ocis storage-users trash-bin purge-expired`) removes it. 0 = until purged by hand.",
    )
    provider_id: str = setting("users", "Name of this storage provider (several may serve different spaces).")
    home_range: str = setting(
        "00-ff", "Personal spaces held here: range of the first sha1 byte of the space id, `lo-hi` in hex."
    )
    versions_max: int = setting(0, "Most versions kept per file, the newest ones (0 = no limit).")
    versions_ladder: bool = setting(
        True,
        "Thin versions with age: all of the last hour, the newest per hour of the last day, per day of the"
        " last 30 days, per week before (false: keep all, up to versions_max).",
    )
    versions_count_quota: bool = setting(
        False,
        "Versions count against the space's quota (as oCIS: they do not); when counted, the oldest are dropped"
        " whenever a write needs their room.",
    )
