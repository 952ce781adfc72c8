"""Mixed fleet: upstream Python Keystone 30.0.0 and keystone-rs side by side, as during a
migration. Python Keystone makes the deployment (db_sync, fernet_setup, bootstrap);
keystone-rs adopts a copy of that database and the same Fernet key repository. Each must
accept the other's tokens and describe them identically.

Needs the peer venv (setup_venv.sh) and the keystone-rs binary; it ignores KEYSTONE_URL
and KEYSTONE_TEST_DATABASE_URL (the adopted database is SQLite). Skip it only with
INTEROP_SKIP_MIXED=1.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

import clients
import servers

pytestmark = [
    pytest.mark.mixed_fleet,
    pytest.mark.skipif(os.environ.get("INTEROP_SKIP_MIXED") == "1",
                       reason="INTEROP_SKIP_MIXED=1"),
]

TOKEN_SCOPES = ["project", "system", "unscoped"]

# keystone-rs believes federated assertions (headers starting FED-) from the test client.
FEDERATION_CONF = "[federation]\ntrusted_proxies = 127.0.0.1\nassertion_prefix = FED-\n"


def schema_objects(db: Path, tables: set[str] | None = None) -> set[tuple]:
    """sqlite_master's rows (type, name, table, SQL), limited to `tables` if given."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    return {row for row in rows if tables is None or row[2] in tables}


def table_contents(db: Path, tables: set[str]) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in sorted(tables)}


@dataclass
class Fleet:
    python: servers.PythonKeystone
    adopted_dir: Path
    adopted_db: Path
    rs: servers.KeystoneRs | None = None
    # Keystone's tables, and sqlite_master / contents before and after keystone-rs db_sync
    keystone_tables: set[str] = field(default_factory=set)
    schema_before: set[tuple] = field(default_factory=set)
    schema_after: set[tuple] = field(default_factory=set)
    contents_before: dict = field(default_factory=dict)
    contents_after: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    python = servers.PythonKeystone(servers.peer_venv(),
                                    tmp_path_factory.mktemp("python-keystone"))
    python.prepare()
    # keystone-rs adopts a snapshot of the freshly bootstrapped database
    adopted_dir = tmp_path_factory.mktemp("keystone-rs-adopted")
    adopted_db = adopted_dir / "keystone.db"
    with sqlite3.connect(python.db_path) as src, sqlite3.connect(adopted_db) as dst:
        src.backup(dst)
    fleet = Fleet(python=python, adopted_dir=adopted_dir, adopted_db=adopted_db)
    fleet.keystone_tables = {name for kind, name, _, _ in schema_objects(adopted_db)
                             if kind == "table"}
    fleet.schema_before = schema_objects(adopted_db)
    fleet.contents_before = table_contents(adopted_db, fleet.keystone_tables)
    try:
        python.start()
        yield fleet
    finally:
        python.stop()
        if fleet.rs:
            fleet.rs.stop()


@pytest.fixture(scope="module")
def python_keystone(fleet) -> servers.PythonKeystone:
    return fleet.python


@pytest.fixture(scope="module")
def keystone_rs(fleet) -> servers.KeystoneRs:
    """keystone-rs on the adopted copy with Python's key repository. db_sync runs anyway, as
    an operator following our README would run it: it must recognise Keystone's schema."""
    rs = servers.KeystoneRs(servers.keystone_rs_binary(), fleet.adopted_dir,
                            connection=f"sqlite:///{fleet.adopted_db}",
                            key_repository=fleet.python.key_repository,
                            extra_conf=FEDERATION_CONF)
    rs.write_config()
    rs.manage("db_sync")
    fleet.schema_after = schema_objects(fleet.adopted_db, fleet.keystone_tables)
    fleet.contents_after = table_contents(fleet.adopted_db, fleet.keystone_tables)
    fleet.rs = rs
    rs.start()
    return rs


