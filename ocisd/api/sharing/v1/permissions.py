"""ownCloud's share permission bits, as OCS and the storage grants carry them."""

from __future__ import annotations

READ = 1
UPDATE = 2
CREATE = 4
DELETE = 8
SHARE = 16
ALL = READ | UPDATE | CREATE | DELETE | SHARE  # 31: what an owner holds on a folder
FILE_ALL = READ | UPDATE | SHARE  # 19: create and delete mean nothing on a file

VIEWER = READ
EDITOR = READ | UPDATE | CREATE | DELETE
FILE_DROP = CREATE
UPLOAD = READ | CREATE | UPDATE


def applicable(bits: int, is_folder: bool) -> int:
    """The bits that mean something on this kind of resource."""
    return bits & (ALL if is_folder else FILE_ALL)


def within(wanted: int, held: int) -> bool:
    """A reshare (or grant) may pass on only bits its creator holds."""
    return wanted & ~held == 0
