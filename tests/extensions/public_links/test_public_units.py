"""Pure pieces of public links: file drop names, public paths, link credentials at the proxy."""

from __future__ import annotations

import pytest

from extensions.ocdav import drop, public
from extensions.ocdav.errors import DavError
from extensions.proxy import links


def test_drop_names_count_up_before_the_extension() -> None:
    assert drop.candidates("report.pdf", 3) == ["report.pdf", "report (2).pdf", "report (3).pdf"]
    assert drop.candidates("archive.tar.gz", 2) == ["archive.tar.gz", "archive.tar (2).gz"]
    assert drop.candidates("README", 2) == ["README", "README (2)"]
    assert drop.candidates(".env", 2) == [".env", ".env (2)"]


def test_public_paths_keep_to_their_link() -> None:
    found = public.parse("/remote.php/dav/public-files/T0k/a%20b/c.txt")
    assert found is not None and (found.base, found.path) == ("/remote.php/dav/public-files/T0k", "/a b/c.txt")
    legacy = public.parse("/public.php/webdav/x/../y")
    assert legacy is not None and (legacy.base, legacy.path) == ("/public.php/webdav", "/y")
    assert public.parse("/remote.php/dav/files/admin/x") is None
    assert public.parse("/public.php/webdavx") is None
    for trick in ("/remote.php/dav/public-files/T0k/..", "/remote.php/dav/public-files/T0k/a/%2e%2e/%2E%2E/x"):
        with pytest.raises(DavError) as err:
            public.parse(trick)
        assert err.value.status == 400
    with pytest.raises(DavError):
        public.parse("/remote.php/dav/public-files/../files/admin")


def test_link_paths_at_the_proxy() -> None:
    assert links.is_link_path("/s/abc") and links.is_link_path("/public.php/webdav")
    assert links.is_link_path("/remote.php/dav/public-files/abc/x")
    assert not links.is_link_path("/public.php/webdavx") and not links.is_link_path("/remote.php/dav/files/a")
    assert links.token_of("/remote.php/dav/public-files/abc/x/y") == "abc"
    assert links.token_of("/s/abc") == "abc"
