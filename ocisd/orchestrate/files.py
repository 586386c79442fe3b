"""The file workload: WebDAV through the proxy, as a sync client would use it.

In turn: PUTs of small files, chunked (NG) uploads (MKCOL an upload folder,
PUT its chunks, MOVE `.file` with OC-Checksum and OC-Total-Length), GETs that
verify content, PROPFINDs and MOVEs. Every upload goes to a new name, so an
upload whose answer never came cannot pass for a later version of an
acknowledged one.

An upload is acknowledged when the server answered 201 or 204. At the end
every acknowledged upload must be readable with its SHA-1: at its path, or,
after a MOVE whose answer never came, at either end of it. One that is not,
or that a GET ever served with other content, is lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from ocisd.orchestrate.workload import PAUSE, REQUEST_TIMEOUT, Workload

ACKNOWLEDGED = (201, 204)
OPS = ("put", "get", "chunked", "propfind", "get", "move")
CHUNK = 16 * 1024
VERIFY_TIMEOUT = 10.0  # per request of the final check
VERIFY_LIMIT = 60.0  # the final check gives up on reads the deployment keeps failing to answer
VERIFY_RETRY = 0.5
VERIFY_PARALLEL = 8
TRANSIENT = (425, 502, 503, 504)  # answers that say nothing of the file: still processing, or unreachable


@dataclass
class Upload:
    sha1: str
    paths: list[str]  # where it is: one path, or both ends of a MOVE whose answer never came

    @property
    def settled(self) -> bool:
        return len(self.paths) == 1


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class Files(Workload):
    """`root` is the proxy's scheme://host:port; `user`/`password` a user of the deployment."""

    def __init__(self, root: str, user: str, password: str, seed: int) -> None:
        super().__init__()
        self.root = root
        self.user = user
        self.auth = aiohttp.BasicAuth(user, password)
        self.rng = random.Random(seed)
        self.acked: list[Upload] = []
        self.corrupt: set[int] = set()  # ids of acknowledged uploads a GET served with other content

    @property
    def uploads(self) -> int:
        return len(self.acked)

    def url(self, path: str) -> str:
        return f"{self.root}/remote.php/dav/files/{quote(self.user)}/{quote(path)}"

    def _session(self, timeout: float) -> aiohttp.ClientSession:
        # The proxy of a temp deployment serves a self-signed certificate.
        return aiohttp.ClientSession(
            auth=self.auth,
            timeout=aiohttp.ClientTimeout(total=timeout),
            connector=aiohttp.TCPConnector(ssl=False),
        )

    async def _send(
        self, session: aiohttp.ClientSession, method: str, url: str, ok: tuple[int, ...], **kw: object
    ) -> tuple[int, bytes] | None:
        """One request, recorded; (status, body) when it answered one of `ok`, else None."""
        started = time.monotonic()
        try:
            async with session.request(method, url, **kw) as resp:  # type: ignore[arg-type]
                status, body = resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError):
            self.record(started, False, method)
            return None
        return (status, body) if self.record(started, status in ok, method) else None

    def _name(self, kind: str) -> str:
        return f"{kind}-{uuid.uuid4().hex[:12]}.bin"

    def _payload(self, low: int, high: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(low, high))

    async def put(self, session: aiohttp.ClientSession) -> None:
        name, data = self._name("put"), self._payload(1, 32 * 1024)
        headers = {"OC-Checksum": f"SHA1:{sha1(data)}"}
        if await self._send(session, "PUT", self.url(name), ACKNOWLEDGED, data=data, headers=headers):
            self.acked.append(Upload(sha1(data), [name]))

    async def chunked(self, session: aiohttp.ClientSession) -> None:
        name, data = self._name("ng"), self._payload(CHUNK + 1, 3 * CHUNK)
        folder = f"{self.root}/remote.php/dav/uploads/{quote(self.user)}/{uuid.uuid4().hex}"
        length = {"OC-Total-Length": str(len(data))}
        if not await self._send(session, "MKCOL", folder, (201,), headers=length):
            return
        for offset in range(0, len(data), CHUNK):
            chunk = data[offset : offset + CHUNK]
            if not await self._send(session, "PUT", f"{folder}/{offset:016d}", ACKNOWLEDGED, data=chunk):
                return
        headers = {**length, "Destination": self.url(name), "OC-Checksum": f"SHA1:{sha1(data)}"}
        if await self._send(session, "MOVE", f"{folder}/.file", ACKNOWLEDGED, headers=headers):
            self.acked.append(Upload(sha1(data), [name]))

    def _settled(self) -> tuple[int, Upload] | None:
        choices = [(i, u) for i, u in enumerate(self.acked) if u.settled]
        return self.rng.choice(choices) if choices else None

    async def get(self, session: aiohttp.ClientSession) -> None:
        pick = self._settled()
        if pick is None:
            return
        i, upload = pick
        reply = await self._send(session, "GET", self.url(upload.paths[0]), (200,))
        if reply is not None and sha1(reply[1]) != upload.sha1:
            self.corrupt.add(i)

    async def propfind(self, session: aiohttp.ClientSession) -> None:
        await self._send(session, "PROPFIND", f"{self.url('')}", (207,), headers={"Depth": "1"})

    async def move(self, session: aiohttp.ClientSession) -> None:
        pick = self._settled()
        if pick is None:
            return
        _, upload = pick
        src, dest = upload.paths[0], self._name("moved")
        headers = {"Destination": self.url(dest), "Overwrite": "F"}
        moved = await self._send(session, "MOVE", self.url(src), ACKNOWLEDGED, headers=headers)
        upload.paths = [dest] if moved else [src, dest]

    async def run(self, stop: asyncio.Event) -> None:
        async with self._session(REQUEST_TIMEOUT) as session:
            seq = 0
            while not stop.is_set():
                await getattr(self, OPS[seq % len(OPS)])(session)
                seq += 1
                await asyncio.sleep(PAUSE)

    async def _readable(self, session: aiohttp.ClientSession, upload: Upload, deadline: float) -> bool:
        """Whether one of the upload's paths serves its content. A read the deployment could not
        answer at the moment (no connection, TRANSIENT) is tried again until `deadline`."""
        while True:
            transient = False
            for path in upload.paths:
                try:
                    async with session.get(self.url(path)) as resp:
                        if resp.status == 200 and sha1(await resp.read()) == upload.sha1:
                            return True
                        transient |= resp.status in TRANSIENT
                except (aiohttp.ClientError, TimeoutError):
                    transient = True
            if not transient or time.monotonic() > deadline:
                return False
            await asyncio.sleep(VERIFY_RETRY)

    async def lost(self) -> int:
        gate = asyncio.Semaphore(VERIFY_PARALLEL)
        deadline = time.monotonic() + VERIFY_LIMIT

        async def check(upload: Upload) -> bool:
            async with gate:
                return await self._readable(session, upload, deadline)

        async with self._session(VERIFY_TIMEOUT) as session:
            readable = await asyncio.gather(*(check(u) for u in self.acked))
        return sum(1 for i, ok in enumerate(readable) if not ok or i in self.corrupt)
