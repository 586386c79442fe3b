"""Previews through the TLS proxy in one runtime: `?preview=1` on files/, webdav/ and public-files/ URLs.

One deployment (the file stack, the front door, sharing, storage-publiclink,
thumbnails and webdav in `ocis server`), used with curl the way the web UI asks
for previews: sizes, caching headers, 304, HEAD, errors with Sabre bodies,
another user's file, public links with and without a password.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from ocisd.api.sharing.v1 import permissions
from ocisd.api.thumbnails.v1.contract import INLINE_LIMIT
from tests.extensions.public_links.links import NAMES, THROTTLE, Sharing, basic, fileid, public, soon
from tests.support import webdav_stack
from tests.support.harness import Deployment, deployment
from tests.support.identity import FAST_ARGON2, add_user
from tests.support.webdav_stack import DavStack

from .previews import PREVIEWS, image, preview, sabre, size_of

BOB_PW = "bob-pw-for-previews"
Env = tuple[Deployment, DavStack, DavStack, Sharing]


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    with deployment() as dep:
        dep.env.update(FAST_ARGON2)
        dep.start_runtime(f"{NAMES},{PREVIEWS}", env={"PROXY_ACCESS_LOG": "false", **THROTTLE})
        admin = webdav_stack.connect(dep, True)
        add_user(dep, "bob", BOB_PW)
        bob = replace(admin, base="/remote.php/dav/files/bob", auth=basic("bob", BOB_PW), user="bob")
        for name, data in {"p.png": image("PNG", 200, 100), "j.jpg": image("JPEG", 400, 300)}.items():
            assert admin.request("PUT", name, data).status == 201
        sharing = Sharing(dep)
        try:
            yield dep, admin, bob, sharing
        finally:
            sharing.close()


def test_png_and_jpeg_previews_on_files_and_webdav_paths(env: Env) -> None:
    _, admin, _, _ = env
    assert size_of(preview(admin, "p.png", "x=64&y=64")) == ("PNG", (64, 32))  # aspect kept
    assert size_of(preview(admin, "j.jpg", "x=64&y=64&c=etag123")) == ("JPEG", (64, 48))
    assert size_of(preview(admin, "/remote.php/webdav/j.jpg")) == ("JPEG", (32, 24))  # no x, y: 32x32
    got = preview(admin, "p.png", "x=16&y=16")
    assert size_of(got) == ("PNG", (16, 8))
    assert got.headers["ETag"].startswith('"') and got.headers["ETag"].endswith('"')
    assert got.headers["Cache-Control"].startswith("private, max-age=")
    assert got.headers["ETag"] != preview(admin, "p.png", "x=128&y=128").headers["ETag"]  # per size


def test_bad_sizes_are_400_with_a_sabre_body(env: Env) -> None:
    _, admin, _, _ = env
    for query in ("x=0&y=32", "x=32&y=-1", "x=abc", "y=1.5", "x=99999999999"):
        sabre(preview(admin, "p.png", query), 400, "BadRequest")


def test_unsupported_type_and_missing_file_are_404(env: Env) -> None:
    _, admin, _, _ = env
    assert admin.request("PUT", "data.bin", b"\x00\x01 not an image").status == 201
    sabre(preview(admin, "data.bin"), 404, "NotFound")
    assert admin.request("PUT", "liar.png", b"not a png at all").status == 201
    sabre(preview(admin, "liar.png"), 404, "NotFound")
    sabre(preview(admin, "missing.png"), 404, "NotFound")


def test_if_none_match_gets_304_until_the_file_changes(env: Env) -> None:
    _, admin, _, _ = env
    assert admin.request("PUT", "c.png", image("PNG", 60, 60)).status == 201
    first = preview(admin, "c.png", "x=32&y=32")
    etag = first.headers["ETag"]
    again = preview(admin, "c.png", "x=32&y=32", headers={"If-None-Match": etag})
    assert (again.status, again.body, again.headers["ETag"]) == (304, b"", etag)
    assert preview(admin, "c.png", "x=32&y=32", headers={"If-None-Match": f'"other", {etag}'}).status == 304
    assert admin.request("PUT", "c.png", image("PNG", 90, 30)).status == 204
    changed = preview(admin, "c.png", "x=32&y=32", headers={"If-None-Match": etag})
    assert size_of(changed) == ("PNG", (32, 11)) and changed.headers["ETag"] != etag


def test_head_answers_the_headers_without_a_body(env: Env) -> None:
    _, admin, _, _ = env
    got = preview(admin, "j.jpg", "x=64&y=64")
    head = preview(admin, "j.jpg", "x=64&y=64", method="HEAD")
    assert (head.status, head.body) == (200, b"")
    for name in ("ETag", "Content-Type", "Content-Length", "Cache-Control"):
        assert head.headers[name] == got.headers[name]
    assert preview(admin, "missing.png", method="HEAD").status == 404


def test_another_users_file_is_404(env: Env) -> None:
    _, admin, bob, _ = env
    sabre(preview(bob, "/remote.php/dav/files/admin/p.png"), 404, "NotFound")
    sabre(preview(bob, "p.png"), 404, "NotFound")  # bob has no p.png of his own
    assert bob.request("PUT", "b.png", image("PNG", 50, 50)).status == 201
    assert size_of(preview(bob, "b.png")) == ("PNG", (32, 32))
    sabre(preview(admin, "/remote.php/dav/files/bob/b.png"), 404, "NotFound")


def test_public_link_previews_with_and_without_password(env: Env) -> None:
    _, admin, _, sharing = env
    assert admin.request("MKCOL", "pub").status == 201
    assert admin.request("PUT", "pub/p.png", image("PNG", 200, 100)).status == 201
    rid = fileid(admin, "pub")
    open_token = sharing.link(rid, permissions.VIEWER, expires=soon()).token
    got = public(admin, open_token, "GET", "p.png?preview=1&x=64&y=64")
    assert size_of(got) == ("PNG", (64, 32))
    sabre(public(admin, open_token, "GET", "missing.png?preview=1"), 404, "NotFound")
    sabre(public(admin, open_token, "GET", "../p.png?preview=1"), 400, "BadRequest")  # never above the link
    secret = sharing.link(rid, permissions.VIEWER, password="pw-for-link", expires=soon()).token
    assert public(admin, secret, "GET", "p.png?preview=1").status == 401
    with_pw = public(admin, secret, "GET", "p.png?preview=1", headers=basic("public", "pw-for-link"))
    assert size_of(with_pw) == ("PNG", (32, 16))
    file_token = sharing.link(fileid(admin, "j.jpg"), permissions.VIEWER, expires=soon()).token
    assert size_of(public(admin, file_token, "GET", "?preview=1")) == ("JPEG", (32, 24))  # a link on the file


def test_other_requests_on_the_same_urls_still_go_to_ocdav(env: Env) -> None:
    dep, admin, _, _ = env
    data = image("PNG", 200, 100)
    plain = admin.request("GET", "p.png")
    assert (plain.status, plain.body) == (200, data)
    assert admin.request("GET", "p.png?preview=0").body == data
    assert admin.request("PROPFIND", "p.png?preview=1", b"", {"Depth": "0"}).status == 207
    res = dep.ocis("proxy", "routes", "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["prefix"]: r for r in json.loads(res.stdout)}
    for prefix in ("/remote.php/dav/files/", "/remote.php/webdav", "/remote.php/dav/public-files/"):
        row = rows[f"{prefix}?preview"]
        assert row["extension"] == "webdav" and row["upstreams"], row
    assert admin.request("GET", "p.png?PREVIEW=1").body == data  # the key is case-sensitive, as in oCIS


def test_a_large_preview_comes_from_the_thumbnails_data_server(env: Env) -> None:
    _, admin, _, _ = env
    assert admin.request("PUT", "noise.jpg", image("JPEG", 3840, 2160, noise=True)).status == 201
    got = preview(admin, "noise.jpg", "x=3840&y=2160")
    assert size_of(got) == ("JPEG", (3840, 2160)) and len(got.body) > INLINE_LIMIT  # travelled by data_url
    head = preview(admin, "noise.jpg", "x=3840&y=2160", method="HEAD")
    assert (head.status, head.body, head.headers["Content-Length"]) == (200, b"", str(len(got.body)))
