"""A domain on LDAP beside SQL, from the `openstack` CLI's side: keystone-rs with
`[identity] domain_specific_drivers_enabled` and a `keystone.<domain>.conf` pointing at a
real OpenLDAP slapd started here (generated slapd.conf, seeded with slapadd). The CLI's
user and group commands list, show and filter the directory's users and groups, a
directory user gets a token with the CLI, and the public ids keystone-rs shows are the ones
upstream Keystone's own id generator (keystone.identity.id_generators.sha256, from the peer
venv) derives for the same entities — the ids a Python Keystone node sharing the database
and directory would show. The mixed fleet: Python Keystone 30.0.0 (peer venv, with
python-ldap) and keystone-rs on one database, key repository and `domain_config_dir` show
the same users and groups with the same ids and validate each other's tokens of directory
users.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import clients
import servers

OPENSTACK = str(Path(sys.executable).parent / "openstack")
SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SUFFIX = "dc=example,dc=org"

SEED = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=Users,{SUFFIX}
objectClass: organizationalUnit
ou: Users

dn: ou=UserGroups,{SUFFIX}
objectClass: organizationalUnit
ou: UserGroups

dn: cn=alice,ou=Users,{SUFFIX}
objectClass: inetOrgPerson
cn: alice
sn: alice
mail: alice@example.org
userPassword: alice-secret

dn: cn=bob,ou=Users,{SUFFIX}
objectClass: inetOrgPerson
cn: bob
sn: bob
userPassword: bob-secret

dn: cn=devs,ou=UserGroups,{SUFFIX}
objectClass: groupOfNames
cn: devs
ou: devs
description: Developers
member: cn=alice,ou=Users,{SUFFIX}
"""


