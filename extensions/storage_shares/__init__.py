"""storage-shares: a user's accepted received shares as the `/Shares` folder of their home.

It holds no data: the listing comes from the sharing service, everything below a
mount is forwarded to the gateway by the shared resource's id (the storage's
grant lets the recipient in), and paths in the answers are rewritten to
`/Shares/<mount>/...`.
"""

from __future__ import annotations

from ocisd.extension import Context, Extension

from .config import StorageSharesConfig
from .grpc import SharesStorage


class StorageShares(Extension):
    name = "storage-shares"
    summary = "the /Shares folder: accepted received shares, forwarded to the owners' storage"
    config = StorageSharesConfig
    depends = ("gateway", "sharing")

    async def start(self, ctx: Context) -> None:
        await ctx.serve_grpc(SharesStorage(ctx.rpc).register)
