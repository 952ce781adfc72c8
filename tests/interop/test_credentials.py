"""Credentials with the clients that use them: the `openstack` CLI manages credentials and
EC2 credentials, and requests signed by keystoneclient's `Ec2Signer` (signature version 2)
and by botocore (SigV4, what boto3/awscli send) validate through `/v3/ec2tokens`, while a
wrong secret is refused."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

import clients

OPENSTACK = str(Path(sys.executable).parent / "openstack")


@pytest.fixture
def openstack(os_env, tmp_path):
    def run(*args: str, output_json: bool = True):
        cmd = [OPENSTACK, *args, *(["-f", "json"] if output_json else [])]
        result = subprocess.run(cmd, env=os_env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, (
            f"{' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
            f"stderr: {result.stderr}")
        return json.loads(result.stdout) if output_json and result.stdout.strip() else result.stdout

    return run


@pytest.fixture
def admin(keystone):
    session = clients.admin_session(keystone.auth_url)
    return session, session.get_user_id(), session.get_project_id()


def test_openstack_credential_crud(openstack, admin):
    _, user_id, project_id = admin
    blob = f"interop-blob-{uuid.uuid4().hex}"
    made = openstack("credential", "create", "--type", "cert", "--project", project_id,
                     user_id, blob)
    assert made["blob"] == blob and made["type"] == "cert" and made["user_id"] == user_id
    listed = openstack("credential", "list")
    assert any(c["ID"] == made["id"] for c in listed)
    listed = openstack("credential", "list", "--user", user_id, "--type", "cert")
    assert any(c["ID"] == made["id"] for c in listed)
    shown = openstack("credential", "show", made["id"])
    assert shown["blob"] == blob and shown["project_id"] == project_id
    openstack("credential", "set", "--type", "cert", "--data", "changed", "--user", user_id,
              made["id"], output_json=False)
    assert openstack("credential", "show", made["id"])["blob"] == "changed"
    openstack("credential", "delete", made["id"], output_json=False)
    assert not any(c["ID"] == made["id"] for c in openstack("credential", "list"))


def ec2_tokens(keystone, admin, credentials: dict) -> requests.Response:
    session, _, _ = admin
    return session.post(f"{keystone.auth_url}/ec2tokens", json={"credentials": credentials},
                        raise_exc=False)


def test_ec2_credentials_and_signed_requests(openstack, keystone, admin):
    from keystoneclient.contrib.ec2.utils import Ec2Signer

    _, user_id, project_id = admin
    made = openstack("ec2", "credentials", "create", "--project", project_id)
    access, secret = made["access"], made["secret"]
    assert made["project_id"] == project_id
    try:
        assert any(c["Access"] == access for c in openstack("ec2", "credentials", "list"))
        assert openstack("ec2", "credentials", "show", access)["secret"] == secret

        # Signature version 2, as keystoneclient's Ec2Signer (and the EC2 API services) sign.
        params = {"Action": "DescribeInstances", "SignatureVersion": "2",
                  "AWSAccessKeyId": access, "Timestamp": "2099-01-01T00:00:00Z"}
        creds = {"access": access, "host": "ec2.example.com:8773", "verb": "GET",
                 "path": "/services/Cloud", "params": dict(params)}
        creds["signature"] = Ec2Signer(secret).generate(dict(creds, params=dict(params)))
        resp = ec2_tokens(keystone, admin, creds)
        assert resp.status_code == 200, resp.text
        token = resp.json()["token"]
        assert token["project"]["id"] == project_id and token["user"]["id"] == user_id
        assert token["methods"] == ["ec2credential"]
        assert resp.headers["X-Subject-Token"]
        wrong = dict(creds, signature=Ec2Signer("not-the-secret").generate(
            dict(creds, params=dict(params))))
        assert ec2_tokens(keystone, admin, wrong).status_code == 401

        # SigV4, signed by botocore exactly as boto3 would send the request.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        def v4(secret_key: str) -> dict:
            url = "http://ec2.example.com:8773/?Action=DescribeRegions&Version=2016-11-15"
            request = AWSRequest(method="GET", url=url)
            SigV4Auth(Credentials(access, secret_key), "ec2", "RegionOne").add_auth(request)
            headers = dict(request.headers.items())
            headers["Host"] = "ec2.example.com:8773"
            signature = headers["Authorization"].split("Signature=")[1]
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
            return {"access": access, "signature": signature, "host": "ec2.example.com:8773",
                    "verb": "GET", "path": "/", "params": query, "headers": headers,
                    "body_hash": hashlib.sha256(b"").hexdigest()}

        resp = ec2_tokens(keystone, admin, v4(secret))
        assert resp.status_code == 200, resp.text
        assert resp.json()["token"]["project"]["id"] == project_id
        assert ec2_tokens(keystone, admin, v4("not-the-secret")).status_code == 401
    finally:
        openstack("ec2", "credentials", "delete", access, output_json=False)
    assert not any(c["Access"] == access for c in openstack("ec2", "credentials", "list"))


@pytest.mark.mixed_fleet
def test_mixed_fleet_shares_credentials_across_rotation(tmp_path_factory):
    """Python Keystone and keystone-rs on one database with one credential key repository:
    each decrypts what the other wrote, before and after credential_rotate +
    credential_migrate run by either side; an EC2 credential made on Python Keystone signs
    a request keystone-rs accepts."""
    import getpass
    import grp
    import os

    from keystoneclient.contrib.ec2.utils import Ec2Signer

    import servers

    python = servers.PythonKeystone(servers.peer_venv(), tmp_path_factory.mktemp("py-cred"))
    python.prepare()
    rs_dir = tmp_path_factory.mktemp("rs-cred")
    # The same credential key repository (keystone_conf puts it under the workdir).
    os.symlink(python.workdir / "credential-keys", rs_dir / "credential-keys")
    rs = servers.KeystoneRs(servers.keystone_rs_binary(), rs_dir,
                            connection=f"sqlite:///{python.db_path}",
                            key_repository=python.key_repository)
    owner = ["--keystone-user", getpass.getuser(),
             "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
    try:
        python.start()
        rs.write_config()
        rs.manage("db_sync")
        rs.start()
        py = clients.admin_session(python.base_url + "/v3")
        ks = clients.admin_session(rs.base_url + "/v3")
        user_id, project_id = py.get_user_id(), py.get_project_id()

        def create(session, base, blob):
            resp = session.post(f"{base}/v3/credentials", json={"credential": {
                "user_id": user_id, "type": "cert", "blob": blob}}, raise_exc=False)
            assert resp.status_code == 201, resp.text
            return resp.json()["credential"]["id"]

        def blob_on(session, base, cred_id):
            resp = session.get(f"{base}/v3/credentials/{cred_id}", raise_exc=False)
            assert resp.status_code == 200, f"{base}: {resp.status_code} {resp.text}"
            return resp.json()["credential"]["blob"]

        made = {create(py, python.base_url, "written-by-python"): "written-by-python",
                create(ks, rs.base_url, "written-by-rs"): "written-by-rs"}
        resp = py.post(f"{python.base_url}/v3/users/{user_id}/credentials/OS-EC2",
                       json={"tenant_id": project_id}, raise_exc=False)
        assert resp.status_code == 201, resp.text
        ec2 = resp.json()["credential"]

        def check_all(when):
            for cred_id, blob in made.items():
                for session, base in ((py, python.base_url), (ks, rs.base_url)):
                    assert blob_on(session, base, cred_id) == blob, (when, base)
            params = {"Action": "DescribeInstances", "SignatureVersion": "2",
                      "AWSAccessKeyId": ec2["access"]}
            creds = {"access": ec2["access"], "host": "ec2.example.com", "verb": "GET",
                     "path": "/", "params": dict(params)}
            creds["signature"] = Ec2Signer(ec2["secret"]).generate(
                dict(creds, params=dict(params)))
            for session, base in ((py, python.base_url), (ks, rs.base_url)):
                resp = session.post(f"{base}/v3/ec2tokens", json={"credentials": creds},
                                    raise_exc=False)
                assert resp.status_code == 200, (when, base, resp.status_code, resp.text)
                assert resp.json()["token"]["project"]["id"] == project_id

        check_all("before rotation")
        python.manage("credential_rotate", *owner)
        check_all("after Python's credential_rotate")
        rs.manage("credential_migrate")
        check_all("after keystone-rs's credential_migrate")
        made[create(py, python.base_url, "python-after-rotation")] = "python-after-rotation"
        rs.manage("credential_rotate")
        python.manage("credential_migrate", *owner)
        made[create(ks, rs.base_url, "rs-after-rotation")] = "rs-after-rotation"
        check_all("after keystone-rs's rotate and Python's migrate")
    finally:
        rs.stop()
        python.stop()
