"""Small client helpers shared by the tests: keystoneauth1 sessions for the bootstrap admin
and raw token calls where a test needs the exact JSON a server sends."""

from __future__ import annotations

import requests
import webtest
from keystonemiddleware import auth_token
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

import servers

TIMEOUT = 30


def admin_session(auth_url: str) -> ks_session.Session:
    """keystoneauth1's password plugin, project-scoped to the bootstrap admin project."""
    auth = v3.Password(auth_url=auth_url, username=servers.ADMIN_USER,
                       password=servers.ADMIN_PASSWORD, user_domain_id=servers.DOMAIN_ID,
                       project_name=servers.ADMIN_PROJECT,
                       project_domain_id=servers.DOMAIN_ID)
    return ks_session.Session(auth=auth, timeout=TIMEOUT)


def password_auth_body(scope: str) -> dict:
    """POST /v3/auth/tokens body for the admin: scope is project, system or unscoped."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": servers.ADMIN_USER, "domain": {"id": servers.DOMAIN_ID},
        "password": servers.ADMIN_PASSWORD}}}}}
    if scope == "project":
        body["auth"]["scope"] = {"project": {"name": servers.ADMIN_PROJECT,
                                             "domain": {"id": servers.DOMAIN_ID}}}
    elif scope == "system":
        body["auth"]["scope"] = {"system": {"all": True}}
    elif scope != "unscoped":
        raise ValueError(scope)
    return body


def issue_token(auth_url: str, scope: str = "project") -> tuple[str, dict]:
    """Returns (token id, response JSON) of a password authentication as the admin."""
    resp = requests.post(f"{auth_url}/auth/tokens", json=password_auth_body(scope),
                         timeout=TIMEOUT)
    assert resp.status_code == 201, f"POST /v3/auth/tokens -> {resp.status_code}: {resp.text}"
    return resp.headers["X-Subject-Token"], resp.json()


def validate_token(auth_url: str, auth_token: str, subject_token: str) -> requests.Response:
    return requests.get(f"{auth_url}/auth/tokens",
                        headers={"X-Auth-Token": auth_token, "X-Subject-Token": subject_token},
                        timeout=TIMEOUT)


def auth_token_app(auth_url: str, app, **options: str):
    """`app` behind keystonemiddleware's auth_token, configured as a paste.ini
    [filter:authtoken] section would (string values): the bootstrap admin as the service
    user, no memcache and no in-process cache (token_cache_time=-1), so a revoked token
    or a removed grant is seen at the next request. `options` add to or override that."""
    conf = {
        "www_authenticate_uri": auth_url,
        "auth_url": auth_url,
        "auth_type": "password",
        "username": servers.ADMIN_USER,
        "password": servers.ADMIN_PASSWORD,
        "project_name": servers.ADMIN_PROJECT,
        "user_domain_id": servers.DOMAIN_ID,
        "project_domain_id": servers.DOMAIN_ID,
        "region_name": servers.REGION,
        "delay_auth_decision": "false",
        "token_cache_time": "-1",
        "http_request_max_retries": "0",
        **options,
    }
    return webtest.TestApp(auth_token.AuthProtocol(app, conf))
