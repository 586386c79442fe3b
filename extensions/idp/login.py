"""The login page (plain HTML form, no JavaScript) and its CSRF protection.

Each form carries a signed token naming a random nonce, its expiry and the
client and redirect URI it was made for; the same nonce goes into a
SameSite=Strict, HttpOnly cookie. A post counts only with both, matching: a
page on another site can neither read the token nor send the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from html import escape

COOKIE = "ocisd_idp_csrf"
SESSION_COOKIE = "ocisd_idp_session"  # the browser's sign-in at idp (an id of the sessions table)

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - ownCloud Infinite Scale</title>
<style>body{{font-family:sans-serif;background:#f4f4f4;display:flex;justify-content:center;padding-top:10vh}}
form{{background:#fff;padding:2em;border-radius:8px;box-shadow:0 2px 8px #0002;min-width:18em}}
label,input,button{{display:block;width:100%;box-sizing:border-box;margin-top:.4em}}
input{{padding:.5em}} button{{margin-top:1.2em;padding:.6em}} .error{{color:#b00020}}</style></head>
<body><form method="post" action="{action}">
<h1>Sign in</h1><p>to {client}</p>
{error}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required autofocus value="{username}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
{hidden}
<button type="submit" id="submit">Sign in</button>
</form></body></html>
"""

MESSAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{text}</p></body></html>
"""


def message_page(title: str, text: str) -> str:
    return MESSAGE.format(title=escape(title), text=escape(text))


class Csrf:
    def __init__(self, key: bytes, ttl: float) -> None:
        self._key = key
        self._ttl = ttl

    def _mac(self, nonce: str, expires: int, bound: str) -> str:
        msg = f"{nonce}|{expires}|{bound}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def issue(self, bound: str) -> tuple[str, str]:
        """(form token, cookie value) for a form bound to `bound` (client id and redirect URI)."""
        nonce = secrets.token_urlsafe(16)
        expires = int(time.time() + self._ttl)
        return f"{nonce}.{expires}.{self._mac(nonce, expires, bound)}", nonce

    def valid(self, token: str, cookie: str, bound: str) -> bool:
        nonce, _, rest = token.partition(".")
        expires, _, mac = rest.partition(".")
        if not nonce or not cookie or not expires.isdigit() or int(expires) < time.time():
            return False
        good_mac = hmac.compare_digest(mac.encode(), self._mac(nonce, int(expires), bound).encode())
        return good_mac and hmac.compare_digest(nonce.encode(), cookie.encode())


def login_page(action: str, client: str, fields: dict[str, str], username: str = "", error: str = "") -> str:
    hidden = "\n".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items() if v)
    return PAGE.format(
        action=escape(action),
        client=escape(client),
        error=f'<p class="error" role="alert" id="error">{escape(error)}</p>' if error else "",
        username=escape(username),
        hidden=hidden,
    )
