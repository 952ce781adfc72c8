"""Application credentials with the clients that use them: the `openstack` CLI manages
them, keystoneauth1's `v3.ApplicationCredential` plugin authenticates with one, and
keystonemiddleware's auth_token accepts the resulting token — for a credential with access
rules, only for the allowed service, method and path."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
import webtest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

import clients
import servers

OPENSTACK = str(Path(sys.executable).parent / "openstack")


@pytest.fixture
def openstack(os_env, tmp_path):
    """`openstack ARGS [-f json]`, failing with the CLI's stderr on a non-zero exit."""

    def run(*args: str, output_json: bool = True):
        cmd = [OPENSTACK, *args, *(["-f", "json"] if output_json else [])]
        result = subprocess.run(cmd, env=os_env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, (
            f"{' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
            f"stderr: {result.stderr}")
        return json.loads(result.stdout) if output_json else result.stdout

    return run


@pytest.fixture
def admin(keystone):
    """The admin's session and user id; credentials it creates are deleted afterwards."""
    session = clients.admin_session(keystone.auth_url)
    user_id = session.get_user_id()
    created: list[str] = []
    yield session, user_id, created
    for ac_id in created:
        session.delete(f"{keystone.auth_url}/users/{user_id}/application_credentials/{ac_id}",
                       raise_exc=False)


def create_credential(keystone, admin, **fields) -> dict:
    session, user_id, created = admin
    body = {"application_credential": {"name": f"interop-{uuid.uuid4().hex[:8]}", **fields}}
    resp = session.post(f"{keystone.auth_url}/users/{user_id}/application_credentials",
                        json=body, raise_exc=False)
    assert resp.status_code == 201, resp.text
    ac = resp.json()["application_credential"]
    created.append(ac["id"])
    return ac


def test_cli_create_list_show_delete(openstack, keystone, admin):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    made = openstack("application", "credential", "create", name, "--description", "from the CLI",
                     "--role", "member")
    admin[2].append(made["ID"])
    assert made["Name"] == name
    assert made["Description"] == "from the CLI"
    assert len(made["Secret"]) == 86
    assert {r["name"] for r in made["Roles"]} == {"member", "reader"}
    assert made["Unrestricted"] is False

    listed = openstack("application", "credential", "list")
    assert name in {row["Name"] for row in listed}

    shown = openstack("application", "credential", "show", name)
    assert shown["ID"] == made["ID"]
    assert not shown.get("Secret")
    assert {r["name"] for r in shown["Roles"]} == {"member", "reader"}

    openstack("application", "credential", "delete", name, output_json=False)
    listed = openstack("application", "credential", "list")
    assert name not in {row["Name"] for row in listed}


def test_keystoneauth_plugin_gets_a_token(keystone, admin):
    ac = create_credential(keystone, admin, roles=[{"name": "member"}])
    for auth in (
        v3.ApplicationCredential(auth_url=keystone.auth_url,
                                 application_credential_id=ac["id"],
                                 application_credential_secret=ac["secret"]),
        v3.ApplicationCredential(auth_url=keystone.auth_url,
                                 application_credential_name=ac["name"],
                                 application_credential_secret=ac["secret"],
                                 username=servers.ADMIN_USER,
                                 user_domain_id=servers.DOMAIN_ID),
    ):
        session = ks_session.Session(auth=auth, timeout=clients.TIMEOUT)
        token = session.get_token()
        assert token
        access = auth.get_access(session)
        assert access.project_id == ac["project_id"]
        assert set(access.role_names) == {"member", "reader"}
        # The catalog works through the plugin as for any token.
        assert session.get_endpoint(service_type="identity", interface="public")

    # A deleted credential no longer authenticates, and its tokens stop validating.
    session, user_id, _ = admin
    token = ks_session.Session(auth=v3.ApplicationCredential(
        auth_url=keystone.auth_url, application_credential_id=ac["id"],
        application_credential_secret=ac["secret"]), timeout=clients.TIMEOUT).get_token()
    session.delete(f"{keystone.auth_url}/users/{user_id}/application_credentials/{ac['id']}")
    resp = session.get(f"{keystone.auth_url}/auth/tokens",
                       headers={"X-Subject-Token": token}, raise_exc=False)
    assert resp.status_code == 404
    assert resp.json()["error"]["message"] == (
        f"Could not find Application Credential: {ac['id']}.")


def echo(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"user": environ.get("HTTP_X_USER_ID")}).encode()]


def protected(keystone, service_type: str | None) -> webtest.TestApp:
    options = {"service_type": service_type} if service_type else {}
    return clients.auth_token_app(keystone.auth_url, echo, **options)


def ac_token(auth_url: str, ac: dict) -> str:
    resp = requests.post(f"{auth_url}/auth/tokens", timeout=clients.TIMEOUT, json={
        "auth": {"identity": {"methods": ["application_credential"], "application_credential": {
            "id": ac["id"], "secret": ac["secret"]}}}})
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