def normalised(body: dict) -> dict:
    """The token JSON with its unordered lists in a fixed order: the catalog (services and
    their endpoints) and the roles come out of SQL/set iteration in no defined order."""
    body = copy.deepcopy(body)
    token = body["token"]
    for service in token.get("catalog", []):
        service["endpoints"].sort(key=lambda e: e["id"])
    token.get("catalog", []).sort(key=lambda s: s["id"])
    token.get("roles", []).sort(key=lambda r: r["id"])
    return body


def validated_by(server, token: str) -> tuple[dict, str]:
    resp = clients.validate_token(server.base_url + "/v3", token, token)
    assert resp.status_code == 200, (
        f"{type(server).__name__} rejected the token: {resp.status_code} {resp.text}")
    return normalised(resp.json()), resp.headers.get("X-Subject-Token")


def test_python_keystone_serves_its_own_tokens(python_keystone):
    """The Python half alone: the reference deployment works as the peer does."""
    token, issued = clients.issue_token(python_keystone.base_url + "/v3", "project")
    body, subject = validated_by(python_keystone, token)
    assert subject == token
    assert body == normalised(issued)
    assert body["token"]["project"]["name"] == servers.ADMIN_PROJECT


def test_db_sync_leaves_keystone_schema_alone(fleet, keystone_rs):
    """Nothing of Keystone's schema is removed or altered. The one addition allowed on its
    tables is keystone-rs's own lookup indexes (migration ksrs_lookup_indexes, named ksrs_ix_*
    so no Keystone migration can collide with them); Python Keystone serves on beside them
    in every other test of this module."""
    assert "alembic_version" in fleet.keystone_tables
    removed = fleet.schema_before - fleet.schema_after
    added = fleet.schema_after - fleet.schema_before
    foreign = [obj for obj in added if obj[0] != "index" or not obj[1].startswith("ksrs_ix_")]
    assert not removed and not foreign, (
        "keystone-rs db_sync altered Keystone's schema:\n"
        f"removed: {sorted(removed)}\n"
        f"added on Keystone tables: {sorted(foreign)}")
    assert {obj[1] for obj in added} == {
        "ksrs_ix_password_local_user_id", "ksrs_ix_project_parent_id",
        "ksrs_ix_federated_user_user_id", "ksrs_ix_assignment_target_id"}
    changed = [t for t in fleet.keystone_tables
               if fleet.contents_after[t] != fleet.contents_before[t]]
    assert not changed, f"keystone-rs db_sync changed rows of Keystone tables: {changed}"


@pytest.mark.parametrize("scope", TOKEN_SCOPES)
def test_python_token_validates_on_keystone_rs(python_keystone, keystone_rs, scope):
    token, _ = clients.issue_token(python_keystone.base_url + "/v3", scope)
    on_python, _ = validated_by(python_keystone, token)
    on_rs, subject = validated_by(keystone_rs, token)
    assert subject == token
    assert on_rs == on_python


@pytest.mark.parametrize("scope", TOKEN_SCOPES)
def test_keystone_rs_token_validates_on_python(python_keystone, keystone_rs, scope):
    token, _ = clients.issue_token(keystone_rs.base_url + "/v3", scope)
    on_rs, _ = validated_by(keystone_rs, token)
    on_python, subject = validated_by(python_keystone, token)
    assert subject == token
    assert on_python == on_rs


def admin_request(server, method: str, path: str, body: dict | None = None):
    token, _ = clients.issue_token(server.base_url + "/v3", "project")
    return requests.request(method, server.base_url + path, json=body, timeout=30,
                            headers={"X-Auth-Token": token})


