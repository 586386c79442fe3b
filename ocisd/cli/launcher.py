"""The `ocis` and `ocisd` console scripts.

`ocis <name> server` is what supervisord and systemd run, and run again after
every crash: it imports just that extension and skips building the whole CLI,
so a restarted extension serves sooner. Everything else goes to the full CLI.

Every ocisd process starts here (the runtime, `ocis <name> server` under
supervisord or systemd, the CLI) and first sets its umask to 077: whatever it
creates (databases with their -wal/-shm, blobs, keys, logs, upload sessions,
certificates) is 0600, in 0700 directories, for its own user only.
"""

from __future__ import annotations

import os
import sys

UMASK = 0o077


def entry() -> None:
    os.umask(UMASK)
    args = sys.argv[1:]
    if len(args) == 2 and args[1] == "server" and not args[0].startswith("-"):
        from ocisd.cli.command import guarded
        from ocisd.discovery import canonical, names

        name = canonical(args[0])
        if name in names():
            from ocisd.cli.extension_cmds import serve

            sys.exit(guarded(lambda: serve(name)))
    from ocisd.cli.main import main

    sys.exit(main())
