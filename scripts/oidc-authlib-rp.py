#!/usr/bin/env python3
"""A small relying party on Authlib, the example of "Sign in to your
application with twostep" in the README, and the Python client of the
OpenID Connect tests (crates/testkit/tests/oidc_authlib.rs).

    oidc-authlib-rp.py start  ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
        prints JSON: the authorization URL to send the browser to, and the
        state, nonce and PKCE verifier to keep for the callback.
    oidc-authlib-rp.py finish ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI < kept.json
        reads the kept JSON plus "callback_url" (where the browser came
        back), exchanges the code with the PKCE verifier, checks the ID
        token against the provider's JWKS (signature, issuer, audience,
        nonce, expiry, at_hash) and prints its claims and userinfo as JSON.
"""

import json
import sys

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken


def discover(issuer):
    meta = requests.get(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=10)
    meta.raise_for_status()
    meta = meta.json()
    if meta["issuer"] != issuer.rstrip("/"):
        raise SystemExit(f"issuer mismatch: {meta['issuer']} != {issuer}")
    return meta


def session(client_id, client_secret, redirect_uri):
    return OAuth2Session(
        client_id,
        client_secret,
        scope="openid email",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def start(issuer, client_id, client_secret, redirect_uri):
    meta = discover(issuer)
    client = session(client_id, client_secret, redirect_uri)
    verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], nonce=nonce, code_verifier=verifier
    )
    print(json.dumps({"url": url, "state": state, "nonce": nonce, "code_verifier": verifier}))


def finish(issuer, client_id, client_secret, redirect_uri):
    kept = json.load(sys.stdin)
    meta = discover(issuer)
    client = session(client_id, client_secret, redirect_uri)
    client.state = kept["state"]
    token = client.fetch_token(
        meta["token_endpoint"],
        authorization_response=kept["callback_url"],
        code_verifier=kept["code_verifier"],
        state=kept["state"],
    )
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": meta["issuer"]}},
        claims_params={"nonce": kept["nonce"], "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate()
    userinfo = client.get(meta["userinfo_endpoint"]).json()
    print(json.dumps({"claims": dict(claims), "userinfo": userinfo, "refresh_token": token.get("refresh_token")}))


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] not in ("start", "finish"):
        raise SystemExit(__doc__)
    {"start": start, "finish": finish}[sys.argv[1]](*sys.argv[2:])
