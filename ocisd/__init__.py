"""ocisd: ownCloud Infinite Scale in Python."""

__version__ = "0.1.0"
