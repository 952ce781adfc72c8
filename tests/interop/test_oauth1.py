"""OS-OAUTH1 delegation with the clients deployments use: requests-oauthlib signs the
consumer's steps, keystoneauth1's oauth1 plugin turns the access token into a Keystone
token, and keystonemiddleware's auth_token accepts that token with only the delegated
roles — until the delegation is deleted. The `openstack` CLI drives the same flow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests
import webtest
from keystoneauth1 import session as ks_session
from keystoneauth1.extras.oauth1 import v3 as oauth1_v3
from requests_oauthlib import OAuth1

import clients
import servers

OPENSTACK = str(Path(sys.executable).parent / "openstack")


def echo_identity(environ, start_response):
    keys = ("HTTP_X_IDENTITY_STATUS", "HTTP_X_USER_ID", "HTTP_X_PROJECT_ID", "HTTP_X_ROLES")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({k: environ.get(k) for k in keys}).encode()]


@pytest.fixture
def protected_app(keystone) -> webtest.TestApp:
    # no cache: a deleted delegation must be seen at once
    return clients.auth_token_app(keystone.auth_url, echo_identity)


def create_consumer(admin: ks_session.Session, auth_url: str) -> dict:
    resp = admin.post(f"{auth_url}/OS-OAUTH1/consumers",
                      json={"consumer": {"description": "interop"}}, raise_exc=False)
    assert resp.status_code == 201, resp.text
    return resp.json()["consumer"]


def test_requests_oauthlib_keystoneauth_and_middleware(keystone, protected_app):
    auth_url = keystone.auth_url
    admin = clients.admin_session(auth_url)
    _, issued = clients.issue_token(auth_url)
    project_id = issued["token"]["project"]["id"]
    user_id = issued["token"]["user"]["id"]
    consumer = create_consumer(admin, auth_url)

    # The consumer asks for a request token (requests-oauthlib, HMAC-SHA1, oob callback).
    resp = requests.post(
        f"{auth_url}/OS-OAUTH1/request_token",
        auth=OAuth1(consumer["id"], client_secret=consumer["secret"], callback_uri="oob"),
        headers={"Requested-Project-Id": project_id}, timeout=clients.TIMEOUT)
    assert resp.status_code == 201, resp.text
    assert resp.headers["Content-Type"] == "application/x-www-form-urlencoded"
    request_token = dict(parse_qsl(resp.text))

    # The admin authorizes it for `member` only.
    resp = admin.put(f"{auth_url}/OS-OAUTH1/authorize/{request_token['oauth_token']}",
                     json={"roles": [{"name": "member"}]}, raise_exc=False)
    assert resp.status_code == 200, resp.text
    verifier = resp.json()["token"]["oauth_verifier"]

    # The consumer exchanges it for an access token.
    resp = requests.post(
        f"{auth_url}/OS-OAUTH1/access_token",
        auth=OAuth1(consumer["id"], client_secret=consumer["secret"],
                    resource_owner_key=request_token["oauth_token"],
                    resource_owner_secret=request_token["oauth_token_secret"],
                    verifier=verifier),
        timeout=clients.TIMEOUT)
    assert resp.status_code == 201, resp.text
    access_token = dict(parse_qsl(resp.text))
    assert set(access_token) == {"oauth_token", "oauth_token_secret", "oauth_expires_at"}

    # keystoneauth1's oauth1 plugin: a project token with the delegated roles only
    # (member, and reader which member implies), never admin.
    plugin = oauth1_v3.OAuth1(auth_url=auth_url, consumer_key=consumer["id"],
                              consumer_secret=consumer["secret"],
                              access_key=access_token["oauth_token"],
                              access_secret=access_token["oauth_token_secret"])
    session = ks_session.Session(auth=plugin, timeout=clients.TIMEOUT)
    access = plugin.get_access(session)
    assert access.user_id == user_id
    assert access.project_id == project_id
    assert set(access.role_names) == {"member", "reader"}
    assert access._data["token"]["OS-OAUTH1"] == {
        "access_token_id": access_token["oauth_token"], "consumer_id": consumer["id"]}
    token = access.auth_token

    # keystonemiddleware accepts it and passes on only the delegated roles.
    seen = protected_app.get("/", headers={"X-Auth-Token": token}, status=200).json
    assert seen["HTTP_X_IDENTITY_STATUS"] == "Confirmed"
    assert seen["HTTP_X_USER_ID"] == user_id
    assert seen["HTTP_X_PROJECT_ID"] == project_id
    assert set(seen["HTTP_X_ROLES"].split(",")) == {"member", "reader"}

    # Deleting the access token kills the delegation's tokens.
    resp = admin.delete(
        f"{auth_url}/users/{user_id}/OS-OAUTH1/access_tokens/{access_token['oauth_token']}",
        raise_exc=False)
    assert resp.status_code == 204, resp.text
    protected_app.get("/", headers={"X-Auth-Token": token}, status=401)


@pytest.fixture
def openstack(os_env, tmp_path):
    def run(*args: str):
        result = subprocess.run([OPENSTACK, *args, "-f", "json"], env=os_env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (
            f"{' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
            f"stderr: {result.stderr}")
        return json.loads(result.stdout)

    return run


def test_openstack_cli_delegation(openstack, keystone):
    consumer = openstack("consumer", "create", "--description", "cli consumer")
    assert {"id", "secret", "description"} <= set(consumer)
    request_token = openstack("request", "token", "create",
                              "--consumer-key", consumer["id"],
                              "--consumer-secret", consumer["secret"],
                              "--project", servers.ADMIN_PROJECT)
    assert {"id", "key", "secret", "expires"} <= set(request_token)
    verifier = openstack("request", "token", "authorize",
                         "--request-key", request_token["key"], "--role", "member")
    access_token = openstack("access", "token", "create",
                             "--consumer-key", consumer["id"],
                             "--consumer-secret", consumer["secret"],
                             "--request-key", request_token["key"],
                             "--request-secret", request_token["secret"],
                             "--verifier", verifier["oauth_verifier"])
    assert {"id", "key", "secret", "expires"} <= set(access_token)

    # The access token works: a delegated token with member (and reader) only.
    plugin = oauth1_v3.OAuth1(auth_url=keystone.auth_url, consumer_key=consumer["id"],
                              consumer_secret=consumer["secret"],
                              access_key=access_token["key"],
                              access_secret=access_token["secret"])
    access = plugin.get_access(ks_session.Session(auth=plugin, timeout=clients.TIMEOUT))
    assert set(access.role_names) == {"member", "reader"}

    # Deleting the consumer ends it.
    admin = clients.admin_session(keystone.auth_url)
    resp = admin.delete(f"{keystone.auth_url}/OS-OAUTH1/consumers/{consumer['id']}",
                        raise_exc=False)
    assert resp.status_code == 204, resp.text
    resp = clients.validate_token(keystone.auth_url, admin.get_token(), access.auth_token)
    assert resp.status_code == 404, resp.text
