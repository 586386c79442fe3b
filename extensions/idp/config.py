from dataclasses import dataclass

from ocisd.config.schema import Duration, setting


@dataclass
class IdpConfig:
    http_addr: str = setting("127.0.0.1:9130", "HTTP address: OpenID Connect discovery, login, token, JWKS.")
    debug_addr: str = setting("127.0.0.1:9134", "Debug address: /healthz, /readyz, /metrics.")
    access_token_ttl: Duration = setting(Duration(300.0), "Lifetime of access tokens.")
    id_token_ttl: Duration = setting(Duration(300.0), "Lifetime of ID tokens.")
    refresh_token_ttl: Duration = setting(Duration(30 * 86400.0), "Lifetime of refresh tokens (each use renews it).")
    session_ttl: Duration = setting(
        Duration(8 * 3600.0), "How long a browser stays signed in at idp (no login form for further sign-ins)."
    )
    code_ttl: Duration = setting(Duration(60.0), "Lifetime of authorization codes.")
    login_form_ttl: Duration = setting(Duration(1800.0), "How long a login form may be filled in before it is refused.")
    signing_alg: str = setting("RS256", "Signing algorithm of access and ID tokens: RS256 or PS256.")
    clients: str = setting(
        "",
        'Extra clients as a JSON array: [{"id": "...", "secret": "..." (omit for public clients, which must use '
        'PKCE), "redirect_uris": ["..."], "name": "..."}].',
        secret=True,
    )
    dynamic_registration: bool = setting(False, "Allow dynamic client registration (not supported: must stay off).")
