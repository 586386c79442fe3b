"""The `ocis` and `ocisd` console scripts.

`ocis <name> server` is what supervisord and systemd run, and run again after
every crash: it imports just that extension and skips building the whole CLI,
so a restarted extension serves sooner. Everything else goes to the full CLI.
"""

from __future__ import annotations

import sys


def entry() -> None:
    args = sys.argv[1:]
    if len(args) == 2 and args[1] == "server" and not args[0].startswith("-"):
        from ocisd.cli.command import guarded
        from ocisd.discovery import names

        if args[0] in names():
            from ocisd.cli.extension_cmds import serve

            sys.exit(guarded(lambda: serve(args[0])))
    from ocisd.cli.main import main

    sys.exit(main())
