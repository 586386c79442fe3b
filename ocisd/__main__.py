from ocisd.cli.main import entry

entry()
