"""Single sign-on with OpenID Connect: the relying party's half of the protocol (the views
are in incidents/auth/oidc.py).

The authorization code flow with PKCE (S256), through Authlib's Flask client:

- `authorization_redirect` sends the browser to the provider, with a fresh `state`, `nonce`
  and code verifier kept in this browser's session (one sign-in at a time: a newer one
  replaces an older);
- `verified_identity` takes what comes back on the callback: the `state` must be the one
  this browser was given, less than SIGN_IN_MINUTES ago (any answer ends the pending sign-in,
  so a state works once); the code is exchanged for tokens with the verifier; the ID token
  must be signed by one of the provider's keys, for this client, by this issuer, unexpired,
  with our `nonce`. What it returns has been checked; which account it is, is
  `incidents.services.single_sign_on`'s business.
- `logout_url` ends the session at the provider too (RP-initiated logout), when it offers an
  `end_session_endpoint`.

The provider is found by discovery (`<OIDC_ISSUER>/.well-known/openid-configuration`), whose
`issuer` must be the configured one. Each app makes its client at first use, from its own
settings, so tests can point apps at different providers. The redirect URI is built from
BASE_URL, never from the request's Host header: `<BASE_URL>/login/oidc/callback`.

Nothing from the tokens is written to the audit trail or the log: a failure is one of the
reason codes of `incidents.services.single_sign_on.Refusal`.
"""

from __future__ import annotations

