"""JWS tokens (`[token] provider = jws`) in a mixed fleet: Python Keystone 30.0.0 and
keystone-rs on one database, each signing with its own key pair (`keystone-manage
create_jws_keypair` for Python, `keystone-rs manage create_jws_keypair` for keystone-rs)
and sharing one public key repository holding both public keys — the key roll-over set-up,
so each node validates the other's tokens only by trying every public key. Each validates
the other's project, domain, system, unscoped, application-credential and trust-scoped
tokens with the same body, and keystonemiddleware accepts keystone-rs's JWS tokens.

Needs the peer venv and the keystone-rs binary; skip it only with INTEROP_SKIP_MIXED=1.
"""

from __future__ import annotations

import copy
import getpass
import grp
import json
import os
import stat
import subprocess
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

import clients
import servers

pytestmark = [
    pytest.mark.mixed_fleet,
    pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1",
                       reason="INTEROP_SKIP_MIXED=1"),
]

PASSWORD = "jws-user-pass-1"
KINDS = ["project", "domain", "system", "unscoped", "application_credential", "trust"]


def py_keypair(workdir: Path) -> subprocess.CompletedProcess:
    owner = ["--keystone-user", getpass.getuser(),
             "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
    return subprocess.run([str(servers.peer_venv() / "bin" / "keystone-manage"),
                           "create_jws_keypair", *owner], cwd=workdir, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    keys = tmp_path_factory.mktemp("jws-keys")
    py_private, rs_private, public = keys / "py-private", keys / "rs-private", keys / "public"
    for d in (py_private, rs_private, public):
        d.mkdir()
    assert py_keypair(py_private).returncode == 0
    assert servers.rs_create_jws_keypair(rs_private).returncode == 0
    (py_private / "public.pem").rename(public / "python.pem")
    (rs_private / "public.pem").rename(public / "keystone-rs.pem")

    with servers.mixed_fleet(tmp_path_factory.mktemp("py-jws"),
                             tmp_path_factory.mktemp("rs-jws"),
                             python_conf=servers.jws_conf(py_private, public),
                             rs_conf=servers.jws_conf(rs_private, public)) as both:
        yield both


def normalised(body: dict) -> dict:
    body = copy.deepcopy(body)
    token = body["token"]
    for service in token.get("catalog", []):
        service["endpoints"].sort(key=lambda e: e["id"])
    token.get("catalog", []).sort(key=lambda s: s["id"])
    token.get("roles", []).sort(key=lambda r: r["id"])
    return body


def validated(base: str, token: str, caller: str | None = None) -> dict:
    """GET /v3/auth/tokens of `token`, by `caller` (default: the token itself; a
    trust-scoped token may not validate itself under the default policy)."""
    resp = clients.validate_token(base + "/v3", caller or token, token)
    assert resp.status_code == 200, f"{base}: {resp.status_code} {resp.text}"
    assert resp.headers["X-Subject-Token"] == token
    return normalised(resp.json())


def auth(base: str, identity: dict, scope: dict | None = None) -> str:
    body = {"auth": {"identity": identity}}
    if scope is not None:
        body["auth"]["scope"] = scope
    resp = requests.post(f"{base}/v3/auth/tokens", json=body, timeout=clients.TIMEOUT)
    assert resp.status_code == 201, f"{base}: {resp.status_code} {resp.text}"
    return resp.headers["X-Subject-Token"]


@pytest.fixture(scope="module")
def setup(fleet):
    """A user with `member` on the admin project and `admin` on the default domain, a
    trust from the admin to it, and an application credential of it — made once, on
    Python Keystone, in the shared database."""
    python, _ = fleet
    py = python.base_url + "/v3"
    admin, issued = clients.issue_token(py)
    admin_id = issued["token"]["user"]["id"]
    project_id = issued["token"]["project"]["id"]
    h = {"X-Auth-Token": admin}

    def call(method: str, path: str, **kw):
        resp = requests.request(method, f"{py}{path}", headers=h, timeout=clients.TIMEOUT, **kw)
        assert resp.status_code in (200, 201, 204), f"{path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    user = call("POST", "/users", json={"user": {
        "name": f"jws-{uuid.uuid4().hex[:8]}", "domain_id": "default", "password": PASSWORD}})
    user_id = user["user"]["id"]
    roles = {r["name"]: r["id"] for r in call("GET", "/roles")["roles"]}
    call("PUT", f"/projects/{project_id}/users/{user_id}/roles/{roles['member']}")
    call("PUT", f"/domains/default/users/{user_id}/roles/{roles['admin']}")
    call("PUT", f"/system/users/{user_id}/roles/{roles['reader']}")
    trust = call("POST", "/OS-TRUST/trusts", json={"trust": {
        "trustor_user_id": admin_id, "trustee_user_id": user_id, "project_id": project_id,
        "impersonation": True, "roles": [{"name": "member"}]}})["trust"]
    user_token = auth(python.base_url, password(user_id),
                      {"project": {"id": project_id}})
    app_cred = requests.post(f"{py}/users/{user_id}/application_credentials",
                             headers={"X-Auth-Token": user_token}, timeout=clients.TIMEOUT,
                             json={"application_credential": {
                                 "name": f"jws-{uuid.uuid4().hex[:8]}"}})
    assert app_cred.status_code == 201, app_cred.text
    admins = {server.base_url: clients.issue_token(server.base_url + "/v3")[0]
              for server in fleet}
    return {"user_id": user_id, "project_id": project_id, "trust_id": trust["id"],
            "app_cred": app_cred.json()["application_credential"], "admin": admins}


def password(user_id: str) -> dict:
    return {"methods": ["password"], "password": {"user": {"id": user_id,
                                                           "password": PASSWORD}}}


