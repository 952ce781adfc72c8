"""Multi-factor authentication with the clients that speak it: keystoneauth1's
`v3.MultiFactor` (password + totp), the `openstack` CLI's `v3multifactor` auth type, a
keystoneauth1 session that gets the 401 receipt (`MissingAuthMethods`) and finishes with the
second factor and `v3.ReceiptMethod`; and a mixed fleet — Python Keystone and keystone-rs on
one database with shared token/receipt and credential keys — where a receipt issued by
either is completed on the other. TOTP codes are computed here with the standard library."""

from __future__ import annotations

import base64
import getpass
import grp
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

import clients
import servers

OPENSTACK = str(Path(sys.executable).parent / "openstack")
MFA_METHODS = servers.DEFAULT_AUTH_METHODS + ",totp"
PASSWORD = "mfa-interop-pw"


def passcode(secret_b32: str, at: float | None = None) -> str:
    """RFC 6238 as Keystone computes it: HMAC-SHA1, 30 s steps, six digits."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def fresh_step() -> float:
    """Now, after waiting out the end of a 30 s step so that a code stays valid (and its
    step unused by an earlier request of this test) for what follows."""
    if time.time() % 30 > 25:
        time.sleep(31 - time.time() % 30)
    return time.time()


def new_secret() -> str:
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def make_mfa_user(admin: ks_session.Session, base: str, rules=(("password", "totp"),)):
    """A user with a password, a TOTP credential and MFA rules; returns (id, secret)."""
    name = f"mfa-{uuid.uuid4().hex[:8]}"
    resp = admin.post(f"{base}/v3/users", json={"user": {
        "name": name, "password": PASSWORD, "domain_id": servers.DOMAIN_ID,
        "options": {"multi_factor_auth_rules": [list(r) for r in rules]}}}, raise_exc=False)
    assert resp.status_code == 201, resp.text
    user_id = resp.json()["user"]["id"]
    secret = new_secret()
    resp = admin.post(f"{base}/v3/credentials", json={"credential": {
        "type": "totp", "user_id": user_id, "blob": secret}}, raise_exc=False)
    assert resp.status_code == 201, resp.text
    return user_id, name, secret


@pytest.fixture(scope="module")
def mfa_keystone(tmp_path_factory):
    """keystone-rs with totp in `[auth] methods` (the session's server has the default)."""
    db = servers.ScratchDatabase.from_env()
    if db:
        db.create()
    server = servers.KeystoneRs(servers.keystone_rs_binary(), tmp_path_factory.mktemp("rs-mfa"),
                                connection=db.url if db else None, auth_methods=MFA_METHODS)
    try:
        server.prepare()
        server.start()
        yield server
    finally:
        server.stop()
        if db:
            db.drop()


@pytest.fixture
def admin(mfa_keystone):
    return clients.admin_session(mfa_keystone.base_url + "/v3")


def test_multifactor_plugin_gets_a_token(mfa_keystone, admin):
    base = mfa_keystone.base_url
    user_id, _, secret = make_mfa_user(admin, base)
    # Password alone is not enough: keystoneauth1 reports the missing methods.
    with pytest.raises(ks_exceptions.MissingAuthMethods) as missing:
        ks_session.Session(auth=v3.Password(auth_url=base + "/v3", user_id=user_id,
                                            password=PASSWORD)).get_token()
    assert missing.value.methods == ["password"]
    assert [sorted(r) for r in missing.value.required_auth_methods] == [["password", "totp"]]
    fresh_step()
    auth = v3.MultiFactor(auth_url=base + "/v3", auth_methods=["v3password", "v3totp"],
                          user_id=user_id, password=PASSWORD, passcode=passcode(secret))
    sess = ks_session.Session(auth=auth)
    token = sess.get_token()
    data = clients.validate_token(base + "/v3", clients.admin_session(base + "/v3").get_token(),
                                  token).json()
    assert sorted(data["token"]["methods"]) == ["password", "totp"]
    assert data["token"]["user"]["id"] == user_id


def test_session_retries_with_the_receipt(mfa_keystone, admin):
    base = mfa_keystone.base_url
    user_id, _, secret = make_mfa_user(admin, base)
    with pytest.raises(ks_exceptions.MissingAuthMethods) as missing:
        ks_session.Session(auth=v3.Password(auth_url=base + "/v3", user_id=user_id,
                                            password=PASSWORD)).get_token()
    receipt = missing.value.receipt
    assert receipt and missing.value.expires_at is not None
    fresh_step()
    second = v3.Auth(auth_url=base + "/v3", auth_methods=[
        v3.TOTPMethod(user_id=user_id, passcode=passcode(secret)),
        v3.ReceiptMethod(receipt=receipt),
    ])
    sess = ks_session.Session(auth=second)
    assert sess.get_token()
    assert sess.get_user_id() == user_id
    assert sorted(second.auth_ref._data["token"]["methods"]) == ["password", "totp"]
    # The same passcode cannot be used again, even with the receipt (keystone-rs).
    again = v3.Auth(auth_url=base + "/v3", auth_methods=[
        v3.TOTPMethod(user_id=user_id, passcode=passcode(secret)),
        v3.ReceiptMethod(receipt=receipt),
    ])
    with pytest.raises(ks_exceptions.Unauthorized):
        ks_session.Session(auth=again).get_token()


def test_openstack_cli_v3multifactor(mfa_keystone, admin, tmp_path):
    base = mfa_keystone.base_url
    _, name, secret = make_mfa_user(admin, base)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    fresh_step()
    env.update({
        "OS_AUTH_URL": base + "/v3", "OS_IDENTITY_API_VERSION": "3",
        "OS_AUTH_TYPE": "v3multifactor", "OS_AUTH_METHODS": "v3password,v3totp",
        "OS_USERNAME": name, "OS_USER_DOMAIN_ID": servers.DOMAIN_ID,
        "OS_PASSWORD": PASSWORD, "OS_PASSCODE": passcode(secret),
    })
    result = subprocess.run([OPENSTACK, "token", "issue", "-f", "json"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    assert json.loads(result.stdout)["id"].startswith("gAAAAA")
    # A wrong passcode is refused.
    env["OS_PASSCODE"] = "000000" if passcode(secret) != "000000" else "111111"
    result = subprocess.run([OPENSTACK, "token", "issue", "-f", "json"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0


def receipt_from(base: str, user_id: str) -> str:
    resp = requests.post(f"{base}/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": user_id, "password": PASSWORD}}}}},
        timeout=clients.TIMEOUT)
    assert resp.status_code == 401, resp.text
    assert resp.json()["receipt"]["methods"] == ["password"], resp.text
    return resp.headers["Openstack-Auth-Receipt"]