def copy_rows(src: Path, dst: Path, table: str, where: str, args: tuple) -> None:
    """What a shared database would show the other node: the rows one node wrote."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        cur = a.execute(f'SELECT * FROM "{table}" WHERE {where}', args)
        cols = [d[0] for d in cur.description]
        for row in cur.fetchall():
            b.execute(f'INSERT OR REPLACE INTO "{table}" ({", ".join(cols)}) '
                      f'VALUES ({", ".join("?" for _ in cols)})', row)


@pytest.mark.parametrize("scope", ["unscoped", "project"])
def test_keystone_rs_federated_token_validates_on_python(fleet, python_keystone, keystone_rs,
                                                         scope):
    """A federated login on keystone-rs (assertion headers from a trusted proxy): Python
    Keystone, seeing the same rows, validates the token and describes it identically —
    the OS-FEDERATION block, the mapped group, the roles the group grants. Python Keystone
    takes assertions only from Apache's WSGI environ, so the reverse direction is not
    exercised here."""
    # The group exists on both nodes with one id (made on Python, the row copied).
    r = admin_request(python_keystone, "POST", "/v3/groups",
                      {"group": {"name": f"fed-{scope}", "domain_id": servers.DOMAIN_ID}})
    assert r.status_code == 201, r.text
    group_id = r.json()["group"]["id"]
    copy_rows(fleet.python.db_path, fleet.adopted_db, "group", "id = ?", (group_id,))
    rules = [{"local": [{"user": {"name": "{0}"}},
                        {"groups": "{1}", "domain": {"id": servers.DOMAIN_ID}}],
              "remote": [{"type": "FED-user"}, {"type": "FED-groups"}]}]
    projects = admin_request(python_keystone, "GET",
                             f"/v3/projects?name={servers.ADMIN_PROJECT}").json()["projects"]
    project_id = projects[0]["id"]
    roles = admin_request(python_keystone, "GET", "/v3/roles?name=member").json()["roles"]
    for server in (python_keystone, keystone_rs):
        for method, path, body in [
            ("PUT", f"/v3/OS-FEDERATION/mappings/fed-{scope}",
             {"mapping": {"rules": rules}}),
            ("PUT", f"/v3/OS-FEDERATION/identity_providers/idp-{scope}",
             {"identity_provider": {"domain_id": servers.DOMAIN_ID, "enabled": True}}),
            ("PUT", f"/v3/OS-FEDERATION/identity_providers/idp-{scope}/protocols/mapped",
             {"protocol": {"mapping_id": f"fed-{scope}"}}),
            ("PUT", f"/v3/projects/{project_id}/groups/{group_id}/roles/{roles[0]['id']}",
             None),
        ]:
            r = admin_request(server, method, path, body)
            assert r.status_code in (201, 204), f"{type(server).__name__} {path}: {r.text}"
    auth = {"identity": {"methods": ["mapped"], "mapped": {
        "identity_provider": f"idp-{scope}", "protocol": "mapped"}}}
    if scope == "project":
        auth["scope"] = {"project": {"id": project_id}}
    r = requests.post(keystone_rs.base_url + "/v3/auth/tokens", json={"auth": auth},
                      headers={"FED-user": f"fed-user-{scope}",
                               "FED-groups": f"fed-{scope};unknown"}, timeout=30)
    assert r.status_code == 201, r.text
    token = r.headers["X-Subject-Token"]
    user_id = r.json()["token"]["user"]["id"]
    assert r.json()["token"]["user"]["OS-FEDERATION"]["groups"] == [{"id": group_id}]
    for table in ("user", "federated_user"):
        column = "id" if table == "user" else "user_id"
        copy_rows(fleet.adopted_db, fleet.python.db_path, table, f"{column} = ?", (user_id,))
    admin, _ = clients.issue_token(python_keystone.base_url + "/v3", "project")
    on_python = clients.validate_token(python_keystone.base_url + "/v3", admin, token)
    assert on_python.status_code == 200, on_python.text
    admin, _ = clients.issue_token(keystone_rs.base_url + "/v3", "project")
    on_rs = clients.validate_token(keystone_rs.base_url + "/v3", admin, token)
    assert on_rs.status_code == 200, on_rs.text
    assert normalised(on_python.json()) == normalised(on_rs.json())


# Python Keystone reads a federated assertion from the WSGI environ only (its Apache sets
# it): the test calls the peer's WSGI application in-process with such an environ, on the
# peer's own configuration and database.
PEER_FEDERATED_LOGIN = """
import json, os, sys
sys.argv = sys.argv[:1]
from werkzeug.test import Client
from keystone.server import wsgi
app = wsgi.initialize_public_application()
request = json.loads(os.environ["FED_REQUEST"])
resp = Client(app).get(request["path"], environ_base=request["environ"])
print(json.dumps({"status": resp.status_code, "token": resp.headers.get("X-Subject-Token"),
                  "body": resp.get_json()}))
