"""Swift's S3 API with keystone: the `s3api` and `s3token` filters of the `swift` package
(its own venv, `target/s3-venv`: swift is not one of the clients of the main venv) run in
front of a tiny recording WSGI app, pointed at keystone-rs's `/v3` (and, in the mixed
fleet, at Python Keystone 30.0.0's). Requests signed by botocore as an S3 client signs
them (SigV2 `Authorization: AWS access:signature`, and SigV4) reach the app with the
headers and `keystone.token_info` s3token takes from `/v3/s3tokens`; a wrong signature is
refused by the filters and never reaches the app. s3token gets its service token with
keystoneauth's password plugin as a user with the `service` role (Keystone 30 refuses an
unauthenticated `/v3/s3tokens`, and so does keystone-rs: that is checked too)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

import clients
import servers

HERE = Path(__file__).resolve().parent
# s3api's default `location`, the region SigV4 requests must be signed for.
S3_REGION = "us-east-1"


def s3_venv() -> Path:
    venv = Path(os.environ.get("INTEROP_S3_VENV") or servers.REPO / "target" / "s3-venv")
    assert (venv / "bin" / "python").exists(), (
        f"no s3 venv at {venv}: run tests/interop/setup_venv.sh (run.sh does)")
    return venv


class S3Front:
    """s3api + s3token (Swift) in front of a recorder, in a process of its own."""

    def __init__(self, workdir: Path, auth_uri: str, service_auth: dict | None):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.records = workdir / "seen.jsonl"
        self.records.touch()
        self.replies = workdir / "keystone-replies.jsonl"
        self.replies.touch()
        port_file = workdir / "port"
        self.log = workdir / "s3token_app.log"
        cmd = [str(s3_venv() / "bin" / "python"), str(HERE / "s3token_app.py"), auth_uri,
               str(port_file), str(self.records), str(self.replies)]
        if service_auth is not None:
            cmd.append(json.dumps(service_auth))
        self.proc = subprocess.Popen(cmd, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert self.proc.poll() is None, servers.tail(self.log)
            assert time.monotonic() < deadline, servers.tail(self.log)
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}"

    def seen(self) -> list[dict]:
        """What reached the app behind the filters."""
        return [json.loads(line) for line in self.records.read_text().splitlines()]

    def keystone_statuses(self) -> list[int]:
        """The status of every /v3/s3tokens reply s3token got."""
        return [json.loads(line)["status"] for line in self.replies.read_text().splitlines()]

    def stop(self) -> None:
        servers.stop_process(self.proc)


@contextmanager
def s3_front(workdir: Path, auth_uri: str, service_auth: dict | None):
    front = S3Front(workdir, auth_uri, service_auth)
    try:
        yield front
    finally:
        front.stop()


def s3_get(url: str, access: str, secret: str, version: str) -> requests.Response:
    """GET Service (ListBuckets), signed by botocore as boto3/awscli sign it."""
    from botocore.auth import HmacV1Auth, S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=url + "/")
    credentials = Credentials(access, secret)
    if version == "v2":
        HmacV1Auth(credentials).add_auth(request)
        assert request.headers["Authorization"].startswith(f"AWS {access}:")
    else:
        S3SigV4Auth(credentials, "s3", S3_REGION).add_auth(request)
        assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    prepared = request.prepare()
    return requests.get(prepared.url, headers=dict(prepared.headers.items()), timeout=60)


def service_user(session, auth_url: str) -> dict:
    """A `swift` service user with the `service` role on the admin project, as devstack
    makes for a service, and s3token's keystoneauth options for it."""
    name = f"swift-s3-{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    resp = session.post(f"{auth_url}/users", json={"user": {
        "name": name, "password": password, "domain_id": servers.DOMAIN_ID}}, raise_exc=False)
    assert resp.status_code == 201, resp.text
    user_id = resp.json()["user"]["id"]
    roles = session.get(f"{auth_url}/roles?name=service").json()["roles"]
    assert roles, "bootstrap made no `service` role"
    project_id = session.get_project_id()
    resp = session.put(f"{auth_url}/projects/{project_id}/users/{user_id}/roles/"
                       f"{roles[0]['id']}", raise_exc=False)
    assert resp.status_code == 204, resp.text
    return {"auth_type": "password", "auth_url": auth_url, "username": name,
            "password": password, "user_domain_id": servers.DOMAIN_ID,
            "project_name": servers.ADMIN_PROJECT, "project_domain_id": servers.DOMAIN_ID}


