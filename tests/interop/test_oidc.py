"""Native OpenID Connect from the clients' side: keystone-rs with an
`[openid_connect:myidp:openid]` section validates the bearer tokens of a real OpenID
provider (npm `oidc-provider`, tests/oidc/provider.mjs, started here) and keystoneauth1's
OIDC plugins log in through it unchanged — `v3oidcclientcredentials` (unscoped and
project-scoped) and `v3oidcaccesstoken` with a token fetched from the provider — and so
does `openstack --os-auth-type v3oidcclientcredentials`. End to end over HTTP: a token of
another issuer, an expired one, a tampered one, one for another audience and one signed by
a key the provider rotated out are each a 401.

keystoneauth's `v3oidcpassword` is not exercised: oidc-provider does not implement the
resource owner password grant (OAuth 2.1 removed it), and no test fakes one.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

import clients
import servers

OPENSTACK = str(Path(sys.executable).parent / "openstack")
CLIENT_ID = "keystone"
CLIENT_SECRET = "keystone-test-secret"
IDP = "myidp"
PROTOCOL = "openid"
PROJECT = "oidc-project"
AUTH_PATH = f"/v3/OS-FEDERATION/identity_providers/{IDP}/protocols/{PROTOCOL}/auth"


def provider_home() -> Path:
    """target/oidc-provider (tools/test.sh's `npm ci`), installed here when missing, with
    provider.mjs beside node_modules (ES modules resolve packages from there)."""
    if os.environ.get("KSRS_OIDC_PROVIDER_DIR"):
        home = Path(os.environ["KSRS_OIDC_PROVIDER_DIR"])
    else:
        home = Path(os.environ.get("CARGO_TARGET_DIR") or servers.REPO / "target") / "oidc-provider"
    sources = servers.REPO / "tests" / "oidc"
    lock = (sources / "package-lock.json").read_bytes()
    installed = home / "package-lock.json"
    if (not installed.exists() or installed.read_bytes() != lock
            or not (home / "node_modules" / "oidc-provider" / "package.json").exists()):
        if shutil.which("npm") is None:
            pytest.fail("npm (Node.js 20+) is needed for the OIDC tests (tools/test.sh)")
        home.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(sources / name, home / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=home, check=True, capture_output=True, timeout=600)
    shutil.copy(sources / "provider.mjs", home / "provider.mjs")
    return home


class Provider:
    """One oidc-provider process on `port`, signing with the keys of `keys_file` (made by
    the provider when missing)."""

    def __init__(self, workdir: Path, port: int | None = None, keys_file: Path | None = None):
        self.workdir = workdir
        self.port = port or servers.free_port()
        self.keys_file = keys_file or workdir / f"keys-{self.port}-{time.monotonic_ns()}.json"
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"provider-{self.port}.log"
        servers.STARTED_LOG_DIRS.append(workdir)
        home = provider_home()
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(["node", str(home / "provider.mjs"), str(self.port),
                                          str(self.keys_file)], cwd=home,
                                         stdout=subprocess.PIPE, stderr=log, text=True,
                                         stdin=subprocess.DEVNULL)
        ready = threading.Event()

        def watch():
            for line in self.proc.stdout:
                if line.strip() == "listening":
                    ready.set()

        threading.Thread(target=watch, daemon=True).start()
        if not ready.wait(30):
            self.stop()
            raise RuntimeError(f"the OpenID provider did not start: {servers.tail(self.log)}")

    def stop(self) -> None:
        servers.stop_process(self.proc)

    def token(self, resource: str | None = None) -> str:
        """A client_credentials access token (for `resource`, else the client's default,
        urn:keystone)."""
        data = {"grant_type": "client_credentials", "scope": "api"}
        if resource:
            data["resource"] = resource
        r = requests.post(f"{self.issuer}/token", data=data, auth=(CLIENT_ID, CLIENT_SECRET),
                          timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    @property
    def discovery(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


@pytest.fixture(scope="module")
def oidc(tmp_path_factory):
    """The provider, and keystone-rs serving `myidp`/`openid` natively from it: the IdP's
    remote id is the issuer, the mapping makes the token's `preferred_username` a user of
    the default domain in the groups it names, and group `devs` is admin on `oidc-project`."""
    op = Provider(tmp_path_factory.mktemp("oidc-provider"))
    holder = {"op": op}
    rs = servers.KeystoneRs(
        servers.keystone_rs_binary(), tmp_path_factory.mktemp("rs-oidc"),
        auth_methods=servers.DEFAULT_AUTH_METHODS + ",openid",
        extra_conf=f"[openid_connect:{IDP}:{PROTOCOL}]\nissuer = {op.issuer}\n"
                   "audiences = urn:keystone, urn:keystone:short\nclaim_delimiter = ;\n"
                   "leeway = 0\njwks_refetch_interval = 0\n")
    try:
        rs.prepare()
        rs.start()
        admin = clients.admin_session(rs.base_url + "/v3")

        def call(method, path, body=None, ok=(200, 201, 204)):
            r = admin.request(rs.base_url + path, method, json=body, raise_exc=False)
            assert r.status_code in ok, f"{method} {path}: {r.status_code} {r.text}"
            return r.json() if r.text else None

        group = call("POST", "/v3/groups",
                     {"group": {"name": "devs", "domain_id": servers.DOMAIN_ID}})["group"]["id"]
        project = call("POST", "/v3/projects",
                       {"project": {"name": PROJECT, "domain_id": servers.DOMAIN_ID}})
        project = project["project"]["id"]
        role = call("GET", "/v3/roles?name=admin")["roles"][0]["id"]
        call("PUT", f"/v3/projects/{project}/groups/{group}/roles/{role}")
        rules = [{"local": [{"user": {"name": "{0}", "email": "{1}"}},
                            {"groups": "{2}", "domain": {"id": servers.DOMAIN_ID}}],
                  "remote": [{"type": "OIDC-preferred_username"}, {"type": "OIDC-email"},
                             {"type": "OIDC-groups"}]}]
        call("PUT", "/v3/OS-FEDERATION/mappings/oidc", {"mapping": {"rules": rules}})
        call("PUT", f"/v3/OS-FEDERATION/identity_providers/{IDP}",
             {"identity_provider": {"domain_id": servers.DOMAIN_ID, "enabled": True,
                                    "remote_ids": [op.issuer]}})
        call("PUT", f"/v3/OS-FEDERATION/identity_providers/{IDP}/protocols/{PROTOCOL}",
             {"protocol": {"mapping_id": "oidc", "remote_id_attribute": "HTTP_OIDC_ISS"}})
        yield holder, rs, project
    finally:
        rs.stop()
        holder["op"].stop()


def client_credentials(rs, op, **scope) -> v3.OidcClientCredentials:
    return v3.OidcClientCredentials(
        auth_url=rs.base_url + "/v3", identity_provider=IDP, protocol=PROTOCOL,
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, discovery_endpoint=op.discovery,
        **scope)


def test_client_credentials_plugin_unscoped_and_project_scoped(oidc):
    holder, rs, project = oidc
    op = holder["op"]
    # keystoneauth's defaults throughout: scope "openid profile", no resource indicator.
    auth = client_credentials(rs, op)
    access = auth.get_access(ks_session.Session())
    assert access.username == "ann"
    assert access.project_id is None
    assert access.is_federated
    token = access.auth_token
    body = access._data["token"]
    assert body["methods"] == [PROTOCOL]
    assert body["user"]["OS-FEDERATION"]["identity_provider"]["id"] == IDP
    assert body["user"]["OS-FEDERATION"]["protocol"]["id"] == PROTOCOL
    assert body["user"]["domain"]["id"] == servers.DOMAIN_ID

    scoped = client_credentials(rs, op, project_name=PROJECT,
                                project_domain_id=servers.DOMAIN_ID)
    access = scoped.get_access(ks_session.Session())
    assert (access.project_id, access.project_name) == (project, PROJECT)
    assert "admin" in access.role_names  # with the roles it implies
    assert access.username == "ann"

    # Both validate with the bootstrap admin.
    admin, _ = clients.issue_token(rs.base_url + "/v3", "project")
    for subject in (token, access.auth_token):
        r = clients.validate_token(rs.base_url + "/v3", admin, subject)
        assert r.status_code == 200, r.text
        assert r.json()["token"]["user"]["name"] == "ann"

    # The session works as any keystoneauth session: a project-scoped call.
    s = ks_session.Session(auth=scoped)
    r = s.get(rs.base_url + f"/v3/projects/{project}", raise_exc=False)
    assert r.status_code == 200, r.text


def test_access_token_plugin(oidc):
    holder, rs, project = oidc
    op = holder["op"]
    auth = v3.OidcAccessToken(auth_url=rs.base_url + "/v3", identity_provider=IDP,
                              protocol=PROTOCOL, access_token=op.token("urn:keystone"),
                              project_id=project)
    access = auth.get_access(ks_session.Session())
    assert access.project_id == project
    assert access.username == "ann"
    # The same user as through the client-credentials plugin: one shadow user.
    unscoped = client_credentials(rs, op).get_access(ks_session.Session())
    assert unscoped.user_id == access.user_id


def test_openstack_cli_with_oidc_client_credentials(oidc, tmp_path):
    holder, rs, project = oidc
    op = holder["op"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update({
        "OS_AUTH_TYPE": "v3oidcclientcredentials", "OS_AUTH_URL": rs.base_url + "/v3",
        "OS_IDENTITY_API_VERSION": "3", "OS_IDENTITY_PROVIDER": IDP, "OS_PROTOCOL": PROTOCOL,
        "OS_CLIENT_ID": CLIENT_ID, "OS_CLIENT_SECRET": CLIENT_SECRET,
        "OS_DISCOVERY_ENDPOINT": op.discovery, "OS_PROJECT_NAME": PROJECT,
        "OS_PROJECT_DOMAIN_ID": servers.DOMAIN_ID, "OS_INTERFACE": "public",
        "OS_REGION_NAME": servers.REGION,
    })

    def cli(*args):
        r = subprocess.run([OPENSTACK, *args, "-f", "json"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{args}: {r.stderr}"
        return json.loads(r.stdout)

    issued = cli("token", "issue")
    assert issued["project_id"] == project
    r = clients.validate_token(rs.base_url + "/v3", issued["id"], issued["id"])
    assert r.status_code == 200, r.text
    assert r.json()["token"]["user"]["OS-FEDERATION"]["identity_provider"]["id"] == IDP
    listed = {p["Name"]: p["ID"] for p in cli("project", "list")}
    assert listed[PROJECT] == project


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def tampered(token: str, **claims) -> str:
    """The token with claims changed in its payload, header and signature kept."""
    header, payload, signature = token.split(".")
    body = json.loads(unb64(payload))
    body.update(claims)
    return f"{header}.{b64(json.dumps(body).encode())}.{signature}"


def login(rs, token: str) -> requests.Response:
    return requests.post(rs.base_url + AUTH_PATH, headers={"Authorization": f"Bearer {token}"},
                         timeout=30)


def refused_by_keystoneauth(rs, token: str) -> None:
    auth = v3.OidcAccessToken(auth_url=rs.base_url + "/v3", identity_provider=IDP,
                              protocol=PROTOCOL, access_token=token)
    with pytest.raises(ks_exceptions.Unauthorized):
        auth.get_access(ks_session.Session())


def test_foreign_expired_tampered_and_rotated_out_tokens_are_401(oidc, tmp_path):
    holder, rs, _ = oidc
    op = holder["op"]
    good = op.token("urn:keystone")
    r = login(rs, good)
    assert r.status_code == 201, r.text
    # The same keys on another port: another issuer, its tokens refused on `iss` alone.
    other = Provider(tmp_path, keys_file=op.keys_file)
    try:
        foreign = other.token("urn:keystone")
    finally:
        other.stop()
    short = op.token("urn:keystone:short")
    refusals = {
        "another issuer": foreign,
        "another audience": op.token("urn:elsewhere"),
        "tampered claims": tampered(good, preferred_username="admin"),
        "tampered signature": good[:-8] + ("AAAAAAAA" if good[-8:] != "AAAAAAAA" else "BBBBBBBB"),
        "not a token": "garbage",
    }
    time.sleep(2.1)  # short lives one second, no leeway
    refusals["expired"] = short
    for why, token in refusals.items():
        r = login(rs, token)
        assert r.status_code == 401, f"{why}: {r.status_code} {r.text}"
        assert r.json()["error"]["code"] == 401, why
        refused_by_keystoneauth(rs, token)
    # The same issuer restarted with new keys: the old key is gone from its JWKS.
    port = op.port
    op.stop()
    holder["op"] = op = Provider(op.workdir, port=port)
    fresh = op.token("urn:keystone")
    assert login(rs, fresh).status_code == 201
    r = login(rs, good)
    assert r.status_code == 401, f"rotated-out key: {r.status_code} {r.text}"
    refused_by_keystoneauth(rs, good)