"""


def test_python_federated_token_validates_on_keystone_rs(fleet, python_keystone,
                                                         keystone_rs, tmp_path):
    """The reverse: Python Keystone logs a federated user in (the assertion in its WSGI
    environ) and shadows it; keystone-rs, seeing the same rows, validates the token and
    describes it identically — and both derived the same shadow user id."""
    r = admin_request(python_keystone, "POST", "/v3/groups",
                      {"group": {"name": "fed-reverse", "domain_id": servers.DOMAIN_ID}})
    assert r.status_code == 201, r.text
    group_id = r.json()["group"]["id"]
    copy_rows(fleet.python.db_path, fleet.adopted_db, "group", "id = ?", (group_id,))
    rules = [{"local": [{"user": {"name": "{0}"}},
                        {"groups": "{1}", "domain": {"id": servers.DOMAIN_ID}}],
              "remote": [{"type": "FED-user"}, {"type": "FED-groups"}]}]
    for server in (python_keystone, keystone_rs):
        for method, path, body in [
            ("PUT", "/v3/OS-FEDERATION/mappings/fed-reverse", {"mapping": {"rules": rules}}),
            ("PUT", "/v3/OS-FEDERATION/identity_providers/idp-reverse",
             {"identity_provider": {"domain_id": servers.DOMAIN_ID, "enabled": True}}),
            ("PUT", "/v3/OS-FEDERATION/identity_providers/idp-reverse/protocols/mapped",
             {"protocol": {"mapping_id": "fed-reverse"}}),
        ]:
            r = admin_request(server, method, path, body)
            assert r.status_code == 201, f"{type(server).__name__} {path}: {r.text}"
    script = tmp_path / "peer_federated_login.py"
    script.write_text(PEER_FEDERATED_LOGIN)
    request = {"path": "/v3/OS-FEDERATION/identity_providers/idp-reverse/protocols/mapped/auth",
               "environ": {"FED-user": "fed-reverse-user", "FED-groups": "fed-reverse"}}
    out = subprocess.run([str(fleet.python.venv / "bin" / "python"), str(script)],
                         env={**fleet.python.env, "FED_REQUEST": json.dumps(request)},
                         capture_output=True, text=True, timeout=180, check=True)
    login = json.loads(out.stdout.strip().splitlines()[-1])
    assert login["status"] == 201, login
    token = login["token"]
    user_id = login["body"]["token"]["user"]["id"]
    assert user_id == hashlib.sha256(
        f"{servers.DOMAIN_ID}userfed-reverse-user".encode()).hexdigest()
    for table in ("user", "federated_user"):
        column = "id" if table == "user" else "user_id"
        copy_rows(fleet.python.db_path, fleet.adopted_db, table, f"{column} = ?", (user_id,))
    admin, _ = clients.issue_token(keystone_rs.base_url + "/v3", "project")
    on_rs = clients.validate_token(keystone_rs.base_url + "/v3", admin, token)
    assert on_rs.status_code == 200, on_rs.text
    assert on_rs.json()["token"]["user"]["OS-FEDERATION"]["groups"] == [{"id": group_id}]
    admin, _ = clients.issue_token(python_keystone.base_url + "/v3", "project")
    on_python = clients.validate_token(python_keystone.base_url + "/v3", admin, token)
    assert on_python.status_code == 200, on_python.text
    assert normalised(on_rs.json()) == normalised(on_python.json())
    # keystone-rs reads the Python-made shadow user as any user.
    r = admin_request(keystone_rs, "GET", f"/v3/users/{user_id}")
    assert r.status_code == 200, r.text
    assert r.json()["user"]["federated"] == [
        {"idp_id": "idp-reverse",
         "protocols": [{"protocol_id": "mapped", "unique_id": "fed-reverse-user"}]}]
