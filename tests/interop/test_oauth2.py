"""OS-OAUTH2 with the real clients: keystoneauth1's OAuth2 client-credential plugin and
keystonemiddleware's `oauth2_token` filter (Keystone's own flow), and keystonemiddleware's
`external_oauth2_token` filter with keystone-rs as the external authorization server
(RFC 7662 introspection), for each client-authentication method."""

from __future__ import annotations

import base64
import datetime
import json
import os
import sqlite3
import time
import uuid

import jwt
import pytest
import requests
import webtest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity.v3 import oauth2_client_credential
from keystonemiddleware import external_oauth2_token, oauth2_token

import clients
import servers

KEYS = servers.REPO / "tests" / "vectors" / "oauth2"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def echo_identity(environ, start_response):
    keys = ("HTTP_X_IDENTITY_STATUS", "HTTP_X_USER_ID", "HTTP_X_USER_NAME",
            "HTTP_X_USER_DOMAIN_ID", "HTTP_X_USER_DOMAIN_NAME", "HTTP_X_PROJECT_ID",
            "HTTP_X_PROJECT_NAME", "HTTP_X_PROJECT_DOMAIN_ID", "HTTP_X_PROJECT_DOMAIN_NAME",
            "HTTP_X_ROLES", "HTTP_OPENSTACK_SYSTEM_SCOPE")
    body = json.dumps({k: environ.get(k) for k in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


class Client:
    """An application credential of the bootstrap admin, as an OAuth2 client."""

    def __init__(self, keystone, admin: ks_session.Session, user_id: str, name: str,
                 expires_at: str | None = None):
        self.keystone = keystone
        body = {"name": f"{name}-{uuid.uuid4().hex[:8]}"}
        if expires_at:
            body["expires_at"] = expires_at
        resp = admin.post(f"{keystone.auth_url}/users/{user_id}/application_credentials",
                          json={"application_credential": body})
        ac = resp.json()["application_credential"]
        self.admin, self.user_id = admin, user_id
        self.id, self.secret = ac["id"], ac["secret"]
        self.token_endpoint = f"{keystone.auth_url}/OS-OAUTH2/token"

    def register(self, **client) -> None:
        resp = self.admin.put(
            f"{self.keystone.auth_url}/users/{self.user_id}/application_credentials/"
            f"{self.id}/OS-OAUTH2/client", json={"client": client})
        assert resp.status_code == 200, resp.text

    def assertion(self, method: str, audience: str) -> str:
        now = int(time.time())
        claims = {"jti": str(uuid.uuid4()), "iat": now, "exp": now + 300,
                  "iss": self.id, "sub": self.id, "aud": audience}
        if method == "client_secret_jwt":
            return jwt.encode(claims, self.secret, algorithm="HS256")
        return jwt.encode(claims, (KEYS / "oauth2_rsa.pem").read_text(), algorithm="RS256")

    def token(self, method: str) -> str:
        """An access token from the token endpoint, authenticating with `method`."""
        data = {"grant_type": "client_credentials"}
        auth = None
        if method == "client_secret_basic":
            auth = requests.auth.HTTPBasicAuth(self.id, self.secret)
        elif method == "client_secret_post":
            data.update(client_id=self.id, client_secret=self.secret)
        else:
            data.update(client_assertion_type=JWT_BEARER,
                        client_assertion=self.assertion(method, self.token_endpoint))
        resp = requests.post(self.token_endpoint, data=data, auth=auth, timeout=30)
        assert resp.status_code == 200, resp.text
        assert resp.headers.get("Cache-Control") == "no-store"
        return resp.json()["access_token"]


@pytest.fixture(scope="module")
def admin(keystone):
    return clients.admin_session(keystone.auth_url)


@pytest.fixture(scope="module")
def admin_ids(keystone, admin):
    token = admin.get_token()
    body = clients.validate_token(keystone.auth_url, token, token).json()["token"]
    return body["user"]["id"], body["project"]["id"]


@pytest.fixture(scope="module")
def serves_introspection(keystone):
    resp = requests.get(f"{keystone.base_url}/.well-known/oauth-authorization-server",
                        timeout=30)
    if resp.status_code != 200:
        pytest.skip("not keystone-rs: no RFC 8414 metadata / RFC 7662 introspection")
    return resp.json()


def test_keystoneauth_plugin_and_oauth2_token_filter(keystone, admin, admin_ids):
    user_id, project_id = admin_ids
    client = Client(keystone, admin, user_id, "ksa")
    plugin = oauth2_client_credential.OAuth2ClientCredential(
        auth_url=keystone.auth_url, oauth2_endpoint=client.token_endpoint,
        oauth2_client_id=client.id, oauth2_client_secret=client.secret)
    sess = ks_session.Session(auth=plugin, timeout=30)
    headers = sess.get_auth_headers()
    assert headers["Authorization"].startswith("Bearer ")
    bearer = headers["Authorization"][len("Bearer "):]

    conf = {
        "www_authenticate_uri": keystone.auth_url,
        "auth_url": keystone.auth_url,
        "auth_type": "password",
        "username": servers.ADMIN_USER,
        "password": servers.ADMIN_PASSWORD,
        "project_name": servers.ADMIN_PROJECT,
        "user_domain_id": servers.DOMAIN_ID,
        "project_domain_id": servers.DOMAIN_ID,
        "delay_auth_decision": "false",
        "token_cache_time": "-1",
        "http_request_max_retries": "0",
    }
    app = webtest.TestApp(oauth2_token.OAuth2Protocol(echo_identity, conf))
    seen = app.get("/", headers={"Authorization": f"Bearer {bearer}"}, status=200).json
    # (this filter sets the user and project headers, not X-Identity-Status)
    assert seen["HTTP_X_USER_ID"] == user_id
    assert seen["HTTP_X_PROJECT_ID"] == project_id
    assert {"admin", "member", "reader"} <= set(seen["HTTP_X_ROLES"].split(","))
    # X-Auth-Token is not what this filter reads.
    app.get("/", headers={"X-Auth-Token": bearer}, status=401)
    resp = admin.delete(f"{keystone.auth_url}/auth/tokens",
                        headers={"X-Subject-Token": bearer}, raise_exc=False)
    assert resp.status_code == 204
    app.get("/", headers={"Authorization": f"Bearer {bearer}"}, status=401)


METHODS = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"]


def external_filter(keystone, service: Client, method: str) -> webtest.TestApp:
    """As the Tacker guide configures it, with keystone-rs as the external server."""
    conf = {
        "introspect_endpoint": f"{keystone.auth_url}/OS-OAUTH2/introspect",
        "audience": keystone.base_url,
        "auth_method": method,
        "client_id": service.id,
        "client_secret": service.secret,
        "mapping_project_id": "project.id",
        "mapping_project_name": "project.name",
        "mapping_project_domain_id": "project.domain.id",
        "mapping_project_domain_name": "project.domain.name",
        "mapping_user_id": "sub",
        "mapping_user_name": "username",
        "mapping_user_domain_id": "user_domain.id",
        "mapping_user_domain_name": "user_domain.name",
        "mapping_roles": "roles",
        "mapping_system_scope": "system.all",
        "mapping_expires_at": "exp",
        # a revoked token must be seen at once
        "token_cache_time": "-1",
    }
    if method == "client_secret_jwt":
        conf["jwt_algorithm"] = "HS512"
    elif method == "private_key_jwt":
        conf["jwt_algorithm"] = "RS256"
        conf["jwt_key_file"] = str(KEYS / "oauth2_rsa.pem")
    return webtest.TestApp(external_oauth2_token.ExternalAuth2Protocol(echo_identity, conf))


@pytest.mark.parametrize("method", METHODS)
def test_external_oauth2_token_filter(keystone, admin, admin_ids, serves_introspection, method):
    assert method in serves_introspection["introspection_endpoint_auth_methods_supported"]
    user_id, project_id = admin_ids
    service = Client(keystone, admin, user_id, "svc")
    client = Client(keystone, admin, user_id, "app")
    for c in (service, client):
        c.register(secret=c.secret, public_key=(KEYS / "oauth2_rsa.pub.pem").read_text())
    app = external_filter(keystone, service, method)

    token = client.token(method)
    seen = app.get("/", headers={"Authorization": f"Bearer {token}"}, status=200).json
    assert seen["HTTP_X_IDENTITY_STATUS"] == "Confirmed"
    assert seen["HTTP_X_USER_ID"] == user_id
    assert seen["HTTP_X_USER_NAME"] == servers.ADMIN_USER
    assert seen["HTTP_X_USER_DOMAIN_ID"] == servers.DOMAIN_ID
    assert seen["HTTP_X_USER_DOMAIN_NAME"] == "Default"
    assert seen["HTTP_X_PROJECT_ID"] == project_id
    assert seen["HTTP_X_PROJECT_NAME"] == servers.ADMIN_PROJECT
    assert seen["HTTP_X_PROJECT_DOMAIN_ID"] == servers.DOMAIN_ID
    assert {"admin", "member", "reader"} <= set(seen["HTTP_X_ROLES"].split(","))
    assert seen["HTTP_OPENSTACK_SYSTEM_SCOPE"] is None
    # Each introspection call is a fresh assertion: the jti check does not get in the way.
    app.get("/", headers={"Authorization": f"Bearer {token}"}, status=200)

    # Revoked.
    resp = admin.delete(f"{keystone.auth_url}/auth/tokens",
                        headers={"X-Subject-Token": token}, raise_exc=False)
    assert resp.status_code == 204
    rejected = app.get("/", headers={"Authorization": f"Bearer {token}"}, status=401)
    assert rejected.headers["WWW-Authenticate"] == \
        f'Authorization OAuth 2.0 uri="{keystone.base_url}"'
    # Garbage and missing.
    app.get("/", headers={"Authorization": "Bearer gAAAAABnot-a-token"}, status=401)
    app.get("/", status=401)


def test_external_filter_rejects_expired_tokens(keystone, admin, admin_ids,
                                                 serves_introspection):
    user_id, _ = admin_ids
    service = Client(keystone, admin, user_id, "svc")
    # The credential (so its token) expires in whole seconds; 10 s leave room for a loaded
    # machine between creating it and the first, still valid, request.
    expiry = (datetime.datetime.now(datetime.timezone.utc)
              + datetime.timedelta(seconds=10)).replace(microsecond=0)
    client = Client(keystone, admin, user_id, "short",
                    expires_at=expiry.strftime("%Y-%m-%dT%H:%M:%S"))
    app = external_filter(keystone, service, "client_secret_basic")
    token = client.token("client_secret_post")
    app.get("/", headers={"Authorization": f"Bearer {token}"}, status=200)
    left = (expiry - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    time.sleep(max(left, 0) + 1.5)
    app.get("/", headers={"Authorization": f"Bearer {token}"}, status=401)


def test_basic_header_as_keystoneauth_sends_it(keystone, admin, admin_ids):
    """python-requests does not form-encode Basic credentials; Keystone does not decode."""
    user_id, _ = admin_ids
    client = Client(keystone, admin, user_id, "basic")
    raw = base64.b64encode(f"{client.id}:{client.secret}".encode()).decode()
    resp = requests.post(client.token_endpoint, data={"grant_type": "client_credentials"},
                         headers={"Authorization": f"Basic {raw}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer"


@pytest.mark.mixed_fleet
@pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1", reason="INTEROP_SKIP_MIXED=1")
def test_mixed_fleet_oauth2(tmp_path_factory):
    """Python Keystone 30 and keystone-rs sharing data and keys: the OAuth2 access tokens of
    each validate on the other with the same body, and the error table answers the same
    bytes (except where DEVIATIONS.md says keystone-rs follows RFC 6749)."""
    python = servers.PythonKeystone(servers.peer_venv(), tmp_path_factory.mktemp("py-oauth2"))
    python.prepare()
    rs = None
    try:
        python.start()
        py_url = python.base_url + "/v3"
        admin_token, issued = clients.issue_token(py_url)
        user_id = issued["token"]["user"]["id"]
        resp = requests.post(f"{py_url}/users/{user_id}/application_credentials",
                             headers={"X-Auth-Token": admin_token}, timeout=clients.TIMEOUT,
                             json={"application_credential": {"name": "oauth2"}})
        assert resp.status_code == 201, resp.text
        ac = resp.json()["application_credential"]

        adopted = tmp_path_factory.mktemp("rs-oauth2")
        with sqlite3.connect(python.db_path) as src, \
                sqlite3.connect(adopted / "keystone.db") as dst:
            src.backup(dst)
        rs = servers.KeystoneRs(servers.keystone_rs_binary(), adopted,
                                connection=f"sqlite:///{adopted / 'keystone.db'}",
                                key_repository=python.key_repository)
        rs.write_config()
        rs.manage("db_sync")
        rs.start()
        rs_admin, _ = clients.issue_token(rs.base_url + "/v3")

        def post(base, **kwargs):
            return requests.post(f"{base}/v3/OS-OAUTH2/token", timeout=clients.TIMEOUT,
                                 **kwargs)

        basic = requests.auth.HTTPBasicAuth(ac["id"], ac["secret"])
        grant = {"grant_type": "client_credentials"}
        tokens = []
        for base in (python.base_url, rs.base_url):
            resp = post(base, data=grant, auth=basic)
            assert resp.status_code == 200, f"{base}: {resp.text}"
            assert resp.json()["expires_in"] == 3600
            tokens.append(resp.json()["access_token"])
        for token in tokens:
            bodies = []
            for base, caller in ((python.base_url, admin_token), (rs.base_url, rs_admin)):
                resp = requests.get(f"{base}/v3/auth/tokens", timeout=clients.TIMEOUT,
                                    headers={"X-Auth-Token": caller, "X-Subject-Token": token})
                assert resp.status_code == 200, f"{base}: {resp.text}"
                body = resp.json()
                for service in body["token"].get("catalog", []):
                    service["endpoints"].sort(key=lambda e: e["id"])
                body["token"].get("catalog", []).sort(key=lambda s: s["id"])
                body["token"]["roles"].sort(key=lambda r: r["id"])
                bodies.append(body)
            assert bodies[0] == bodies[1]
            assert bodies[0]["token"]["methods"] == ["application_credential"]

        wrong = requests.auth.HTTPBasicAuth(ac["id"], "nope")
        cases = [dict(data={}, auth=basic), dict(data={"grant_type": "password"}, auth=basic),
                 dict(data=grant), dict(data=grant, auth=wrong)]
        for case in cases:
            answers = [post(base, **case) for base in (python.base_url, rs.base_url)]
            assert answers[0].status_code == answers[1].status_code, case
            assert answers[0].content == answers[1].content, case
        answers = [requests.get(f"{base}/v3/OS-OAUTH2/token", timeout=clients.TIMEOUT)
                   for base in (python.base_url, rs.base_url)]
        assert [a.status_code for a in answers] == [405, 405]
        assert answers[0].content == answers[1].content
        # RFC 6749 where Keystone is not: an unknown client is 401 invalid_client, not 404.
        unknown = requests.auth.HTTPBasicAuth("0" * 32, "x")
        answers = [post(base, data=grant, auth=unknown) for base in (python.base_url, rs.base_url)]
        assert [a.status_code for a in answers] == [404, 401]
        assert answers[1].json()["error"] == "invalid_client"
    finally:
        python.stop()
        if rs:
            rs.stop()
