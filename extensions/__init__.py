"""Built-in extensions; each registers itself under the `ocisd.extensions` entry point."""