def issue(base: str, kind: str, s: dict) -> str:
    if kind == "application_credential":
        ac = s["app_cred"]
        return auth(base, {"methods": ["application_credential"], "application_credential": {
            "id": ac["id"], "secret": ac["secret"]}})
    scope = {
        "project": {"project": {"id": s["project_id"]}},
        "domain": {"domain": {"id": "default"}},
        "system": {"system": {"all": True}},
        "unscoped": None,
        "trust": {"OS-TRUST:trust": {"id": s["trust_id"]}},
    }[kind]
    return auth(base, password(s["user_id"]), scope)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize("kind", KINDS)
def test_each_validates_the_others_tokens_identically(fleet, setup, kind):
    python, rs = fleet
    for maker in (python, rs):
        token = issue(maker.base_url, kind, setup)
        assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT"}
        on_py = validated(python.base_url, token, setup["admin"][python.base_url])
        on_rs = validated(rs.base_url, token, setup["admin"][rs.base_url])
        assert on_rs == on_py, f"{kind} token of {type(maker).__name__}"
        c = claims(token)
        assert c["sub"] == setup["user_id"]
        if kind == "trust":
            assert c["openstack_trust_id"] == setup["trust_id"]
        if kind == "application_credential":
            assert c["openstack_app_cred_id"] == setup["app_cred"]["id"]


def test_claims_are_the_same_set_on_both(fleet, setup):
    """Same claim names in the same order for the same kind of token from either node."""
    python, rs = fleet
    for kind in KINDS:
        names = [list(claims(issue(m.base_url, kind, setup))) for m in (python, rs)]
        assert names[0] == names[1], kind


def test_a_token_no_shared_public_key_verifies_is_refused_by_both(fleet, setup, tmp_path):
    python, rs = fleet
    assert servers.rs_create_jws_keypair(tmp_path).returncode == 0
    key = (tmp_path / "private.pem").read_text()
    forged = jwt.encode(claims(issue(rs.base_url, "project", setup)), key, algorithm="ES256")
    for server in (python, rs):
        admin, _ = clients.issue_token(server.base_url + "/v3")
        resp = clients.validate_token(server.base_url + "/v3", admin, forged)
        assert resp.status_code == 404, f"{server.base_url}: {resp.text}"


def echo(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({k: environ.get(f"HTTP_X_{k.upper()}") for k in (
        "user_id", "project_id", "roles", "domain_id")}).encode()]


def test_keystonemiddleware_accepts_keystone_rs_jws_tokens(fleet, setup):
    python, rs = fleet
    for validator in (rs, python):
        app = clients.auth_token_app(validator.base_url + "/v3", echo)
        token = issue(rs.base_url, "project", setup)
        seen = app.get("/anything", headers={"X-Auth-Token": token}).json
        assert seen["user_id"] == setup["user_id"]
        assert seen["project_id"] == setup["project_id"]
        assert "member" in seen["roles"].split(",")
        app.get("/anything", headers={"X-Auth-Token": token[:-4] + "AAAA"}, status=401)


def test_create_jws_keypair_matches_keystone_manage(tmp_path):
    """Same files, readable by the other implementation; refused without --force."""
    ours, theirs = tmp_path / "rs", tmp_path / "py"
    ours.mkdir()
    theirs.mkdir()
    assert servers.rs_create_jws_keypair(ours).returncode == 0
    assert py_keypair(theirs).returncode == 0
    assert sorted(p.name for p in ours.iterdir() if p.suffix == ".pem") == \
        sorted(p.name for p in theirs.iterdir()) == ["private.pem", "public.pem"]
    # Keystone leaves the private key to the umask; ours is the owner's only.
    assert stat.S_IMODE((ours / "private.pem").stat().st_mode) == 0o600
    refused = servers.rs_create_jws_keypair(ours)
    assert refused.returncode == 1
    assert f"Private key {ours / 'private.pem'} already exists" in refused.stderr
    assert py_keypair(theirs).returncode == 1
    before = (ours / "public.pem").read_text()
    assert servers.rs_create_jws_keypair(ours, "ES256", "--force").returncode == 0
    assert (ours / "public.pem").read_text() != before


@pytest.mark.parametrize("algorithm", ["ES256", "ES384", "ES512", "EdDSA"])
def test_every_algorithm_interoperates_with_pyjwt(tmp_path, algorithm):
    """For each `jws_algorithm`: keys from `keystone-rs manage create_jws_keypair` load in
    cryptography; a keystone-rs token verifies with PyJWT as Keystone decodes it; a token
    PyJWT signs (as Keystone's JWSFormatter does) validates on keystone-rs."""
    keys = tmp_path / "keys"
    keys.mkdir()
    assert servers.rs_create_jws_keypair(keys, algorithm).returncode == 0
    private_pem = (keys / "private.pem").read_bytes()
    serialization.load_pem_private_key(private_pem, None)
    public_pem = (keys / "public.pem").read_text()
    rs = servers.KeystoneRs(servers.keystone_rs_binary(), tmp_path / "rs",
                            extra_conf=servers.jws_conf(keys, keys, algorithm))
    rs.prepare()
    try:
        rs.start()
        token, issued = clients.issue_token(rs.base_url + "/v3", "project")
        assert jwt.get_unverified_header(token) == {"alg": algorithm, "typ": "JWT"}
        c = jwt.decode(token, public_pem, algorithms=[algorithm], options={"verify_exp": False})
        assert c["openstack_project_id"] == issued["token"]["project"]["id"]
        c["openstack_audit_ids"] = [c["openstack_audit_ids"][0][:-2] + "AA"]
        theirs = jwt.encode(c, private_pem, algorithm=algorithm)
        body = validated(rs.base_url, theirs)
        assert body["token"]["audit_ids"] == c["openstack_audit_ids"]
    finally:
        rs.stop()
