"""Keys every extension shares (env `OCIS_<KEY>`, top level of `ocis.toml`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ocisd.config.schema import ConfigError, Duration, setting

# A ZeroMQ endpoint a bus process connects to: tcp://host:port (host a name, IPv4 or [IPv6]) or ipc://path.
_BUS_ADDRESS = re.compile(r"tcp://(\[[0-9a-fA-F:.]+\]|[\w.-]+):\d{1,5}|ipc://\S+")

# The secrets `ocis init` generates; nothing has a built-in default for them.
INIT_SECRETS = (
    "jwt_secret",
    "machine_auth_api_key",
    "transfer_secret",
    "system_user_id",
    "system_user_api_key",
    "admin_user_id",
    "admin_password",
)

# What one process holds once, whichever extensions it runs: its bus client (addresses, CURVE
# keys), its registry's heartbeat interval, its log stream's format, the runtime's control
# endpoint, its in-process shortcuts (OCIS_LOCAL_HOP). An extension's own value differing
# from the shared one is refused at start-up.
PROCESS_WIDE = (
    "log_format",
    "runtime_addr",
    "bus_pub_addr",
    "bus_sub_addr",
    "bus_curve",
    "bus_server_public_key",
    "bus_server_secret_key",
    "bus_client_public_key",
    "bus_client_secret_key",
    "bus_allowed_client_keys",
    "heartbeat_interval",
    "local_hop",
)


@dataclass
class SharedConfig:
    url: str = setting("https://localhost:9200", "Public URL of this ocisd installation.")
    log_level: str = setting("info", "Log level: panic, fatal, error, warn, info, debug, trace (any case).")
    log_format: str = setting("logfmt", "Log line format: logfmt or json.")
    jwt_secret: str = setting("", "Secret signing internal tokens.", secret=True, required=True)
    machine_auth_api_key: str = setting("", "Key letting internal services act as a user.", secret=True, required=True)
    transfer_secret: str = setting("", "Secret signing data transfer URLs.", secret=True, required=True)
    system_user_id: str = setting("", "Id of the internal system user.")
    system_user_api_key: str = setting("", "API key of the internal system user.", secret=True)
    admin_user_id: str = setting("", "Id of the admin user created on first start.")
    admin_password: str = setting("", "Password of the admin user on first start.", secret=True)
    insecure: bool = setting(False, "Skip TLS verification of outgoing connections.")
    base_data_path: str = setting("~/.ocis", "Directory under which extensions keep data.")
    runtime_addr: str = setting("127.0.0.1:9250", "Control endpoint of `ocis server`.")
    bus_pub_addr: str = setting(
        "tcp://127.0.0.1:9233",
        "Bus address processes publish to; a comma-separated list for several brokers (every process "
        "publishes to all), paired in order with bus_sub_addr.",
    )
    bus_sub_addr: str = setting(
        "tcp://127.0.0.1:9234",
        "Bus address processes subscribe to; a comma-separated list for several brokers (every process "
        "subscribes at all), paired in order with bus_pub_addr.",
    )
    bus_curve: bool = setting(
        True,
        "Authenticate and encrypt the bus with ZeroMQ CURVE whenever the config holds its keys (`ocis init` "
        "writes them); false leaves the bus open to any local process, with a warning at start-up.",
    )
    bus_server_public_key: str = setting("", "CURVE public key of the bus broker (Z85).")
    bus_server_secret_key: str = setting("", "CURVE secret key of the bus broker.", secret=True)
    bus_client_public_key: str = setting("", "CURVE public key of bus clients (Z85).")
    bus_client_secret_key: str = setting("", "CURVE secret key of bus clients.", secret=True)
    bus_allowed_client_keys: list[str] = setting([], "Extra CURVE client public keys the broker accepts.")
    heartbeat_interval: Duration = setting(Duration(1.0), "Seconds between bus heartbeats.")
    grpc_deadline: Duration = setting(Duration(10.0), "Default deadline of gRPC calls.")
    grpc_no_instance_wait: Duration = setting(
        Duration(5.0),
        "How long a gRPC call waits for a live instance of its callee (one restarting, or refusing connections "
        "after a crash) before failing UNAVAILABLE; within the call's deadline.",
    )
    local_hop: bool = setting(
        True,
        "Take the shortcuts between extensions in one process or on one host (in-process HTTP and gRPC calls, "
        "splice, file hand-over); false sends everything over sockets, as between hosts.",
    )
    shutdown_grace: Duration = setting(Duration(10.0), "Time each extension gets to stop.")
    disable_versioning: bool = setting(
        False,
        "Keep no versions: an overwrite drops the previous revision, and clients are not offered versions"
        " (files.versioning), as oCIS's OCIS_DISABLE_VERSIONING.",
    )
    sharing_public_share_must_have_password: bool = setting(
        False, "Every public link needs a password: sharing refuses one without, clients are told (capabilities)."
    )
    sharing_public_writeable_share_must_have_password: bool = setting(
        False, "Public links that allow uploads need a password: sharing refuses one without, clients are told."
    )
    postgres_dsn: str = setting(
        "",
        "PostgreSQL DSN (postgresql://user:password@host:port/database) of the extensions that choose PostgreSQL;"
        " `<EXTENSION>_POSTGRES_DSN` gives one its own. Each keeps its tables in a schema of its own.",
        secret=True,
    )
    advertise_host: str = setting(
        "",
        "Host name or address peers on other machines dial for this process's listeners bound to a wildcard"
        " (0.0.0.0, ::); empty = this host's address on its default route. `<EXTENSION>_ADVERTISE_HOST` sets"
        " one extension's.",
    )
    drain_timeout: Duration = setting(
        Duration(2.0),
        "On a graceful stop, how long an extension keeps serving after its `bye` (peers stop choosing it) "
        "before it closes its listeners; at least one heartbeat interval (the default grows to it).",
    )

    def bus_brokers(self) -> list[tuple[str, str]]:
        """(publish, subscribe) address of each broker, from the two comma-separated lists; ConfigError
        when an address is malformed or the lists do not pair up."""
        pubs, subs = (_addresses(key, text) for key, text in (("pub", self.bus_pub_addr), ("sub", self.bus_sub_addr)))
        if len(pubs) != len(subs):
            raise ConfigError(
                f"bus_pub_addr names {len(pubs)} brokers and bus_sub_addr {len(subs)}: the lists pair up, one "
                "publish and one subscribe address per broker"
            )
        if len(set(pubs + subs)) != 2 * len(pubs):
            raise ConfigError("bus_pub_addr and bus_sub_addr name an address twice: each broker needs its own two")
        return list(zip(pubs, subs))

    @property
    def drain(self) -> float:
        """Seconds a graceful stop drains: drain_timeout, at least one heartbeat interval (a default
        drain_timeout grows to it; a shorter one set explicitly is refused at start-up)."""
        return max(float(self.drain_timeout), float(self.heartbeat_interval))


def _addresses(key: str, text: str) -> list[str]:
    found = [a.strip() for a in text.split(",")]
    for addr in found:
        if not _BUS_ADDRESS.fullmatch(addr):
            raise ConfigError(
                f"bus_{key}_addr: {addr!r} is not a bus address (tcp://host:port or ipc://path; "
                "several separated by commas)"
            )
    return found
