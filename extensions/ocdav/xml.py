"""All request XML parsing and response XML building of the WebDAV layer.

Requests are parsed with defusedxml (no DTDs, entities or external
references) after a size check; anything malformed is a 400, never a 500.
Responses are built as strings with fixed prefixes (`d:` DAV, `oc:`
ownCloud, `nc:` Nextcloud) and no default namespace, so a stored dead
property (kept as a self-contained serialized element) can be inserted as is.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import defusedxml
import defusedxml.ElementTree as DET

from .errors import DavError

DAV = "DAV:"
OC = "http://owncloud.org/ns"
NC = "http://nextcloud.org/ns"
PREFIXES = {DAV: "d", OC: "oc", NC: "nc"}
XMLNS = " ".join(f'xmlns:{p}="{ns}"' for ns, p in PREFIXES.items())
HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
CONTENT_TYPE = "application/xml; charset=utf-8"
STATUS_TEXT = {
    200: "200 OK",
    403: "403 Forbidden",
    404: "404 Not Found",
    409: "409 Conflict",
    424: "424 Failed Dependency",
}


def clark(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}" if ns else name


def split(name: str) -> tuple[str, str]:
    """ "{ns}local" -> (ns, local); a name without namespace has ns ""."""
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local
    return "", name


# --- parsing -----------------------------------------------------------------------------------


def parse(body: bytes, limit: int) -> ET.Element | None:
    """The root element of a request body, or None when the body is empty."""
    if len(body) > limit:
        raise DavError(413, f"XML body larger than {limit} bytes")
    if not body.strip():
        return None
    try:
        root: ET.Element = DET.fromstring(body, forbid_dtd=True)
    except (ET.ParseError, defusedxml.DefusedXmlException, ValueError) as exc:
        raise DavError(400, f"malformed XML: {exc}") from None
    return root


def _expect(root: ET.Element, name: str) -> None:
    if root.tag != clark(DAV, name):
        raise DavError(400, f"expected a DAV:{name} element, got {root.tag}")


@dataclass
class PropfindRequest:
    """`kind` is "allprop", "propname" or "prop"; `props` the asked names (Clark notation)."""

    kind: str = "allprop"
    props: list[str] = field(default_factory=list)


def parse_propfind(root: ET.Element | None) -> PropfindRequest:
    if root is None:
        return PropfindRequest()
    _expect(root, "propfind")
    for child in root:  # junk text between elements is ignored on purpose (owncloudcmd sends some)
        if child.tag == clark(DAV, "propname"):
            return PropfindRequest("propname")
        if child.tag == clark(DAV, "prop"):
            return PropfindRequest("prop", [p.tag for p in child])
    return PropfindRequest()


@dataclass
class PropUpdate:
    """One PROPPATCH instruction; `value` is the serialized property element (None to remove)."""

    name: str
    value: str | None
    text: str = ""  # the element's own text, for live properties kept as plain text


def parse_proppatch(root: ET.Element | None) -> list[PropUpdate]:
    if root is None:
        raise DavError(400, "PROPPATCH needs a body")
    _expect(root, "propertyupdate")
    updates: list[PropUpdate] = []
    for op in root:
        if op.tag not in (clark(DAV, "set"), clark(DAV, "remove")):
            continue
        remove = op.tag == clark(DAV, "remove")
        for prop in op.iter(clark(DAV, "prop")):
            for el in prop:
                el.tail = None
                value = None if remove else ET.tostring(el, encoding="unicode")
                updates.append(PropUpdate(el.tag, value, (el.text or "").strip()))
    if not updates:
        raise DavError(400, "PROPPATCH without properties")
    return updates


@dataclass
class LockRequest:
    scope: str  # "exclusive" or "shared"
    owner: str  # inner XML of DAV:owner, kept to be answered back


def parse_lockinfo(root: ET.Element) -> LockRequest:
    _expect(root, "lockinfo")
    scope = root.find(clark(DAV, "lockscope"))
    kind = root.find(clark(DAV, "locktype"))
    if scope is None or len(scope) != 1 or kind is None or kind.find(clark(DAV, "write")) is None:
        raise DavError(400, "lockinfo needs a lockscope and a write locktype")
    scope_name = split(scope[0].tag)[1]
    if scope_name not in ("exclusive", "shared"):
        raise DavError(400, "unknown lockscope")
    owner = root.find(clark(DAV, "owner"))
    inner = ""
    if owner is not None:
        inner = escape(owner.text or "") + "".join(ET.tostring(c, encoding="unicode") for c in owner)
    return LockRequest(scope_name, inner)


# --- building ----------------------------------------------------------------------------------


def tags(name: str) -> tuple[str, str, str]:
    """(open, close, empty) tags for a Clark name, declaring namespaces we have no prefix for inline."""
    ns, local = split(name)
    prefix = PREFIXES.get(ns)
    if prefix is not None:
        tag, decl = f"{prefix}:{local}", ""
    elif ns:
        tag, decl = f"x:{local}", f" xmlns:x={quoteattr(ns)}"
    else:
        tag, decl = local, ' xmlns=""'
    return f"<{tag}{decl}>", f"</{tag}>", f"<{tag}{decl}/>"


def element(name: str, inner: str = "") -> str:
    """`<prefix:local>inner</prefix:local>` for a Clark name."""
    open_, close, empty = tags(name)
    return f"{open_}{inner}{close}" if inner else empty


def text(value: str) -> str:
    return escape(value)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(ts: float) -> str:
    """RFC 1123, as sync clients parse it (`Tue, 15 Nov 1994 08:12:31 GMT`)."""
    t = time.gmtime(ts)
    day = f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon]} {t.tm_year}"
    return f"{day} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"


def propstat(status: int, props: Iterable[str]) -> str:
    inner = "".join(props)
    return f"<d:propstat><d:prop>{inner}</d:prop><d:status>HTTP/1.1 {STATUS_TEXT[status]}</d:status></d:propstat>"


def response(href: str, propstats: Iterable[str]) -> str:
    return f"<d:response><d:href>{escape(href)}</d:href>{''.join(propstats)}</d:response>"


def multistatus(responses: Iterable[str]) -> bytes:
    return f"{HEAD}<d:multistatus {XMLNS}>{''.join(responses)}</d:multistatus>".encode()


def prop_document(inner: str) -> bytes:
    """A `<d:prop>` answer (LOCK)."""
    return f"{HEAD}<d:prop {XMLNS}>{inner}</d:prop>".encode()


def activelock(token: str, root_href: str, scope: str, depth: str, owner: str, timeout: int | None) -> str:
    timeout_text = "Infinite" if timeout is None else f"Second-{max(timeout, 0)}"
    return (
        f"<d:activelock><d:locktype><d:write/></d:locktype><d:lockscope><d:{scope}/></d:lockscope>"
        f"<d:depth>{depth}</d:depth>"
        + (f"<d:owner>{owner}</d:owner>" if owner else "")
        + f"<d:timeout>{timeout_text}</d:timeout>"
        f"<d:locktoken><d:href>{escape(token)}</d:href></d:locktoken>"
        f"<d:lockroot><d:href>{escape(root_href)}</d:href></d:lockroot></d:activelock>"
    )


SUPPORTED_LOCK = (
    "<d:lockentry><d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/></d:locktype></d:lockentry>"
    "<d:lockentry><d:lockscope><d:shared/></d:lockscope><d:locktype><d:write/></d:locktype></d:lockentry>"
)