def ec2_credential(session, auth_url: str) -> dict:
    user_id, project_id = session.get_user_id(), session.get_project_id()
    resp = session.post(f"{auth_url}/users/{user_id}/credentials/OS-EC2",
                        json={"tenant_id": project_id}, raise_exc=False)
    assert resp.status_code == 201, resp.text
    return resp.json()["credential"]


IDENTITY_HEADERS = ("X-Identity-Status", "X-Roles", "X-User-", "X-Tenant-", "X-Project-")


def attempt(front: S3Front, access: str, secret: str, version: str) -> dict:
    """One signed S3 request: what the S3 client got, what s3token heard from Keystone,
    and the identity the app behind the filters saw (None when it was not called)."""
    seen_before, replies_before = len(front.seen()), len(front.keystone_statuses())
    resp = s3_get(front.url, access, secret, version)
    seen = front.seen()[seen_before:]
    assert len(seen) <= 1, seen
    outcome = {"status": resp.status_code, "keystone": front.keystone_statuses()[replies_before:],
               "app": None}
    if resp.status_code != 200:
        outcome["error"] = resp.text.split("<Code>")[1].split("</Code>")[0]
    if seen:
        headers = {k: v for k, v in seen[0]["headers"].items() if k.startswith(IDENTITY_HEADERS)}
        headers["X-Roles"] = ",".join(sorted(headers.get("X-Roles", "").split(",")))
        token = seen[0]["token_info"]["token"]
        outcome["app"] = {"path": seen[0]["path"], "headers": headers,
                          "token": {"methods": token["methods"],
                                    "project": token["project"]["id"],
                                    "user": token["user"]["id"]}}
    return outcome


def assert_accepted(outcome: dict, user_id: str, project_id: str) -> None:
    assert outcome["status"] == 200 and outcome["keystone"] == [200], outcome
    app = outcome["app"]
    assert app is not None, outcome
    headers = app["headers"]
    # s3token moved the request to the credential's project's account ...
    assert app["path"] == f"/v1/AUTH_{project_id}", app
    # ... and set the identity headers auth_token would have set, from /v3/s3tokens' token.
    assert headers["X-Identity-Status"] == "Confirmed"
    assert headers["X-Project-Id"] == headers["X-Tenant-Id"] == project_id
    assert headers["X-Project-Name"] == headers["X-Tenant-Name"] == servers.ADMIN_PROJECT
    assert headers["X-User-Id"] == user_id
    assert headers["X-User-Name"] == servers.ADMIN_USER
    assert headers["X-User-Domain-Id"] == headers["X-Project-Domain-Id"] == servers.DOMAIN_ID
    assert servers.ADMIN_ROLE in headers["X-Roles"].split(","), headers["X-Roles"]
    assert app["token"] == {"methods": ["ec2credential"], "project": project_id,
                            "user": user_id}


def assert_refused(outcome: dict, keystone_status: int) -> None:
    # s3token denies with 401 AccessDenied; s3api answers the S3 client as S3 does, and
    # the app behind the filters is never called.
    assert outcome == {"status": 403, "keystone": [keystone_status], "app": None,
                       "error": "SignatureDoesNotMatch"}, outcome


