"""One certificate order from an ACME (RFC 8555) CA with HTTP-01, through certbot's `acme` library.

Synchronous (the library speaks `requests`): the proxy runs `order` in a
thread. The answers to the CA's challenges go into the store, where every
proxy instance's challenge listener on this host finds them. Whatever goes
wrong comes out as `OrderFailed`, one line naming the domain and the CA's
problem document (type and detail) or why the CA could not be asked.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import josepy as jose
import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .certstore import CertStore

NETWORK_TIMEOUT = 30  # seconds per request to the CA
ORDER_DEADLINE = datetime.timedelta(seconds=90)  # validation and issuance together
USER_AGENT = "ocisd-proxy"


class OrderFailed(Exception):
    """The certificate was not issued; the message says for which domain and why."""


@dataclass(frozen=True)
class AcmeSettings:
    directory: str
    email: str
    domains: list[str]
    ca_bundle: str


def _problem(err: messages.Error) -> str:
    where = f"{err.identifier.value}: " if err.identifier is not None else ""
    subs = "".join(f"; {_problem(s)}" for s in err.subproblems or ())
    return f"{where}{err.typ}: {err.detail or err.description or ''}{subs}"


def explain(exc: BaseException, settings: AcmeSettings) -> str:
    """One line for the log and `ocis proxy certificate --renew`."""
    domains = ",".join(settings.domains)
    if isinstance(exc, errors.ValidationError):
        return "; ".join(
            f"{a.body.identifier.value}: {_problem(c.error)}"
            for a in exc.failed_authzrs
            for c in a.body.challenges
            if c.error is not None
        )
    if isinstance(exc, messages.Error):
        return f"{domains}: the CA refused: {_problem(exc)}"
    if isinstance(exc, errors.IssuanceError):
        return f"{domains}: the CA refused to issue: {_problem(exc.error)}"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"{domains}: cannot verify {settings.directory}'s HTTPS certificate (PROXY_ACME_CA_BUNDLE?): {exc}"
    if isinstance(exc, requests.RequestException):
        return f"{domains}: cannot reach the ACME directory {settings.directory}: {exc}"
    if isinstance(exc, errors.TimeoutError):
        return f"{domains}: the CA did not validate and issue within {ORDER_DEADLINE.seconds}s"
    return f"{domains}: {type(exc).__name__}: {exc}"


def _account_key(store: CertStore) -> jose.JWK:
    pem = store.read(store.account_key)
    if pem is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        store.write(store.account_key, pem)
    return jose.JWKRSA.load(pem)


def _register(acme: client.ClientV2, email: str) -> None:
    """Create the account, or find the one this key already has (the CA answers 200 with its URL)."""
    new = messages.NewRegistration.from_data(email=email or None, terms_of_service_agreed=True)
    try:
        acme.new_account(new)
    except errors.ConflictError as exc:
        acme.query_registration(messages.RegistrationResource(uri=exc.location, body=messages.Registration()))


def _http01(authz: messages.AuthorizationResource) -> messages.ChallengeBody:
    for challb in authz.body.challenges:
        if isinstance(challb.chall, challenges.HTTP01):
            return challb
    raise OrderFailed(f"{authz.body.identifier.value}: the CA offers no http-01 challenge")


def order(store: CertStore, settings: AcmeSettings) -> bytes:
    """Order a certificate for `settings.domains`; returns the new key and full chain as one PEM."""
    try:
        return _order(store, settings)
    except OrderFailed:
        raise
    except Exception as exc:  # the library and requests raise many kinds; all become one line
        raise OrderFailed(explain(exc, settings)) from exc


def _order(store: CertStore, settings: AcmeSettings) -> bytes:
    verify = settings.ca_bundle or True  # handed to requests, which takes a CA file where the hint says bool
    net = client.ClientNetwork(
        _account_key(store),
        verify_ssl=verify,  # type: ignore[arg-type]
        user_agent=USER_AGENT,
        timeout=NETWORK_TIMEOUT,
    )
    acme = client.ClientV2(client.ClientV2.get_directory(settings.directory, net), net)
    _register(acme, settings.email)
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    new_order = acme.new_order(crypto_util.make_csr(key_pem, settings.domains))
    tokens: list[str] = []
    try:
        for authz in new_order.authorizations:
            if authz.body.status == messages.STATUS_VALID:
                continue  # the CA still trusts an earlier validation
            challb = _http01(authz)
            response, validation = challb.response_and_validation(net.key)
            token = challb.chall.encode("token")
            store.put_challenge(token, validation.encode())
            tokens.append(token)
            acme.answer_challenge(challb, response)
        done = acme.poll_and_finalize(new_order, datetime.datetime.now() + ORDER_DEADLINE)
    finally:
        for token in tokens:
            store.drop_challenge(token)
    return key_pem + done.fullchain_pem.encode()
