"""Query routes: a route `PREFIX?KEY` takes the GET and HEAD requests below PREFIX whose query sets KEY to 1 or true.

webdav declares `/remote.php/dav/files/?preview` and its siblings, so thumbnails
are asked for `?preview=1` on the WebDAV file URLs while every other request on
those paths goes to ocdav. The choice is made after the firewall judged the
request by its path's route (rules for `/remote.php/dav/files/` hold for
previews too). While no instance of the query route's extension is live the
request stays on its path's route: ocdav answers the plain GET with the file
itself, which an `<img>` shows too, so a deployment without previews (or one
whose webdav is restarting) answers as before instead of 503.
"""

from __future__ import annotations

from aiohttp import web

from .routes import Route, RouteTable

READS = ("GET", "HEAD")
TRUE = ("1", "true")


def choose(table: RouteTable, request: web.BaseRequest, route: Route) -> Route:
    """The live query route for `request`, else its path's `route`."""
    if request.method not in READS or not request.query_string:
        return route
    for candidate in table.routes():
        prefix, sep, key = candidate.prefix.partition("?")
        if (
            sep
            and candidate.upstreams
            and request.query.get(key, "").lower() in TRUE
            and Route(prefix, candidate.extension).matches(request.path)
        ):
            return candidate
    return route
