"""An MCP-style client connecting to a vault through the hub, with authlib doing the OAuth.

Steps (each asserted; the first failure exits 1 with a JSON line saying which):
 1. call the vault without a token: 401 with a `resource_metadata` challenge (RFC 9728);
 2. read the protected-resource document, then the authorization server's (RFC 8414);
 3. register a public client (RFC 7591);
 4. build the authorization URL with authlib (PKCE S256, state, RFC 8707 resource) and hand
    it to the browser step (tests/browser/authorize.mjs: sign in, Approve);
 5. exchange the code with authlib, call the vault with the access token;
 6. refresh with authlib, call the vault with the new token;
 7. present the old refresh token again: refused (invalid_grant), and the family is revoked,
    so the vault now refuses the newest access token too.

usage: python mcp_flow.py <vault-url> <username> <password> <authorize.mjs> <callback-port> [shots]
Prints one JSON line: {"ok": true, "steps": [...]} or {"ok": false, "step": ..., "error": ...}.
"""

import json
import os
import re
import subprocess
import sys

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

# The hub is reached over loopback http in the suite; authlib refuses that unless told.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
TIMEOUT = 20
steps = []


class StepFailed(Exception):
    pass


def check(condition, step, detail):
    if not condition:
        raise StepFailed(f"{step}: {detail}")
    steps.append(step)


def main():
    vault_url, username, password, browser_script, callback_port = sys.argv[1:6]
    shots = sys.argv[6] if len(sys.argv) > 6 else ""
    http = requests.Session()
    http.trust_env = False

    challenge = http.get(vault_url, timeout=TIMEOUT)
    header = challenge.headers.get("WWW-Authenticate", "")
    found = re.search(r'resource_metadata="([^"]+)"', header)
    check(challenge.status_code == 401 and found, "401 challenge", f"{challenge.status_code} {header!r}")

    prm = http.get(found.group(1), timeout=TIMEOUT).json()
    check(prm.get("resource") == vault_url, "protected-resource document", json.dumps(prm))
    issuer = prm["authorization_servers"][0]
    asm = http.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=TIMEOUT).json()
    check(asm.get("issuer") == issuer and "S256" in asm.get("code_challenge_methods_supported", []),
          "authorization-server document", json.dumps(asm))

    redirect_uri = f"http://127.0.0.1:{callback_port}/callback"
    registration = http.post(asm["registration_endpoint"], timeout=TIMEOUT, json={
        "client_name": "authlib MCP client",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
    check(registration.status_code == 201, "registration", registration.text)
    client_id = registration.json()["client_id"]

    scope = prm["scopes_supported"][0]
    oauth = OAuth2Session(client_id, redirect_uri=redirect_uri, scope=scope,
                          code_challenge_method="S256", token_endpoint_auth_method="none")
    oauth.trust_env = False
    verifier = generate_token(64)
    auth_url, state = oauth.create_authorization_url(
        asm["authorization_endpoint"], code_verifier=verifier, resource=prm["resource"])
    browser = subprocess.run(
        ["node", browser_script, auth_url, redirect_uri, username, password, shots],
        capture_output=True, text=True, timeout=90)
    lines = [l for l in browser.stdout.splitlines() if l.startswith("{")]
    outcome = json.loads(lines[-1]) if lines else {"error": browser.stderr}
    check("callback" in outcome, "browser sign-in and approval", json.dumps(outcome))

    token = oauth.fetch_token(asm["token_endpoint"], authorization_response=outcome["callback"],
                              code_verifier=verifier, state=state, resource=prm["resource"])
    check(token.get("access_token") and token.get("refresh_token"), "code exchange", json.dumps(list(token)))

    def call(access):
        return http.get(vault_url, headers={"Authorization": f"Bearer {access}"}, timeout=TIMEOUT)

    first = call(token["access_token"])
    claims = first.json().get("claims", {}) if first.status_code == 200 else {}
    check(first.status_code == 200 and claims.get("scope") == scope and claims.get("client_id") == client_id,
          "call with the access token", f"{first.status_code} {first.text}")

    old_refresh = token["refresh_token"]
    renewed = oauth.refresh_token(asm["token_endpoint"], refresh_token=old_refresh)
    check(renewed.get("refresh_token") not in (None, old_refresh), "refresh rotates", json.dumps(list(renewed)))
    second = call(renewed["access_token"])
    check(second.status_code == 200, "call with the refreshed token", f"{second.status_code} {second.text}")

    try:
        oauth.refresh_token(asm["token_endpoint"], refresh_token=old_refresh)
        refused = None
    except Exception as err:  # authlib raises its OAuthError with the server's error code
        refused = getattr(err, "error", str(err))
    check(refused == "invalid_grant", "old refresh token refused", repr(refused))
    after = call(renewed["access_token"])
    check(after.status_code == 401 and after.json().get("code") == "revoked",
          "reuse revoked the family", f"{after.status_code} {after.text}")

    print(json.dumps({"ok": True, "steps": steps, "client_id": client_id}))


if __name__ == "__main__":
    try:
        main()
    except StepFailed as failed:
        print(json.dumps({"ok": False, "steps": steps, "error": str(failed)}))
        sys.exit(1)
    except Exception as err:  # anything else: report it the same way
        print(json.dumps({"ok": False, "steps": steps, "error": f"{type(err).__name__}: {err}"}))
        sys.exit(1)
