"""What ocisd tells clients it is: the ownCloud API level, the product name and version.

The API level (`version`) stays 10.0.x as in oCIS, because desktop clients
check it; `productversion` is ours. The status object is served as status.php
(ocdav) and inside the capabilities (frontend).
"""

from __future__ import annotations

from typing import Any

from ocisd import __version__

API_VERSION: dict[str, Any] = {"major": 10, "minor": 0, "micro": 11, "string": "10.0.11", "edition": "Community"}
PRODUCT = "Infinite Scale"


def version() -> dict[str, Any]:
    """The `version` object of the OCS capabilities."""
    return {**API_VERSION, "product": PRODUCT, "productversion": __version__}


def status() -> dict[str, Any]:
    """The `core.status` object, also served as status.php."""
    return {
        "installed": True,
        "maintenance": False,
        "needsDbUpgrade": False,
        "version": f"{API_VERSION['string']}.0",
        "versionstring": API_VERSION["string"],
        "edition": API_VERSION["edition"],
        "productname": PRODUCT,
        "product": PRODUCT,
        "productversion": __version__,
    }