def finish_with_totp(base: str, user_id: str, code: str, receipt: str) -> requests.Response:
    return requests.post(f"{base}/v3/auth/tokens", headers={"Openstack-Auth-Receipt": receipt},
                         json={"auth": {"identity": {"methods": ["totp"], "totp": {"user": {
                             "id": user_id, "passcode": code}}}}}, timeout=clients.TIMEOUT)


@pytest.mark.mixed_fleet
def test_mixed_fleet_receipts_complete_on_the_other(tmp_path_factory):
    """Python Keystone and keystone-rs on one database with the same token/receipt keys
    and credential keys: a receipt from either completes on the other with a TOTP code
    checked against a credential the other encrypted."""
    python = servers.PythonKeystone(servers.peer_venv(), tmp_path_factory.mktemp("py-mfa"),
                                    auth_methods=MFA_METHODS)
    python.prepare()
    rs_dir = tmp_path_factory.mktemp("rs-mfa-fleet")
    os.symlink(python.workdir / "credential-keys", rs_dir / "credential-keys")
    rs = servers.KeystoneRs(servers.keystone_rs_binary(), rs_dir,
                            connection=f"sqlite:///{python.db_path}",
                            key_repository=python.key_repository, auth_methods=MFA_METHODS)
    try:
        python.start()
        rs.write_config()
        rs.manage("db_sync")
        rs.start()
        py_admin = clients.admin_session(python.base_url + "/v3")
        rs_admin = clients.admin_session(rs.base_url + "/v3")
        # One user made on each side (each encrypts its own TOTP credential).
        py_user, _, py_secret = make_mfa_user(py_admin, python.base_url)
        rs_user, _, rs_secret = make_mfa_user(rs_admin, rs.base_url)
        for user_id, secret in ((py_user, py_secret), (rs_user, rs_secret)):
            now = fresh_step()
            # Python's receipt, finished on keystone-rs.
            resp = finish_with_totp(rs.base_url, user_id, passcode(secret, now),
                                    receipt_from(python.base_url, user_id))
            assert resp.status_code == 201, f"rs finishing python's receipt: {resp.text}"
            assert sorted(resp.json()["token"]["methods"]) == ["password", "totp"]
            token = resp.headers["X-Subject-Token"]
            # ...and the token validates on Python Keystone.
            check = clients.validate_token(python.base_url + "/v3", py_admin.get_token(), token)
            assert check.status_code == 200, check.text
            # keystone-rs's receipt, finished on Python Keystone (previous step's code:
            # keystone-rs has spent this one; Keystone does not know that).
            resp = finish_with_totp(python.base_url, user_id, passcode(secret, now - 30),
                                    receipt_from(rs.base_url, user_id))
            assert resp.status_code == 201, f"python finishing rs's receipt: {resp.text}"
            assert sorted(resp.json()["token"]["methods"]) == ["password", "totp"]
    finally:
        rs.stop()
        python.stop()
