"""What postprocessing's partners share: revision states, step names, bus events, the settings.

A new revision of a file (stored by PUT, chunking NG, TUS, a public upload link or a
COPY) is held in `processing` while steps are configured; the storage provider keeps
the job in its own database (service `ocisd.storage.v1.Processing`) and rings the bus
(`processing-queued`); postprocessing instances lease jobs, run the steps in order and
complete them. Downloads of a revision that is not ready fail with the storage reason
`processing` (HTTP 425 Too Early + Retry-After) or `blocked` (403: infected, or its
steps failed for good).

Bus events (`event.<name>`), each payload with "event_id" (unique; SSE's `id:`),
"time" (unix seconds) and "recipients" (user ids to tell):
- `processing-queued` {"provider"}: a bell only, no recipients; the queue is the truth.
- `postprocessing-finished` {"resource_id", "space_id", "path", "outcome" ("ready" |
  "infected" | "removed" | "error"), "scan_status", "reason"}
- `file-ready` {"resource_id", "space_id", "path"}: the revision can be downloaded now.
- `scan-finished` {"scan_id", "resource_id", "space_id", "path", "scan_status",
  "scan_time", "done", "total"}: one file of a manual scan has its result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ocisd import discovery
from ocisd.config import loader
from ocisd.config.schema import ConfigError, Duration, setting

PROCESSING = "processing"
READY = "ready"
INFECTED = "infected"
ERROR = "error"

# Storage reasons (`ocisd-reason`) of a download refused because of postprocessing.
REASON_PROCESSING = "processing"
REASON_BLOCKED = "blocked"
RETRY_AFTER_SECONDS = 5  # what HTTP layers put in Retry-After with a 425

STEP_VIRUSSCAN = "virusscan"
STEP_DELAY = "delay"  # waits POSTPROCESSING_DELAY (as oCIS's): for tests and demonstrations
KNOWN_STEPS = (STEP_VIRUSSCAN, STEP_DELAY)
AUTO = "auto"

PROCESSING_QUEUED = "processing-queued"
POSTPROCESSING_FINISHED = "postprocessing-finished"
FILE_READY = "file-ready"
SCAN_FINISHED = "scan-finished"

ANTIVIRUS = "antivirus"
NAME = "postprocessing"
# Read by every storage provider too: a generated deployment passes it to every process.
STEPS_ENV = "POSTPROCESSING_STEPS"


@dataclass
class PostprocessingConfig:
    """postprocessing's settings. Storage providers read `steps` too (through `configured_steps`):
    they hold new revisions exactly when there is a step to run."""

    debug_addr: str = setting("127.0.0.1:9255", "Debug address: /healthz, /readyz, /metrics.")
    steps: str = setting(
        AUTO,
        "Steps every new revision goes through, in order (comma list of virusscan, delay); empty = ready at "
        "once; `auto` = virusscan when the antivirus extension is enabled (OCIS_ADD_RUN_EXTENSIONS), else none. "
        "Read by storage providers too: set it for the whole deployment.",
    )
    max_attempts: int = setting(
        5, "Failed attempts after which a revision goes to `error` (`ocis postprocessing retry`)."
    )
    lease_time: Duration = setting(
        Duration(30.0), "How long a claimed job stays with its worker unless renewed (renewed every third of it)."
    )
    retry_max_delay: Duration = setting(
        Duration(15.0), "Longest wait between retries of a step whose peer (clamd, antivirus) is unreachable."
    )
    poll_interval: Duration = setting(Duration(5.0), "How often providers are asked for due jobs without a bell.")
    concurrency: int = setting(4, "Jobs one instance works on at once.")
    delay: Duration = setting(Duration(0.0), "How long the `delay` step waits.")


def parse_steps(value: str, antivirus_enabled: bool) -> list[str]:
    """The step list a `steps` value means; ConfigError for an unknown step or one named twice."""
    if value.strip() == AUTO:
        return [STEP_VIRUSSCAN] if antivirus_enabled else []
    steps = [s.strip() for s in value.split(",") if s.strip()]
    for step in steps:
        if step not in KNOWN_STEPS:
            raise ConfigError(f"postprocessing steps: unknown step {step!r} (known: {', '.join(KNOWN_STEPS)})")
    if len(set(steps)) != len(steps):
        raise ConfigError(f"postprocessing steps: a step is named twice in {value!r}")
    return steps


def configured_steps(env: Mapping[str, str] | None = None) -> list[str]:
    """The deployment's steps as postprocessing will run them: its config (POSTPROCESSING_STEPS,
    `[postprocessing]` in ocis.toml, postprocessing.toml) and whether antivirus is enabled."""
    cfg = loader.load(NAME, PostprocessingConfig, discovery.names(), env)
    own: PostprocessingConfig = cfg.own
    return parse_steps(own.steps, ANTIVIRUS in discovery.selection(env))
