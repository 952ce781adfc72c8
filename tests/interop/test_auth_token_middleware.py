"""keystonemiddleware's auth_token, as every OpenStack service runs it, in front of a tiny
WSGI app: it must validate our tokens online and pass the identity on in X-* headers."""

from __future__ import annotations

import json

import pytest
import webtest

import clients
import servers


def echo_identity(environ, start_response):
    """The protected app: reports what auth_token told it about the caller."""
    keys = ("HTTP_X_IDENTITY_STATUS", "HTTP_X_USER_ID", "HTTP_X_USER_NAME",
            "HTTP_X_USER_DOMAIN_ID", "HTTP_X_PROJECT_ID", "HTTP_X_PROJECT_NAME",
            "HTTP_X_PROJECT_DOMAIN_ID", "HTTP_X_ROLES", "HTTP_X_SERVICE_CATALOG")
    body = json.dumps({k: environ.get(k) for k in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


@pytest.fixture
def protected_app(keystone) -> webtest.TestApp:
    return clients.auth_token_app(keystone.auth_url, echo_identity,
                                  include_service_catalog="true")


def test_valid_project_token_is_accepted(protected_app, keystone):
    token, issued = clients.issue_token(keystone.auth_url)
    seen = protected_app.get("/", headers={"X-Auth-Token": token}, status=200).json
    assert seen["HTTP_X_IDENTITY_STATUS"] == "Confirmed"
    assert seen["HTTP_X_USER_ID"] == issued["token"]["user"]["id"]
    assert seen["HTTP_X_USER_NAME"] == servers.ADMIN_USER
    assert seen["HTTP_X_USER_DOMAIN_ID"] == servers.DOMAIN_ID
    assert seen["HTTP_X_PROJECT_ID"] == issued["token"]["project"]["id"]
    assert seen["HTTP_X_PROJECT_NAME"] == servers.ADMIN_PROJECT
    roles = set(seen["HTTP_X_ROLES"].split(","))
    # bootstrap's admin role implies member and reader
    assert {"admin", "member", "reader"} <= roles
    assert roles == {r["name"] for r in issued["token"]["roles"]}
    catalog = json.loads(seen["HTTP_X_SERVICE_CATALOG"])
    assert "identity" in {service["type"] for service in catalog}


def test_revoked_token_is_rejected(protected_app, keystone):
    token, _ = clients.issue_token(keystone.auth_url)
    protected_app.get("/", headers={"X-Auth-Token": token}, status=200)

    admin = clients.admin_session(keystone.auth_url)
    resp = admin.delete(f"{keystone.auth_url}/auth/tokens",
                        headers={"X-Subject-Token": token}, raise_exc=False)
    assert resp.status_code == 204, resp.text

    rejected = protected_app.get("/", headers={"X-Auth-Token": token}, status=401)
    assert rejected.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.auth_url}"'


def test_missing_and_bogus_tokens_are_rejected(protected_app, keystone):
    resp = protected_app.get("/", status=401)
    assert resp.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.auth_url}"'
    protected_app.get("/", headers={"X-Auth-Token": "gAAAAABnot-a-token"}, status=401)
