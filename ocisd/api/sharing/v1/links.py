"""Public link URLs (contract of storage-publiclink)."""

from __future__ import annotations

PUBLIC_FILES = "/remote.php/dav/public-files/"  # + <token>/<path>: Basic public:<password>
LEGACY = "/public.php/webdav"  # + /<path>: Basic <token>:<password>
LANDING = "/s/"  # + <token>: the HTML landing page
ROUTES = (PUBLIC_FILES, LEGACY, LANDING)
