"""Extension states, shared by the runtime, the control endpoint and supervisor glue.

Plain data: this module imports nothing of ours so every layer can use it.
"""

from enum import StrEnum


class State(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


# What a heartbeat says about an instance's health, derived from its state.
HEALTH_OF_STATE = {
    State.STARTING: "starting",
    State.RUNNING: "ready",
    State.BACKOFF: "unhealthy",
    State.STOPPING: "stopping",
    State.STOPPED: "stopped",
    State.FAILED: "failed",
}