import base64
import re
import sys
import threading
import time
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app, redirect, session
from flask_babel import get_locale
from joserfc import jwt
from joserfc.errors import (
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import KeySet
from werkzeug.wrappers import Response

from incidents.links import external_url
from incidents.services.single_sign_on import Identity, Refusal

if TYPE_CHECKING:
    from authlib.integrations.flask_client import FlaskOAuth2App

# Authlib and requests (about 10 MiB per worker) are imported at the first single sign-on, in
# the functions below: an organisation without an identity provider never loads them.

# Seconds to wait for the provider (discovery, keys, token, userinfo) before giving up.
PROVIDER_TIMEOUT = 10
# Minutes a person has at the provider (logging in, a second factor) before the sign-in ends.
SIGN_IN_MINUTES = 15
# Clock skew allowed on the ID token's exp and iat, in seconds (Authlib's default).
LEEWAY = 120
# ID tokens are signed with the provider's published keys: asymmetric algorithms only (never
# "none", nor HS256 with the client secret, which the client could forge itself).
SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
_NAME = "oidc"
_HINT_SESSION_KEY = "oidc_logout_hint"
_STATE_PREFIX = f"_state_{_NAME}_"
_clients_lock = threading.Lock()
# A host name or address with an optional port: what an origin in a CSP header may hold.
_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


class SignOnFailed(Exception):
    """The provider's answer cannot be used; `refusal` says why."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


def configured() -> bool:
    """Whether single sign-on is set up (OIDC_ISSUER and OIDC_CLIENT_ID)."""
    config = current_app.config
    return bool(config.get("OIDC_ISSUER") and config.get("OIDC_CLIENT_ID"))


def button_label() -> str | None:
    """The name on the login page's button, or None when single sign-on is not set up."""
    if not configured():
        return None
    return str(current_app.config.get("OIDC_NAME") or "") or None


def init_app(app: Flask) -> None:
    """Check the settings at start-up: a half-configured provider stops the start with a clear
    message, instead of the first person's sign-in failing."""
    app.extensions["incidents.oidc"] = {}
    config = app.config
    if not config.get("OIDC_ISSUER"):
        if not config.get("PASSWORD_LOGIN", True):
            sys.exit(
                "incidents: PASSWORD_LOGIN is off but single sign-on is not set up "
                "(OIDC_ISSUER): only break-glass admins could log in"
            )
        return
    missing = [key for key in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET") if not config.get(key)]
    if missing:
        sys.exit(f"incidents: single sign-on needs {' and '.join(missing)} besides OIDC_ISSUER")
    issuer = str(config["OIDC_ISSUER"])
    if not config["DEMO"] and not issuer.startswith("https://"):
        sys.exit(f"incidents: OIDC_ISSUER must be an https:// address, not {issuer}")
    if "openid" not in str(config.get("OIDC_SCOPES", "")).split():
        sys.exit("incidents: OIDC_SCOPES must include openid")


def _origin(url: object) -> str | None:
    """scheme://host[:port] of an address, if it is one that may stand in a CSP header."""
    parts = urlsplit(str(url or ""))
    if parts.scheme not in {"http", "https"} or not _HOST.fullmatch(parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def provider_origins() -> list[str]:
    """The provider's addresses that a form of ours may lead to: the button and the logout
    are forms whose answer redirects there. The issuer's, and those of its authorization and
    end-session endpoints once the discovery document has been read (no request for it here)."""
    known = client().server_metadata
    urls = [current_app.config["OIDC_ISSUER"]]
    urls += [known.get("authorization_endpoint"), known.get("end_session_endpoint")]
    origins = [origin for origin in map(_origin, urls) if origin]
    return list(dict.fromkeys(origins))


def discovery_url(issuer: str) -> str:
    """Where the provider describes itself (OpenID Connect Discovery)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def client() -> FlaskOAuth2App:
    """This app's client for the configured provider, made at first use (and again when the
    settings change, as tests do)."""
    from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App

    config = current_app.config
    key = (
        str(config["OIDC_ISSUER"]),
        str(config["OIDC_CLIENT_ID"]),
        str(config.get("OIDC_CLIENT_SECRET") or ""),
        str(config.get("OIDC_SCOPES") or "openid email profile"),
    )
    clients: dict[tuple[str, ...], FlaskOAuth2App] = current_app.extensions.setdefault(
        "incidents.oidc", {}
    )
    with _clients_lock:
        found = clients.get(key)
        if found is None:
            issuer, client_id, client_secret, scopes = key
            found = FlaskOAuth2App(
                FlaskIntegration(_NAME),
                _NAME,
                client_id=client_id,
                client_secret=client_secret,
                server_metadata_url=discovery_url(issuer),
                client_kwargs={
                    "scope": scopes,
                    "code_challenge_method": "S256",
                    "token_endpoint_auth_method": "client_secret_basic",
                    "default_timeout": PROVIDER_TIMEOUT,
                },
            )
            clients[key] = found
    return found


def metadata(oauth: FlaskOAuth2App) -> dict[str, Any]:
    """The provider's discovery document (fetched once), checked to name the configured issuer."""
    import requests

    try:
        found: dict[str, Any] = oauth.load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        raise SignOnFailed(Refusal.UNREACHABLE) from error
    configured_issuer = str(current_app.config["OIDC_ISSUER"]).rstrip("/")
    if str(found.get("issuer", "")).rstrip("/") != configured_issuer:
        raise SignOnFailed(Refusal.DISCOVERY)
    return found


def authorization_redirect(next_target: str = "") -> Response:
    """Send the browser to the provider's authorization endpoint. `next_target` (already
    checked to be a path of this site) is where the callback goes afterwards."""
    import requests

    oauth = client()
    metadata(oauth)
    redirect_uri = external_url("auth.oidc_callback")
    try:
        request = oauth.create_authorization_url(redirect_uri, ui_locales=str(get_locale()))
    except (requests.RequestException, RuntimeError) as error:
        raise SignOnFailed(Refusal.UNREACHABLE) from error
    _forget_pending_sign_ins()  # one at a time per browser, so the cookie stays small
    session[_STATE_PREFIX + request["state"]] = {
        "data": {
            "redirect_uri": redirect_uri,
            "code_verifier": request["code_verifier"],
            "nonce": request["nonce"],
            "next": next_target,
        },
        "exp": time.time() + SIGN_IN_MINUTES * 60,
    }
    return redirect(request["url"])


def _forget_pending_sign_ins() -> None:
    for key in [key for key in session if key.startswith(_STATE_PREFIX)]:
        session.pop(key)


def verified_identity(args: Mapping[str, str]) -> Identity:
    """Check the provider's answer on the callback (its query arguments) and the ID token it
    leads to; raises `SignOnFailed` with the reason when anything is wrong."""
    import requests
    from authlib.integrations.base_client import OAuthError

    oauth = client()
    state = args.get("state", "")
    pending = session.get(_STATE_PREFIX + state) if state else None
    # The answer ends this browser's sign-in, whatever it says: its state works once.
    _forget_pending_sign_ins()
    if not isinstance(pending, dict) or not float(pending.get("exp") or 0) > time.time():
        raise SignOnFailed(Refusal.STATE)
    flow = pending.get("data")
    if not isinstance(flow, dict) or not {"redirect_uri", "code_verifier", "nonce"} <= set(flow):
        raise SignOnFailed(Refusal.STATE)
    provider = metadata(oauth)
    # RFC 9207: an answer that says it comes from another issuer is a mix-up attack.
    if "iss" in args and args["iss"] != provider["issuer"]:
        raise SignOnFailed(Refusal.STATE)
    error = args.get("error")
    if error:
        denied = {"access_denied", "login_required", "consent_required", "interaction_required"}
        raise SignOnFailed(Refusal.ACCESS_DENIED if error in denied else Refusal.PROVIDER_ERROR)
    code = args.get("code")
    if not code:
        raise SignOnFailed(Refusal.PROVIDER_ERROR)
    try:
        token = oauth.fetch_access_token(
            redirect_uri=flow["redirect_uri"], code=code, code_verifier=flow["code_verifier"]
        )
    except OAuthError as failure:
        raise SignOnFailed(Refusal.CODE_REFUSED) from failure
    except (requests.RequestException, ValueError) as failure:
        raise SignOnFailed(Refusal.UNREACHABLE) from failure
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise SignOnFailed(Refusal.CODE_REFUSED)
    claims = checked_id_token(oauth, provider, id_token, str(flow["nonce"]), token)
    if _email_claim() not in claims and provider.get("userinfo_endpoint"):
        claims = {**_userinfo(oauth, token, claims["sub"]), **claims}
    return identity_of(claims, id_token, str(flow.get("next") or ""))


def checked_id_token(
    oauth: FlaskOAuth2App,
    provider: Mapping[str, Any],
    id_token: str,
    nonce: str,
    token: Mapping[str, Any],
) -> dict[str, Any]:
    """`verify_id_token` with the provider's keys, fetched again once for a key it does not
    know yet (the provider rotated its keys)."""
    import requests

    for force in (False, True):
        try:
            keys = oauth.fetch_jwk_set(force=force)
        except (requests.RequestException, ValueError, RuntimeError) as error:
            raise SignOnFailed(Refusal.UNREACHABLE) from error
        try:
            return verify_id_token(
                id_token,
                keys=keys,
                issuer=str(provider["issuer"]),
                client_id=str(oauth.client_id),
                nonce=nonce,
                access_token=token.get("access_token"),
                algorithms=provider.get("id_token_signing_alg_values_supported"),
            )
        except _UnknownKey:
            continue
    raise SignOnFailed(Refusal.SIGNATURE)


class _UnknownKey(Exception):
    """The ID token names a key the key set does not have."""


def verify_id_token(
    id_token: str,
    *,
    keys: Mapping[str, Any],
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None = None,
    algorithms: list[str] | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """The claims of `id_token` once its signature (by one of `keys`, a JWK set), issuer,
    audience, expiry, nonce and access token hash are checked; raises `SignOnFailed`."""
    from authlib.oidc.core import CodeIDToken

    allowed = [name for name in (algorithms or ["RS256"]) if name in SIGNING_ALGORITHMS]
    try:
        key_set = KeySet.import_key_set(dict(keys))  # type: ignore[arg-type]
        decoded = jwt.decode(id_token, key_set, algorithms=allowed)
    except InvalidKeyIdError as error:
        raise _UnknownKey from error
    except (JoseError, ValueError, TypeError) as error:
        raise SignOnFailed(Refusal.SIGNATURE) from error
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "values": [client_id]},
        },
        {"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    try:
        claims.validate(now=now, leeway=LEEWAY)
    except ExpiredTokenError as error:
        raise SignOnFailed(Refusal.EXPIRED) from error
    except ClaimError as error:
        raise SignOnFailed(Refusal.NONCE if error.claim == "nonce" else Refusal.CLAIMS) from error
    except (JoseError, ValueError, TypeError) as error:
        raise SignOnFailed(Refusal.CLAIMS) from error
    return dict(claims)


def _email_claim() -> str:
    return str(current_app.config.get("OIDC_EMAIL_CLAIM") or "email")


def _userinfo(oauth: FlaskOAuth2App, token: Mapping[str, Any], subject: str) -> dict[str, Any]:
    """The userinfo endpoint's claims, for a provider that keeps the e-mail address out of
    the ID token; they must be about the same subject (OpenID Connect Core 5.3.2)."""
    import requests
    from authlib.integrations.base_client import OAuthError

    try:
        found = dict(oauth.userinfo(token=dict(token)))
    except OAuthError as error:
        raise SignOnFailed(Refusal.PROVIDER_ERROR) from error
    except (requests.RequestException, ValueError) as error:
        raise SignOnFailed(Refusal.UNREACHABLE) from error
    if found.get("sub") != subject:
        raise SignOnFailed(Refusal.CLAIMS)
    return found


def identity_of(claims: Mapping[str, Any], id_token: str, next_target: str = "") -> Identity:
    """The verified claims as an `Identity`: values of the wrong type or too long for the
    database are refused, not cut."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise SignOnFailed(Refusal.CLAIMS)
    email = claims.get(_email_claim())
    if email is not None and (not isinstance(email, str) or len(email.strip()) > 254):
        raise SignOnFailed(Refusal.CLAIMS)
    verified = claims.get("email_verified")
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(part for part in parts if isinstance(part, str) and part.strip())
    return Identity(
        subject=subject,
        email=(email.strip() or None) if isinstance(email, str) else None,
        name=" ".join(name.split())[:120],
        email_verified=verified if isinstance(verified, bool) else None,
        id_token=id_token,
        next=next_target,
    )


# --- The ID token kept for logging out --------------------------------------------------------
#
# The provider wants the ID token back as `id_token_hint` when the session ends. The session
# lives in a signed but readable cookie that holds no e-mail address (README, Security), so the
# token goes in encrypted under a key derived from SECRET_KEY, and only after a sign-in through
# the provider. A token too large for the cookie (a provider that packs groups into it) is not
# kept: the logout then names only the client, and the provider may ask to confirm it.

# Characters of the sealed token at most: a browser drops a cookie over 4096 bytes, and with
# it the whole session.
HINT_MAX_CHARS = 2400


def _fernet() -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"incidents oidc id_token_hint"
    ).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def remember_id_token(id_token: str) -> None:
    """Keep the ID token of this sign-in for `logout_url` (call after the session began)."""
    sealed = _fernet().encrypt(zlib.compress(id_token.encode())).decode()
    session[_HINT_SESSION_KEY] = sealed if len(sealed) <= HINT_MAX_CHARS else ""


def take_id_token() -> str | None:
    """The ID token kept at sign-in, removed from the session: "" when it was too large to
    keep, None when the session did not begin at the provider (a password login)."""
    sealed = session.pop(_HINT_SESSION_KEY, None)
    if not isinstance(sealed, str):
        return None
    if not sealed:
        return ""
    try:
        return zlib.decompress(_fernet().decrypt(sealed.encode())).decode()
    except (InvalidToken, zlib.error, UnicodeDecodeError):
        return ""


def logout_url(id_token: str | None) -> str | None:
    """Where to send the browser to end the session at the provider too, coming back to the
    login page (`id_token` from `take_id_token`; "" sends none as hint); None when the session
    did not begin there or the provider offers no `end_session_endpoint` (or cannot be
    reached: the session here has ended anyway)."""
    if id_token is None or not configured():
        return None
    oauth = client()
    try:
        provider = metadata(oauth)
    except SignOnFailed:
        return None
    if not provider.get("end_session_endpoint"):
        return None
    result = oauth.create_logout_url(
        post_logout_redirect_uri=external_url("auth.login"),
        id_token_hint=id_token or None,
        client_id=oauth.client_id,
    )
    return str(result["url"])
