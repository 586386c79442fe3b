"""Runs inside supervisord (`[rpcinterface:ocis]`): swap single programs of a group.

supervisord's own API adds and removes whole groups, so a changed
`[group:ocis]` would restart every extension. `ocis supervisor reload` instead
re-reads the file (`supervisor.reloadConfig`), asks `ocis.diff` which programs
changed, and swaps them into the running group one at a time with `ocis.swap`
(a changed or removed one once it stopped it), so changed instances roll one
after the other; supervisord's main loop starts each swapped-in program
(autostart). Untouched programs keep running with their PIDs.
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

    def swap(self, group: str, name: str) -> bool:
        """Swap program `name` of `group` as last read from the file into the running group
        (add, replace or remove it); a running one must be stopped first.

        @param string group  group name
        @param string name  program name
        @return boolean result  always True unless error
        """
        running, fresh = self._groups(group)
        if running is None or fresh is None:
            raise RPCError(Faults.BAD_NAME, group)
        current = running.processes.get(name)
        if current is not None and current.get_state() not in STOPPED_STATES:
            raise RPCError(Faults.STILL_RUNNING, f"{group}:{name}")
        config = next((p for p in fresh.process_configs if p.name == name), None)
        if current is None and config is None:
            raise RPCError(Faults.BAD_NAME, f"{group}:{name}")
        kept = [p for p in running.config.process_configs if p.name != name]
        if config is None:
            del running.processes[name]
        else:
            config.create_autochildlogs()
            running.processes[name] = config.make_process(running)
            kept.append(config)
        running.config.process_configs = kept
        if not any(self.diff(group).values()):
            running.config = fresh  # the group's own settings too, once every program is swapped
        return True


def make(supervisord: Any, **config: str) -> OcisNamespaceRPCInterface:
    return OcisNamespaceRPCInterface(supervisord)