def test_middleware_accepts_tokens_and_enforces_access_rules(keystone, admin):
    # Without access rules: accepted anywhere.
    plain = create_credential(keystone, admin)
    app = protected(keystone, "identity")
    seen = app.get("/anything", headers={"X-Auth-Token": ac_token(keystone.auth_url, plain)}).json
    assert seen["user"] == admin[1]

    # With rules: only the allowed method and path of this service type.
    ruled = create_credential(keystone, admin, access_rules=[
        {"service": "identity", "method": "GET", "path": "/allowed/{id}/**"},
        {"service": "compute", "method": "POST", "path": "/servers"},
    ])
    token = ac_token(keystone.auth_url, ruled)
    headers = {"X-Auth-Token": token}
    app.get("/allowed/x/y/z", headers=headers, status=200)
    app.get("/allowed/x/", headers=headers, status=200)
    app.get("/allowed/x", headers=headers, status=401)
    app.post("/allowed/x/y", headers=headers, status=401)
    app.get("/other", headers=headers, status=401)
    app.post("/servers", headers=headers, status=401)  # a rule for another service type
    # A service that does not know its own type refuses every token with rules; one whose
    # type is not in the token's catalog too.
    protected(keystone, None).get("/allowed/x/y", headers=headers, status=401)
    protected(keystone, "compute").post("/servers", headers=headers, status=401)

    # Keystone itself applies the rules as service type identity: this token reaches
    # nothing of Keystone's API but the validation of itself.
    resp = requests.get(f"{keystone.auth_url}/auth/projects", headers=headers,
                        timeout=clients.TIMEOUT)
    assert resp.status_code == 401
    resp = requests.get(f"{keystone.auth_url}/auth/tokens", timeout=clients.TIMEOUT,
                        headers={**headers, "X-Subject-Token": token,
                                 "OpenStack-Identity-Access-Rules": "1"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["token"]["application_credential"]["access_rules"][0]["path"] == (
        "/allowed/{id}/**")


def _normalised_token(body: dict) -> dict:
    token = body["token"]
    for service in token.get("catalog", []):
        service["endpoints"].sort(key=lambda e: e["id"])
    token.get("catalog", []).sort(key=lambda s: s["id"])
    token.get("roles", []).sort(key=lambda r: r["id"])
    return body


def _validate(base_url: str, auth_token: str, subject: str) -> dict:
    resp = requests.get(f"{base_url}/v3/auth/tokens", timeout=clients.TIMEOUT, headers={
        "X-Auth-Token": auth_token, "X-Subject-Token": subject,
        "OpenStack-Identity-Access-Rules": "1"})
    assert resp.status_code == 200, f"{base_url}: {resp.status_code} {resp.text}"
    return _normalised_token(resp.json())


@pytest.mark.mixed_fleet
@pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1", reason="INTEROP_SKIP_MIXED=1")
def test_mixed_fleet_credentials(tmp_path_factory):
    """Credentials made by Python Keystone (secrets hashed by it) work on keystone-rs after
    it adopts the database and keys, and the credential tokens of each validate on the
    other with the same body."""
    python = servers.PythonKeystone(servers.peer_venv(), tmp_path_factory.mktemp("py-ac"))
    python.prepare()
    rs = None
    try:
        python.start()
        py_url = python.base_url + "/v3"
        admin_token, issued = clients.issue_token(py_url)
        user_id = issued["token"]["user"]["id"]
        acs = {}
        for name, extra in (("plain", {}), ("ruled", {"access_rules": [
                {"service": "identity", "method": "GET", "path": "/v3/auth/projects"}]})):
            resp = requests.post(f"{py_url}/users/{user_id}/application_credentials",
                                 headers={"X-Auth-Token": admin_token}, timeout=clients.TIMEOUT,
                                 json={"application_credential": {
                                     "name": name, "roles": [{"name": "member"}], **extra}})
            assert resp.status_code == 201, resp.text
            acs[name] = resp.json()["application_credential"]

        adopted = tmp_path_factory.mktemp("rs-ac")
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

        for ac in acs.values():
            # The Python-hashed secret authenticates on keystone-rs, and back.
            py_token = ac_token(py_url, ac)
            rs_token = ac_token(rs.base_url + "/v3", ac)
            for token in (py_token, rs_token):
                on_py = _validate(python.base_url, admin_token, token)
                on_rs = _validate(rs.base_url, rs_admin, token)
                assert on_rs == on_py
                assert on_rs["token"]["application_credential"]["id"] == ac["id"]
            # The API shows the same credential.
            shown = [requests.get(
                f"{base}/v3/users/{user_id}/application_credentials/{ac['id']}",
                headers={"X-Auth-Token": tok}, timeout=clients.TIMEOUT).json()
                for base, tok in ((python.base_url, admin_token), (rs.base_url, rs_admin))]
            for body in shown:
                body["application_credential"]["roles"].sort(key=lambda r: r["id"])
                body["application_credential"]["links"]["self"] = None
            assert shown[0] == shown[1]
        # The access rules hold on both: only /v3/auth/projects is reachable.
        for base in (python.base_url, rs.base_url):
            token = ac_token(base + "/v3", acs["ruled"])
            ok = requests.get(f"{base}/v3/auth/projects", headers={"X-Auth-Token": token},
                              timeout=clients.TIMEOUT)
            refused = requests.get(f"{base}/v3/auth/domains", headers={"X-Auth-Token": token},
                                   timeout=clients.TIMEOUT)
            assert (ok.status_code, refused.status_code) == (200, 401), base
            assert refused.text == ('{"error": {"code": 401, "title": "Unauthorized", '
                                    '"message": "The request you have made requires '
                                    'authentication."}}')
            assert refused.headers["WWW-Authenticate"] == f'Keystone uri="{base}"'
    finally:
        python.stop()
        if rs:
            rs.stop()
