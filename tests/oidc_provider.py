"""A small, real OpenID Connect provider for the tests: discovery, authorization (code flow with PKCE),
token and JWKS endpoints over HTTP on 127.0.0.1, signing ID tokens with its own RSA key.

It plays an agency's identity provider that has already authenticated the person: /authorize signs in
``provider.identity`` at once (no login form) and redirects back with a code. Tests change ``identity``
to play someone else, ``deny`` to have the person cancel, and ``tamper`` to make the provider misbehave
(claims overridden in the ID token, or ``sign_with="rogue"`` for a key it does not publish).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "interdict-tests"
CLIENT_SECRET = "provider-issued-client-secret"


@dataclass
class LocalProvider:
    url: str = ""
    redirect_uris: set[str] = field(default_factory=set)
    identity: dict[str, Any] = field(default_factory=dict)
    deny: bool = False
    tamper: dict[str, Any] = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "current"}))
    rogue_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "current"}))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0

    def sign_in_as(self, sub: str, **claims: Any) -> None:
        self.identity = {"sub": sub, **claims}
        self.deny = False
        self.tamper = {}

    # --- endpoints ---

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != CLIENT_ID or redirect_uri not in self.redirect_uris:
            return PlainTextResponse("unknown client or redirect_uri", status_code=400)  # never redirect then
        if self.deny:
            return RedirectResponse(
                f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': q.get('state', '')})}"
            )
        problems = [
            q.get("response_type") != "code" and "response_type",
            "openid" not in q.get("scope", "").split() and "scope",
            q.get("code_challenge_method") != "S256" and "code_challenge_method",
            not q.get("code_challenge") and "code_challenge",
            not q.get("nonce") and "nonce",
            not q.get("state") and "state",
        ]
        if any(problems):
            return PlainTextResponse(f"bad request: {[p for p in problems if p]}", status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": redirect_uri,
            "challenge": q["code_challenge"],
            "nonce": q["nonce"],
            "identity": dict(self.identity),
        }
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': q['state']})}")

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        grant = self.codes.pop(str(form.get("code", "")), None)  # a code is good once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "redirect_uri"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **grant["identity"],
        }
        tamper = dict(self.tamper)
        key = self.rogue_key if tamper.pop("sign_with", None) == "rogue" else self.key
        claims.update(tamper)
        claims = {k: v for k, v in claims.items() if v is not None}  # tamper with None: drop the claim
        id_token = jwt.encode({"alg": "RS256", "kid": "current"}, claims, key)
        return JSONResponse(
            {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300, "id_token": id_token}
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )


@contextmanager
def running_provider() -> Iterator[LocalProvider]:
    """The provider, served by uvicorn in a background thread until the block ends."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    provider = LocalProvider(url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="oidc-provider", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{provider.url}/.well-known/openid-configuration", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test OpenID Connect provider did not start") from None
            time.sleep(0.05)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
