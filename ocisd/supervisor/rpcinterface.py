"""Runs inside supervisord (`[rpcinterface:ocis]`): swap single programs of a group.

supervisord's own API adds and removes whole groups, so a changed
`[group:ocis]` would restart every extension. `ocis supervisor reload` instead
re-reads the file (`supervisor.reloadConfig`), asks `ocis.diff` which programs
changed, stops the changed and removed ones itself, and calls `ocis.apply`,
which swaps them in the running group; supervisord's main loop then starts the
new ones (autostart). Untouched programs keep running with their PIDs.
"""

from __future__ import annotations

from typing import Any

from supervisor.states import STOPPED_STATES
from supervisor.xmlrpc import Faults, RPCError


class OcisNamespaceRPCInterface:
    def __init__(self, supervisord: Any) -> None:
        self.supervisord = supervisord

    def _groups(self, group: str) -> tuple[Any, Any]:
        """(running group, group config as last read from the file), either None when absent."""
        fresh = {g.name: g for g in self.supervisord.options.process_group_configs}
        return self.supervisord.process_groups.get(group), fresh.get(group)

    def diff(self, group: str) -> dict[str, list[str]]:
        """Programs of `group` added, changed and removed since it was loaded.

        @param string group  group name
        @return struct result  {"added": [...], "changed": [...], "removed": [...]}
        """
        running, fresh = self._groups(group)
        old = {p.name: p for p in running.config.process_configs} if running is not None else {}
        new = {p.name: p for p in fresh.process_configs} if fresh is not None else {}
        return {
            "added": sorted(new.keys() - old.keys()),
            "changed": sorted(n for n in new.keys() & old.keys() if new[n] != old[n]),
            "removed": sorted(old.keys() - new.keys()),
        }

    def apply(self, group: str) -> bool:
        """Swap the re-read programs into running `group`; changed and removed ones must be stopped.

        @param string group  group name
        @return boolean result  always True unless error
        """
        running, fresh = self._groups(group)
        if running is None or fresh is None:
            raise RPCError(Faults.BAD_NAME, group)
        diff = self.diff(group)
        for name in diff["changed"] + diff["removed"]:
            if running.processes[name].get_state() not in STOPPED_STATES:
                raise RPCError(Faults.STILL_RUNNING, f"{group}:{name}")
        configs = {p.name: p for p in fresh.process_configs}
        for name in diff["removed"]:
            del running.processes[name]
        for name in diff["added"] + diff["changed"]:
            configs[name].create_autochildlogs()
            running.processes[name] = configs[name].make_process(running)
        running.config = fresh
        return True


def make(supervisord: Any, **config: str) -> OcisNamespaceRPCInterface:
    return OcisNamespaceRPCInterface(supervisord)