def start_slapd(workdir: Path) -> tuple[subprocess.Popen, str]:
    if not Path(SLAPD).exists():
        if os.environ.get("CI"):
            pytest.fail("slapd is not installed (tools/test.sh installs the slapd package)")
        pytest.skip("slapd not installed")
    data = workdir / "data"
    data.mkdir()
    conf = workdir / "slapd.conf"
    conf.write_text(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {workdir}/slapd.pid
database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "cn=admin,{SUFFIX}"
rootpw admin-secret
directory {data}
access to attrs=userPassword by anonymous auth by * none
access to * by * read
""")
    seed = workdir / "seed.ldif"
    seed.write_text(SEED)
    subprocess.run([SLAPADD, "-f", str(conf), "-l", str(seed)], check=True,
                   capture_output=True)
    port = servers.free_port()
    url = f"ldap://127.0.0.1:{port}"
    proc = subprocess.Popen([SLAPD, "-h", url + "/", "-f", str(conf), "-d", "0"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("slapd did not listen")


@pytest.fixture(scope="module")
def ldap_keystone(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("rs-ldap")
    slapd, url = start_slapd(tmp_path_factory.mktemp("slapd"))
    domains = workdir / "domains"
    domains.mkdir()
    db = servers.ScratchDatabase.from_env()
    if db:
        db.create()
    server = servers.KeystoneRs(
        servers.keystone_rs_binary(), workdir, connection=db.url if db else None,
        extra_conf=f"[identity]\ndomain_specific_drivers_enabled = true\n"
                   f"domain_config_dir = {domains}\n")
    try:
        server.prepare()
        server.start()
        env = cli_env(server.base_url)
        out = cli(env, "domain", "create", "ldapdom")
        domain_id = out["id"]
        (domains / "keystone.ldapdom.conf").write_text(
            f"[identity]\ndriver = ldap\n[ldap]\nurl = {url}\nsuffix = {SUFFIX}\n"
            f"user = cn=admin,{SUFFIX}\npassword = admin-secret\n"
            "user_name_attribute = sn\ngroup_name_attribute = ou\n")
        yield server, env, domain_id
    finally:
        server.stop()
        slapd.kill()
        slapd.wait()
        if db:
            db.drop()


def cli_env(base_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update({
        "OS_AUTH_URL": base_url + "/v3", "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": servers.ADMIN_USER, "OS_PASSWORD": servers.ADMIN_PASSWORD,
        "OS_USER_DOMAIN_ID": servers.DOMAIN_ID, "OS_PROJECT_NAME": servers.ADMIN_PROJECT,
        "OS_PROJECT_DOMAIN_ID": servers.DOMAIN_ID,
    })
    return env


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    """A command that prints no table (no `-f json`)."""
    return subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True,
                          timeout=120)


def cli(env: dict, *args: str, expect_ok: bool = True):
    result = subprocess.run([OPENSTACK, *args, "-f", "json"], env=env, capture_output=True,
                            text=True, timeout=120)
    if expect_ok:
        assert result.returncode == 0, f"{args}\nstdout: {result.stdout}\nstderr: {result.stderr}"
        return json.loads(result.stdout) if result.stdout.strip() else None
    return result


def upstream_public_id(domain_id: str, local_id: str, entity_type: str) -> str:
    """Keystone's own sha256 id generator, run by the peer venv's Python."""
    python = servers.peer_venv() / "bin" / "python"
    code = ("import sys; from keystone.identity.id_generators.sha256 import Generator; "
            "print(Generator().generate_public_ID({'domain_id': sys.argv[1], "
            "'local_id': sys.argv[2], 'entity_type': sys.argv[3]}))")
    out = subprocess.run([str(python), "-c", code, domain_id, local_id, entity_type],
                         check=True, capture_output=True, text=True, timeout=120)
    return out.stdout.strip()


def test_openstack_cli_user_and_group_commands_on_the_ldap_domain(ldap_keystone):
    _, env, domain_id = ldap_keystone
    users = cli(env, "user", "list", "--domain", "ldapdom")
    assert sorted(u["Name"] for u in users) == ["alice", "bob"]
    alice = cli(env, "user", "show", "--domain", "ldapdom", "alice")
    assert alice["name"] == "alice"
    assert alice["email"] == "alice@example.org"
    assert alice["domain_id"] == domain_id
    groups = cli(env, "group", "list", "--domain", "ldapdom")
    assert [g["Name"] for g in groups] == ["devs"]
    # The CLI passes --domain to its group look-up as a domain id, so give the id.
    members = cli(env, "user", "list", "--group", "devs", "--domain", domain_id)
    assert [u["Name"] for u in members] == ["alice"]
    result = run(env, "group", "contains", "user", "--group-domain", "ldapdom",
                 "--user-domain", "ldapdom", "devs", "alice")
    assert result.returncode == 0, result.stderr
    assert "alice in group devs" in result.stdout, result.stdout
    # Writes are refused as Keystone refuses them for a read-only directory.
    result = cli(env, "user", "create", "--domain", "ldapdom", "mallory", expect_ok=False)
    assert result.returncode != 0
    assert "LDAP does not support write operations" in result.stderr
    # A role for the directory group, then a project token for alice with the CLI.
    project = cli(env, "project", "create", "--domain", "ldapdom", "ldap-proj")
    result = run(env, "role", "add", "--group", "devs", "--group-domain", "ldapdom",
                 "--project", project["id"], "member")
    assert result.returncode == 0, result.stderr
    user_env = {k: v for k, v in env.items() if not k.startswith("OS_")}
    user_env.update({
        "OS_AUTH_URL": env["OS_AUTH_URL"], "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": "alice", "OS_PASSWORD": "alice-secret",
        "OS_USER_DOMAIN_NAME": "ldapdom", "OS_PROJECT_ID": project["id"],
    })
    token = cli(user_env, "token", "issue")
    assert token["user_id"] == alice["id"]
    user_env["OS_PASSWORD"] = "wrong"
    assert cli(user_env, "token", "issue", expect_ok=False).returncode != 0


@pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1",
                    reason="needs the peer venv (INTEROP_SKIP_MIXED=1)")
def test_public_ids_are_upstream_keystones(ldap_keystone):
    _, env, domain_id = ldap_keystone
    for u in cli(env, "user", "list", "--domain", "ldapdom"):
        assert u["ID"] == upstream_public_id(domain_id, u["Name"], "user")
    for g in cli(env, "group", "list", "--domain", "ldapdom"):
        assert g["ID"] == upstream_public_id(domain_id, g["Name"], "group")


def token_for(base_url: str, name: str, domain: str, password: str) -> requests.Response:
    return requests.post(base_url + "/v3/auth/tokens", timeout=60, json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": name, "domain": {"name": domain}, "password": password}}}}})


def admin_token(base_url: str) -> str:
    r = requests.post(base_url + "/v3/auth/tokens", timeout=60,
                      json=clients.password_auth_body("project"))
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


def listed(base_url: str, token: str, path: str, key: str) -> list[tuple[str, str]]:
    r = requests.get(base_url + path, headers={"X-Auth-Token": token}, timeout=60)
    assert r.status_code == 200, r.text
    return sorted((e["name"], e["id"]) for e in r.json()[key])


@pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1",
                    reason="needs the peer venv (INTEROP_SKIP_MIXED=1)")
def test_mixed_fleet_on_one_ldap_domain(tmp_path_factory):
    """Python Keystone 30.0.0 and keystone-rs on one SQLite database, one key repository,
    one `domain_config_dir`: both show the directory's users and groups with the same ids,
    and each validates the other's tokens of a directory user."""
    venv = servers.peer_venv()
    has_ldap = subprocess.run([str(venv / "bin" / "python"), "-c", "import ldap, ldappool"],
                              capture_output=True).returncode == 0
    if not has_ldap:
        if os.environ.get("CI"):
            pytest.fail(f"{venv} lacks python-ldap/ldappool (peer-requirements.txt)")
        pytest.skip(f"{venv} lacks python-ldap/ldappool")
    slapd, url = start_slapd(tmp_path_factory.mktemp("slapd-mixed"))
    domains = tmp_path_factory.mktemp("domains")
    identity = (f"[identity]\ndomain_specific_drivers_enabled = true\n"
                f"domain_config_dir = {domains}\n")
    peer = servers.PythonKeystone(venv, tmp_path_factory.mktemp("py-ldap"), extra_conf=identity)
    rs = None
    try:
        peer.prepare()
        rs = servers.KeystoneRs(servers.keystone_rs_binary(), tmp_path_factory.mktemp("rs-ldap-mixed"),
                                connection=f"sqlite:///{peer.db_path}",
                                key_repository=peer.key_repository, extra_conf=identity)
        rs.write_config()
        rs.manage("db_sync")
        rs.start()
        # The domain and its file exist before Python Keystone's first identity call
        # (it reads domain_config_dir once, on that call).
        rs_admin = admin_token(rs.base_url)
        r = requests.post(rs.base_url + "/v3/domains", headers={"X-Auth-Token": rs_admin},
                          json={"domain": {"name": "ldapdom"}}, timeout=60)
        assert r.status_code == 201, r.text
        domain_id = r.json()["domain"]["id"]
        (domains / "keystone.ldapdom.conf").write_text(
            f"[identity]\ndriver = ldap\n[ldap]\nurl = {url}\nsuffix = {SUFFIX}\n"
            f"user = cn=admin,{SUFFIX}\npassword = admin-secret\n"
            "user_name_attribute = sn\ngroup_name_attribute = ou\n")
        peer.start()
        py_admin = admin_token(peer.base_url)
        for path, key in ((f"/v3/users?domain_id={domain_id}", "users"),
                          (f"/v3/groups?domain_id={domain_id}", "groups")):
            on_rs = listed(rs.base_url, rs_admin, path, key)
            on_py = listed(peer.base_url, py_admin, path, key)
            assert on_rs == on_py
            assert on_rs, path
        alice_id = dict(listed(rs.base_url, rs_admin, f"/v3/users?domain_id={domain_id}",
                               "users"))["alice"]
        # Tokens of a directory user, each issued by one and validated by the other.
        for issuer, validator, admin, name, password in (
            (rs, peer, py_admin, "alice", "alice-secret"),
            (peer, rs, rs_admin, "bob", "bob-secret"),
        ):
            r = token_for(issuer.base_url, name, "ldapdom", password)
            assert r.status_code == 201, r.text
            issued = r.json()["token"]
            v = requests.get(validator.base_url + "/v3/auth/tokens", timeout=60, headers={
                "X-Auth-Token": admin, "X-Subject-Token": r.headers["X-Subject-Token"]})
            assert v.status_code == 200, v.text
            assert v.json()["token"]["user"] == issued["user"]
            assert issued["user"]["domain"]["id"] == domain_id
        r = requests.get(peer.base_url + f"/v3/users/{alice_id}",
                         headers={"X-Auth-Token": py_admin}, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["user"]["name"] == "alice"
        # Both refuse a wrong password the same way.
        for server in (rs, peer):
            assert token_for(server.base_url, "alice", "ldapdom", "wrong").status_code == 401
    finally:
        if rs:
            rs.stop()
        peer.stop()
        slapd.kill()
        slapd.wait()
