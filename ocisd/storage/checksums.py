"""SHA1, MD5 and Adler-32 computed in one pass, and client checksums ("SHA1:<hex>") checked."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable

from ocisd.api.storage.v1 import errors

ALGORITHMS = ("SHA1", "MD5", "ADLER32")


class Hasher:
    def __init__(self) -> None:
        self._sha1 = hashlib.sha1()
        self._md5 = hashlib.md5()
        self._adler = 1

    # The two halves may run on different threads (each half in order); a piece is hashed as it came.
    def md5_pieces(self, pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            self._md5.update(piece)

    def sha1_adler_pieces(self, pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            self._sha1.update(piece)
            self._adler = zlib.adler32(piece, self._adler)

    def copy(self) -> Hasher:
        twin = Hasher()
        twin._sha1, twin._md5, twin._adler = self._sha1.copy(), self._md5.copy(), self._adler
        return twin

    def digests(self) -> dict[str, str]:
        return {"SHA1": self._sha1.hexdigest(), "MD5": self._md5.hexdigest(), "ADLER32": f"{self._adler:08x}"}


def parse(text: str) -> tuple[str, str]:
    """ "SHA1:abc" (also "sha1 abc", as in TUS metadata) → ("SHA1", "abc")."""
    algo, sep, value = text.strip().replace(" ", ":", 1).partition(":")
    algo = algo.upper()
    if not sep or algo not in ALGORITHMS or not value:
        raise errors.invalid("bad-checksum", f"unsupported checksum {text!r}; use SHA1:, MD5: or ADLER32:")
    return algo, value.strip().lower()


def verify(expected: str, digests: dict[str, str]) -> None:
    if not expected:
        return
    algo, value = parse(expected)
    if digests[algo] != value:
        raise errors.invalid("bad-checksum", f"{algo} mismatch: computed {digests[algo]}, client sent {value}")
