"""The OpenID Connect endpoints at oCIS's paths: discovery, JWKS, authorize (login form), token, userinfo,
end session."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import grpc
import grpc.aio
from aiohttp import web
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ocisd import client_address, identity, sessions
from ocisd.api.identity.v1 import auth_pb2, auth_pb2_grpc, users_pb2
from ocisd.authz import acting_as
from ocisd.rpc.client import RpcClients

from .clients import Client
from .keys import KeyRing
from .login import COOKIE, SESSION_COOKIE, Csrf, login_page, message_page
from .store import Grant, InvalidGrant, Store
from .tokens import ACCESS_AUDIENCE, InvalidToken, Minter

DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/konnect/v1/jwks.json"
AUTHORIZE = "/signin/v1/identifier/_/authorize"
TOKEN = "/konnect/v1/token"
USERINFO = "/konnect/v1/userinfo"
END_SESSION = "/signin/v1/identifier/_/endsession"
AUTHORIZE_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


class Provider:
    def __init__(
        self,
        issuer: str,
        clients: dict[str, Client],
        store: Store,
        keys: KeyRing,
        minter: Minter,
        rpc: RpcClients,
        accounts: sessions.Issuer,
        service: identity.ServiceToken,
        addresses: client_address.Reader,
        csrf: Csrf,
        ttls: dict[str, float],
    ) -> None:
        self._issuer = issuer
        self._clients = clients
        self._store = store
        self._keys = keys
        self._minter = minter
        self._basic = rpc.stub("auth-basic", auth_pb2_grpc.AuthBasicStub)
        self._accounts = accounts
        self._service = service
        self._addresses = addresses
        self._csrf = csrf
        self._ttls = ttls
        self._secure_cookie = issuer.startswith("https://")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_get(DISCOVERY, self.discovery)
        app.router.add_get(JWKS, self.jwks)
        app.router.add_get(AUTHORIZE, self.authorize_form)
        app.router.add_post(AUTHORIZE, self.authorize_login)
        app.router.add_post(TOKEN, self.token)
        app.router.add_route("*", USERINFO, self.userinfo)
        app.router.add_route("*", END_SESSION, self.end_session)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        url = self._issuer
        return web.json_response(
            {
                "issuer": url,
                "authorization_endpoint": url + AUTHORIZE,
                "token_endpoint": url + TOKEN,
                "userinfo_endpoint": url + USERINFO,
                "end_session_endpoint": url + END_SESSION,
                "jwks_uri": url + JWKS,
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": [self._keys.alg],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["iss", "sub", "aud", "exp", "iat", "name", "preferred_username", "email"],
            }
        )

    async def jwks(self, request: web.Request) -> web.Response:
        return web.json_response(self._keys.jwks(), headers={"Cache-Control": "max-age=60"})

    # -- authorize ------------------------------------------------------------------------------------------

    def _checked_authorize(self, params: dict[str, str]) -> tuple[Client, str]:
        """(client, redirect_uri) of a valid request. Raises web.HTTPBadRequest while the redirect is unproven
        (an error then must not redirect anywhere), OAuthError (answered at the redirect URI) after."""
        client = self._clients.get(params.get("client_id", ""))
        redirect = params.get("redirect_uri", "")
        if client is None or not client.redirect_allowed(redirect):
            raise web.HTTPBadRequest(
                text=message_page("Sign-in refused", "Unknown client or redirect_uri."), content_type="text/html"
            )
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "only the authorization code flow is supported")
        method = params.get("code_challenge_method", "plain" if params.get("code_challenge") else "")
        if method and method != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256")
        if client.public and not params.get("code_challenge"):
            raise OAuthError("invalid_request", "public clients must use PKCE (code_challenge with S256)")
        return client, redirect

    def _error_redirect(self, redirect: str, err: OAuthError, state: str) -> web.Response:
        target = _with_query(redirect, {"error": err.error, "error_description": str(err), "state": state})
        return web.Response(status=302, headers={"Location": target})

    def _form(
        self, client: Client, params: dict[str, str], status: int, username: str = "", error: str = ""
    ) -> web.Response:
        fields = {k: params.get(k, "") for k in AUTHORIZE_FIELDS}
        token, nonce = self._csrf.issue(client.id + " " + fields["redirect_uri"])
        fields["csrf"] = token
        html = login_page(AUTHORIZE, client.name or client.id, fields, username, error)
        resp = web.Response(text=html, status=status, content_type="text/html", headers=NO_STORE)
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
        resp.set_cookie(COOKIE, nonce, path="/signin/", httponly=True, samesite="Strict", secure=self._secure_cookie)
        return resp

    async def _enabled(self, user_id: str) -> bool:
        """Whether a browser session's user may still sign in (not disabled or deleted meanwhile)."""
        try:
            with self._accounts.as_system():
                user = await self._accounts.users.GetUser(users_pb2.GetUserRequest(id=user_id))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return False
            raise
        return bool(user.enabled)

    async def authorize_form(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        try:
            client, redirect = self._checked_authorize(params)
        except OAuthError as err:
            return self._error_redirect(params["redirect_uri"], err, params.get("state", ""))
        prompt = params.get("prompt", "").split()
        cookie = request.cookies.get(SESSION_COOKIE, "")
        if cookie and "login" not in prompt:
            session = self._store.session(cookie)
            if session is not None and await self._enabled(session.user_id):
                return self._code_redirect(client, redirect, params, session.data)
        if "none" in prompt:
            refusal = OAuthError("login_required", "the user must sign in")
            return self._error_redirect(redirect, refusal, params.get("state", ""))
        return self._form(client, params, 200)

    def _code_redirect(
        self, client: Client, redirect: str, params: dict[str, str], signed_in: dict[str, Any]
    ) -> web.Response:
        """The redirect to the client with a fresh code for the signed-in user."""
        data = {
            "user": signed_in["user"],
            "scope": params.get("scope", "openid"),
            "nonce": params.get("nonce", ""),
            "code_challenge": params.get("code_challenge", ""),
            "auth_time": signed_in["auth_time"],
        }
        code = self._store.add_code(client.id, redirect, signed_in["user"]["sub"], data, self._ttls["code"])
        location = _with_query(redirect, {"code": code, "state": params.get("state", "")})
        return web.Response(status=302, headers={"Location": location, **NO_STORE})

    async def authorize_login(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        try:
            client, redirect = self._checked_authorize(form)
        except OAuthError as err:
            return self._error_redirect(form["redirect_uri"], err, form.get("state", ""))
        username, password = form.get("username", "").strip(), form.get("password", "")
        if not self._csrf.valid(form.get("csrf", ""), request.cookies.get(COOKIE, ""), client.id + " " + redirect):
            return self._form(client, form, 403, username, "The sign-in form expired. Please try again.")
        try:
            with acting_as(self._service.get()):
                reply = await self._basic.Authenticate(
                    auth_pb2.BasicRequest(username=username, password=password, client_ip=self._addresses.of(request))
                )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                retry = next((str(v) for k, v in exc.trailing_metadata() or () if k == "retry-after"), "60")
                text = f"Too many failed sign-ins. Please wait {retry} seconds and try again."
                resp = self._form(client, form, 429, username, text)
                resp.headers["Retry-After"] = retry
                return resp
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                return self._form(client, form, 401, username, "Wrong username or password.")
            return self._form(client, form, 503, username, "Sign-in is unavailable right now; try again soon.")
        user = {
            "sub": reply.user.id,
            "preferred_username": reply.user.username,
            "name": reply.user.display_name or reply.user.username,
            "email": reply.user.email,
        }
        signed_in = {"user": user, "auth_time": int(time.time())}
        resp = self._code_redirect(client, redirect, form, signed_in)
        session = self._store.add_session(reply.user.id, signed_in, self._ttls["session"])
        resp.set_cookie(
            SESSION_COOKIE, session, path="/signin/", httponly=True, samesite="Lax", secure=self._secure_cookie
        )
        return resp

    # -- token ----------------------------------------------------------------------------------------------

    def _client_of(self, request: web.Request, form: dict[str, str]) -> Client:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                raw = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, ValueError):
                raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
            basic_id, _, secret = raw.partition(":")
            client_id = client_id or basic_id
            if basic_id != client_id:
                raise OAuthError("invalid_client", "client_id mismatch", 401)
        client = self._clients.get(client_id)
        if client is None or (not client.public and not client.secret_matches(secret)):
            raise OAuthError("invalid_client", "unknown client or wrong client secret", 401)
        return client

    def _tokens(self, client: Client, grant: Grant, refresh: str, nonce: str) -> dict[str, Any]:
        user, scope = grant.data["user"], grant.data.get("scope", "openid")
        body: dict[str, Any] = {
            "access_token": self._minter.access_token(client.id, user, scope),
            "token_type": "Bearer",
            "expires_in": int(self._ttls["access"]),
            "refresh_token": refresh,
            "scope": scope,
        }
        if "openid" in scope.split():
            body["id_token"] = self._minter.id_token(client.id, user, nonce, int(grant.data.get("auth_time", 0)))
        return body

    async def token(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        try:
            client = self._client_of(request, form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                body = self._exchange_code(client, form)
            elif grant_type == "refresh_token":
                grant, refresh = self._store.rotate_refresh(
                    form.get("refresh_token", ""), client.id, self._ttls["refresh"]
                )
                # The users.changed event revokes at once; this catches one idp missed (it was down, say).
                if not await self._enabled(grant.user_id):
                    self._store.revoke_user(grant.user_id)
                    raise InvalidGrant("the user is disabled or deleted")
                body = self._tokens(client, grant, refresh, "")
            else:
                raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
        except InvalidGrant as exc:
            return web.json_response({"error": "invalid_grant", "error_description": str(exc)}, status=400)
        except OAuthError as err:
            headers = {"WWW-Authenticate": 'Basic realm="idp"'} if err.status == 401 else {}
            body = {"error": err.error, "error_description": str(err)}
            return web.json_response(body, status=err.status, headers={**NO_STORE, **headers})
        return web.json_response(body, headers=NO_STORE)

    def _exchange_code(self, client: Client, form: dict[str, str]) -> dict[str, Any]:
        grant = self._store.take_code(form.get("code", ""), client.id, form.get("redirect_uri", ""))
        challenge = grant.data.get("code_challenge", "")
        if challenge:
            verifier = form.get("code_verifier", "")
            if not verifier or not hmac.compare_digest(create_s256_code_challenge(verifier), challenge):
                raise InvalidGrant("code_verifier does not match the code_challenge")
        refresh = self._store.add_refresh(grant, self._ttls["refresh"])
        return self._tokens(client, grant, refresh, grant.data.get("nonce", ""))

    # -- userinfo, end session ------------------------------------------------------------------------------

    async def userinfo(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise InvalidToken("a Bearer access token is required")
            claims = self._minter.verify(token.strip())
            if ACCESS_AUDIENCE not in claims.get("aud", ()):
                raise InvalidToken("not an access token")
        except InvalidToken as exc:
            challenge = f'Bearer error="invalid_token", error_description="{str(exc)[:100].replace(chr(34), "")}"'
            return web.json_response({"error": "invalid_token"}, status=401, headers={"WWW-Authenticate": challenge})
        keys = ("sub", "preferred_username", "name", "email")
        return web.json_response({k: claims[k] for k in keys if k in claims}, headers=NO_STORE)

    async def end_session(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        client_id = params.get("client_id", "")
        hint = params.get("id_token_hint", "")
        if hint:
            try:
                claims = self._minter.verify(hint, check_expiry=False)
            except InvalidToken:
                return web.Response(
                    status=400,
                    text=message_page("Sign-out refused", "Invalid id_token_hint."),
                    content_type="text/html",
                )
            aud = claims.get("aud")
            client_id = aud if isinstance(aud, str) else client_id
            self._store.revoke_user(str(claims["sub"]), client_id)
        self._store.end_session(request.cookies.get(SESSION_COOKIE, ""))
        client = self._clients.get(client_id)
        target = params.get("post_logout_redirect_uri", "")
        if target and client is not None and client.redirect_allowed(target):
            resp = web.Response(
                status=302, headers={"Location": _with_query(target, {"state": params.get("state", "")})}
            )
        else:
            resp = web.Response(text=message_page("Signed out", "You are signed out."), content_type="text/html")
        resp.del_cookie(SESSION_COOKIE, path="/signin/")
        return resp