def exercise(front: S3Front, cred: dict, user_id: str, project_id: str) -> dict:
    """The same cases on any Keystone; returns their outcomes for comparison."""
    outcomes = {}
    for version in ("v2", "v4"):
        outcomes[f"{version} signed"] = attempt(front, cred["access"], cred["secret"], version)
        assert_accepted(outcomes[f"{version} signed"], user_id, project_id)
        outcomes[f"{version} wrong secret"] = attempt(front, cred["access"], "not-the-secret",
                                                      version)
        assert_refused(outcomes[f"{version} wrong secret"], 401)
    # An access key Keystone does not know: Keystone 30 answers 404 "EC2 access key not
    # found."; s3token refuses either way.
    outcomes["unknown access key"] = attempt(front, uuid.uuid4().hex, cred["secret"], "v2")
    assert_refused(outcomes["unknown access key"], 404)
    return outcomes


def exercise_anonymous(workdir: Path, auth_url: str, cred: dict) -> dict:
    """s3token without service credentials calls /v3/s3tokens anonymously: Keystone 30
    refuses that (401), and so the S3 request is refused however well it is signed."""
    with s3_front(workdir, auth_url, None) as front:
        outcome = attempt(front, cred["access"], cred["secret"], "v2")
    assert_refused(outcome, 401)
    return outcome


def test_s3token_with_keystone_rs(keystone, tmp_path):
    session = clients.admin_session(keystone.auth_url)
    user_id, project_id = session.get_user_id(), session.get_project_id()
    cred = ec2_credential(session, keystone.auth_url)
    service_auth = service_user(session, keystone.auth_url)
    try:
        with s3_front(tmp_path / "front", keystone.auth_url, service_auth) as front:
            exercise(front, cred, user_id, project_id)
        exercise_anonymous(tmp_path / "anonymous", keystone.auth_url, cred)
    finally:
        session.delete(f"{keystone.auth_url}/users/{user_id}/credentials/OS-EC2/"
                       f"{cred['access']}", raise_exc=False)


@pytest.mark.mixed_fleet
@pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1", reason="INTEROP_SKIP_MIXED=1")
def test_s3token_mixed_fleet(tmp_path_factory):
    """Python Keystone 30.0.0 and keystone-rs on one database and one credential key
    repository, each with Swift's filters in front: EC2 credentials made on either
    authenticate S3 requests through both, with the same outcome for every case (the same
    statuses from Keystone and the filters, the same identity headers for the app)."""
    python = servers.PythonKeystone(servers.peer_venv(), tmp_path_factory.mktemp("py-s3"))
    python.prepare()
    rs_dir = tmp_path_factory.mktemp("rs-s3")
    os.symlink(python.workdir / "credential-keys", rs_dir / "credential-keys")
    rs = servers.KeystoneRs(servers.keystone_rs_binary(), rs_dir,
                            connection=f"sqlite:///{python.db_path}",
                            key_repository=python.key_repository)
    work = tmp_path_factory.mktemp("s3-fronts")
    try:
        python.start()
        rs.write_config()
        rs.manage("db_sync")
        rs.start()
        py = clients.admin_session(python.base_url + "/v3")
        ks = clients.admin_session(rs.base_url + "/v3")
        user_id, project_id = py.get_user_id(), py.get_project_id()
        creds = {"made on python": ec2_credential(py, python.base_url + "/v3"),
                 "made on keystone-rs": ec2_credential(ks, rs.base_url + "/v3")}
        service_auth = service_user(py, python.base_url + "/v3")
        nodes = {"python": python.base_url + "/v3", "keystone-rs": rs.base_url + "/v3"}
        outcomes = {}
        for node, auth_url in nodes.items():
            # s3token's service token comes from the node it validates with.
            auth = dict(service_auth, auth_url=auth_url)
            with s3_front(work / node, auth_url, auth) as front:
                for made, cred in creds.items():
                    outcomes[node, made] = exercise(front, cred, user_id, project_id)
            outcomes[node, "anonymous"] = exercise_anonymous(
                work / f"{node}-anonymous", auth_url, creds["made on python"])
        for key in ("made on python", "made on keystone-rs", "anonymous"):
            assert outcomes["keystone-rs", key] == outcomes["python", key], key
    finally:
        rs.stop()
        python.stop()
