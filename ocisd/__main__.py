from ocisd.cli.launcher import entry

entry()
