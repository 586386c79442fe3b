"""Public link URLs and the header the proxy and ocdav share for them (contract of storage-publiclink)."""

from __future__ import annotations

PUBLIC_FILES = "/remote.php/dav/public-files/"  # + <token>/<path>: Basic public:<password>
LEGACY = "/public.php/webdav"  # + /<path>: Basic <token>:<password>
LANDING = "/s/"  # + <token>: the HTML landing page
ROUTES = (PUBLIC_FILES, LEGACY, LANDING)
# The client's address, which the proxy sets on landing-page requests (a client's own is dropped): the page
# asks storage-publiclink itself when its password form is posted, and that call is throttled per address.
CLIENT_IP_HEADER = "X-Ocisd-Client-Ip"
