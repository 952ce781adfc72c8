"""OS-TRUST with the clients that use it: the `openstack` CLI manages trusts, keystoneauth1's
`v3.Password(trust_id=…)` gets a trust-scoped token that keystonemiddleware accepts (as the
trustor under impersonation), and in a mixed fleet a trust made on either implementation
is usable on the other, whose trust-scoped tokens each validates with the same body."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

import clients
import servers

OPENSTACK = str(Path(sys.executable).parent / "openstack")
PASSWORD = "trustee-pass-1"


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
        return json.loads(result.stdout) if output_json and result.stdout.strip() else (
            result.stdout)

    return run


def make_trustee(auth_url: str, token: str) -> str:
    """A new user in the default domain, with PASSWORD."""
    resp = requests.post(f"{auth_url}/users", headers={"X-Auth-Token": token},
                         timeout=clients.TIMEOUT, json={"user": {
                             "name": f"trustee-{uuid.uuid4().hex[:8]}", "domain_id": "default",
                             "password": PASSWORD}})
    assert resp.status_code == 201, resp.text
    return resp.json()["user"]["id"]


def create_trust(auth_url: str, token: str, trustor: str, trustee: str, project: str,
                 impersonation: bool, **extra) -> dict:
    resp = requests.post(f"{auth_url}/OS-TRUST/trusts", headers={"X-Auth-Token": token},
                         timeout=clients.TIMEOUT, json={"trust": {
                             "trustor_user_id": trustor, "trustee_user_id": trustee,
                             "project_id": project, "impersonation": impersonation,
                             "roles": [{"name": "member"}], **extra}})
    assert resp.status_code == 201, resp.text
    return resp.json()["trust"]


def trust_token(auth_url: str, trustee: str, trust_id: str) -> str:
    resp = requests.post(f"{auth_url}/auth/tokens", timeout=clients.TIMEOUT, json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "id": trustee, "password": PASSWORD}}},
        "scope": {"OS-TRUST:trust": {"id": trust_id}}}})
    assert resp.status_code == 201, f"{auth_url}: {resp.status_code} {resp.text}"
    return resp.headers["X-Subject-Token"]


def test_cli_create_list_show_delete(openstack, keystone):
    admin_token, issued = clients.issue_token(keystone.auth_url)
    admin_id = issued["token"]["user"]["id"]
    trustee = make_trustee(keystone.auth_url, admin_token)
    made = openstack("trust", "create", "--project", servers.ADMIN_PROJECT, "--role", "member",
                     "--impersonate", admin_id, trustee)
    assert made["trustor_user_id"] == admin_id, made
    assert made["trustee_user_id"] == trustee
    assert made["is_impersonation"] is True
    assert made["project_id"] == issued["token"]["project"]["id"]
    listed = openstack("trust", "list")
    assert made["id"] in {row["ID"] for row in listed}
    shown = openstack("trust", "show", made["id"])
    assert shown["id"] == made["id"]
    assert "member" in str(shown["roles"]), shown
    openstack("trust", "delete", made["id"], output_json=False)
    assert made["id"] not in {row["ID"] for row in openstack("trust", "list")}


def echo(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({k: environ.get(f"HTTP_X_{k.upper()}") for k in (
        "user_id", "project_id", "roles")}).encode()]


def test_keystoneauth_trust_token_through_middleware(keystone):
    admin_token, issued = clients.issue_token(keystone.auth_url)
    admin_id = issued["token"]["user"]["id"]
    project_id = issued["token"]["project"]["id"]
    trustee = make_trustee(keystone.auth_url, admin_token)
    app = clients.auth_token_app(keystone.auth_url, echo)
    for impersonation in (True, False):
        trust = create_trust(keystone.auth_url, admin_token, admin_id, trustee, project_id,
                             impersonation)
        auth = v3.Password(auth_url=keystone.auth_url, user_id=trustee, password=PASSWORD,
                           trust_id=trust["id"])
        session = ks_session.Session(auth=auth, timeout=clients.TIMEOUT)
        token = session.get_token()
        access = auth.get_access(session)
        assert access.trust_id == trust["id"]
        assert access.trust_scoped
        assert access.project_id == project_id
        assert access.user_id == (admin_id if impersonation else trustee)
        assert {"member", "reader"} <= set(access.role_names)
        seen = app.get("/anything", headers={"X-Auth-Token": token}).json
        assert seen["user_id"] == (admin_id if impersonation else trustee)
        assert seen["project_id"] == project_id
        assert access.trustor_user_id == admin_id
        assert access.trustee_user_id == trustee
        # Deleting the trust ends its tokens for the middleware too.
        resp = requests.delete(f"{keystone.auth_url}/OS-TRUST/trusts/{trust['id']}",
                               headers={"X-Auth-Token": admin_token}, timeout=clients.TIMEOUT)
        assert resp.status_code == 204
        app.get("/anything", headers={"X-Auth-Token": token}, status=401)


def _normalised(body: dict) -> dict:
    token = body["token"]
    for service in token.get("catalog", []):
        service["endpoints"].sort(key=lambda e: e["id"])
    token.get("catalog", []).sort(key=lambda s: s["id"])
    token.get("roles", []).sort(key=lambda r: r["id"])
    return body


def _validate(base_url: str, auth_token: str, subject: str) -> dict:
    resp = requests.get(f"{base_url}/v3/auth/tokens", timeout=clients.TIMEOUT, headers={
        "X-Auth-Token": auth_token, "X-Subject-Token": subject})
    assert resp.status_code == 200, f"{base_url}: {resp.status_code} {resp.text}"
    return _normalised(resp.json())


@pytest.mark.mixed_fleet
@pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1", reason="INTEROP_SKIP_MIXED=1")
def test_mixed_fleet_trusts(tmp_path_factory):
    """Python Keystone and keystone-rs serving one database and one key repository: a trust
    made on either is usable on the other, each validates the other's trust-scoped tokens
    with the same body, uses are counted in the shared row, and a delete on one ends the
    trust's tokens on both."""
    python = servers.PythonKeystone(servers.peer_venv(), tmp_path_factory.mktemp("py-trust"))
    python.prepare()
    rs = None
    try:
        python.start()
        rs = servers.KeystoneRs(servers.keystone_rs_binary(), tmp_path_factory.mktemp("rs-trust"),
                                connection=f"sqlite:///{python.db_path}",
                                key_repository=python.key_repository)
        rs.write_config()
        rs.manage("db_sync")
        rs.start()
        py_url, rs_url = python.base_url + "/v3", rs.base_url + "/v3"
        py_admin, issued = clients.issue_token(py_url)
        rs_admin, _ = clients.issue_token(rs_url)
        admin_id = issued["token"]["user"]["id"]
        project_id = issued["token"]["project"]["id"]
        trustee = make_trustee(py_url, py_admin)

        for maker, user in ((py_url, rs_url), (rs_url, py_url)):
            admin = py_admin if maker == py_url else rs_admin
            for impersonation in (True, False):
                trust = create_trust(maker, admin, admin_id, trustee, project_id, impersonation,
                                     remaining_uses=3)
                # Both show the same trust.
                shown = [requests.get(f"{base}/OS-TRUST/trusts/{trust['id']}",
                                      headers={"X-Auth-Token": tok},
                                      timeout=clients.TIMEOUT).json()
                         for base, tok in ((py_url, py_admin), (rs_url, rs_admin))]
                for body in shown:
                    for link in ("links", "roles_links"):
                        body["trust"][link]["self"] = None
                    for role in body["trust"]["roles"]:
                        role["links"]["self"] = None
                assert shown[0] == shown[1]
                # Tokens from the trust on either side validate on both, identically.
                tokens = [trust_token(user, trustee, trust["id"]),
                          trust_token(maker, trustee, trust["id"])]
                for token in tokens:
                    on_py = _validate(python.base_url, py_admin, token)
                    on_rs = _validate(rs.base_url, rs_admin, token)
                    assert on_rs == on_py
                    assert on_rs["token"]["OS-TRUST:trust"]["id"] == trust["id"]
                    expected_user = admin_id if impersonation else trustee
                    assert on_rs["token"]["user"]["id"] == expected_user
                # Three uses were given: one is left, on whichever node asks.
                trust_token(user, trustee, trust["id"])
                for base in (py_url, rs_url):
                    resp = requests.post(f"{base}/auth/tokens", timeout=clients.TIMEOUT, json={
                        "auth": {"identity": {"methods": ["password"], "password": {"user": {
                            "id": trustee, "password": PASSWORD}}},
                            "scope": {"OS-TRUST:trust": {"id": trust["id"]}}}})
                    assert resp.status_code == 401, f"{base}: {resp.text}"
                # A delete on one side ends the tokens on both.
                fresh = create_trust(user, py_admin if user == py_url else rs_admin, admin_id,
                                     trustee, project_id, impersonation,
                                     expires_at="2199-01-01T00:00:00Z")
                token = trust_token(maker, trustee, fresh["id"])
                resp = requests.delete(f"{user}/OS-TRUST/trusts/{fresh['id']}",
                                       headers={"X-Auth-Token": py_admin if user == py_url
                                                else rs_admin}, timeout=clients.TIMEOUT)
                assert resp.status_code == 204
                for base, tok in ((python.base_url, py_admin), (rs.base_url, rs_admin)):
                    resp = requests.get(f"{base}/v3/auth/tokens", timeout=clients.TIMEOUT,
                                        headers={"X-Auth-Token": tok, "X-Subject-Token": token})
                    assert resp.status_code == 404, f"{base}: {resp.text}"
    finally:
        python.stop()
        if rs:
            rs.stop()
