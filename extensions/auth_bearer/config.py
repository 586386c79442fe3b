from dataclasses import dataclass

from ocisd.config.schema import Duration, setting


@dataclass
class AuthBearerConfig:
    grpc_addr: str = setting("127.0.0.1:9148", "gRPC address of the AuthBearer service.")
    debug_addr: str = setting("127.0.0.1:9149", "Debug address: /healthz, /readyz, /metrics.")
    trust_idp: bool = setting(
        True, "Accept the access tokens of the idp extension: issuer OCIS_URL, keys from a registered idp's JWKS."
    )
    issuers: list[str] = setting([], "Accepted `iss` values of bearer JWTs (none: only app tokens are accepted).")
    audiences: list[str] = setting(["ocisd"], "Accepted `aud` values of bearer JWTs.")
    static_keys: list[str] = setting([], "Files with issuer public keys: PEM keys or certificates, JWK or JWKS JSON.")
    jwks_urls: list[str] = setting([], "JWKS URLs of the issuers, fetched when first needed and refreshed.")
    jwks_refresh: Duration = setting(Duration(300.0), "How often JWKS URLs are fetched again.")
    username_claim: str = setting("preferred_username", "JWT claim naming the local user.")
    leeway: Duration = setting(Duration(30.0), "Clock skew allowed when checking exp and nbf.")
